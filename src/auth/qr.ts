// QR codes of otpauth URIs, for an authenticator app to scan at enrolment.
//
// `uqr` (UnJS): plain JavaScript with no dependencies, no WebAssembly (production Workers refuse wasm compiled at
// run time) and no canvas. Its SVG is a single `<path>` of black squares on a `<rect>`: no script, no text of the
// encoded data, no external reference, so the document can be served or inlined as it is.
import { renderSVG } from "uqr";

/**
 * An SVG document of `text` as a QR code. Error correction M (15%) survives a screen's glare and moiré; the border
 * of 4 modules is the quiet zone ISO/IEC 18004 asks for, without which some scanners do not find the code.
 */
export function qrSvg(text: string): string {
  return renderSVG(text, { ecc: "M", border: 4 });
}
