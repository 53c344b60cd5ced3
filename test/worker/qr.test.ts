import jsQR from "jsqr";
import { describe, expect, it } from "vitest";
import { qrSvg } from "../../src/auth/qr.ts";
import { newTotpSecret, totpUri } from "../../src/auth/totp.ts";

const uri = totpUri(newTotpSecret(), { issuer: "Coffee Shop", account: "ada.lovelace@example.com" });

/** The elements and attributes of an SVG document, by a plain reading of its tags. */
function markup(svg: string): { elements: string[]; attributes: string[] } {
  const tags = [...svg.matchAll(/<([a-zA-Z]+)([^>]*)>/g)];
  return {
    elements: tags.map(([, name = ""]) => name),
    attributes: tags.flatMap(([, , attributes = ""]) => [...attributes.matchAll(/([\w:-]+)\s*=/g)].map(([, name = ""]) => name)),
  };
}

/**
 * Draws the SVG as a scanner would see it: its view box as pixels, white, with every square of the path black
 * (uqr draws the dark modules as `M x,y h w v h h -w z`).
 */
function rasterise(svg: string): { pixels: Uint8ClampedArray; width: number; height: number } {
  const [, width = 0, height = 0] = (/viewBox="0 0 (\d+) (\d+)"/.exec(svg) ?? []).map(Number);
  const path = /<path[^>]* d="([^"]*)"/.exec(svg)?.[1] ?? "";
  const pixels = new Uint8ClampedArray(width * height * 4).fill(255);
  for (const [, x = 0, y = 0, side = 0] of [...path.matchAll(/M(\d+),(\d+)h(\d+)v\d+h-\d+z/g)].map((square) => square.map(Number))) {
    for (let row = y; row < y + side; row++) {
      for (let col = x; col < x + side; col++) pixels.fill(0, (row * width + col) * 4, (row * width + col) * 4 + 3);
    }
  }
  return { pixels, width, height };
}

describe("qrSvg", () => {
  it("renders an otpauth URI inside workerd as an SVG document", () => {
    const svg = qrSvg(uri);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+">/);
    expect(svg).toMatch(/<\/svg>$/);
  });

  it("is a QR code a scanner reads back as the URI", () => {
    const { pixels, width, height } = rasterise(qrSvg(uri));
    expect(jsQR(pixels, width, height)?.data).toBe(uri);
  });

  it("holds shapes only: no script, no event handler, no link, no text of the secret", () => {
    const svg = qrSvg(uri);
    const { elements, attributes } = markup(svg);
    expect(new Set(elements)).toEqual(new Set(["svg", "rect", "path"]));
    expect(new Set(attributes)).toEqual(new Set(["xmlns", "viewBox", "fill", "width", "height", "d"]));
    expect(svg).not.toMatch(/url\(|href|<script|javascript:/i);
    expect(svg).not.toContain(new URL(uri).searchParams.get("secret"));
  });
});
