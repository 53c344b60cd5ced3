// WCAG's contrast ratio between colours as the browser computes them ("rgb(…)" or "rgba(…)").

export interface Colour {
  red: number;
  green: number;
  blue: number;
  alpha: number;
}

export function parseColour(css: string): Colour {
  const match = /^rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)$/.exec(css);
  if (!match) throw new Error(`not an rgb() colour: ${css}`);
  const [, red = "", green = "", blue = "", alpha = "1"] = match;
  return { red: Number(red), green: Number(green), blue: Number(blue), alpha: Number(alpha) };
}

/** What shows through a stack of backgrounds, topmost first: the translucent ones blended over the first opaque one. */
export function compositeBackground(stack: string[]): Colour {
  const layers = stack.map(parseColour);
  const opaque = layers.findIndex((layer) => layer.alpha === 1);
  const base = layers[opaque];
  if (!base) throw new Error(`no opaque background in ${stack.join(" over ")}`);
  const blend = (under: Colour, over: Colour): Colour => {
    const mix = (channel: "red" | "green" | "blue") => over[channel] * over.alpha + under[channel] * (1 - over.alpha);
    return { red: mix("red"), green: mix("green"), blue: mix("blue"), alpha: 1 };
  };
  return layers.slice(0, opaque).reduceRight(blend, base);
}

function luminance({ red, green, blue }: Colour): number {
  const linear = (channel: number) => {
    const value = channel / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue);
}

export function contrastRatio(one: Colour, other: Colour): number {
  const [a, b] = [luminance(one), luminance(other)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
