// A client as a person reads it in a message ("Chrome on macOS"), from its User-Agent: the browsers and systems
// most sign-ins come from, else the client's own name (an app's "CoffeeApp/3.1"), else "an unknown client".

const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, "Edge"],
  [/\b(?:OPR|Opera)\//, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bFirefox\/|\bFxiOS\//, "Firefox"],
  [/\bChrome\/|\bCriOS\//, "Chrome"],
  [/\bSafari\//, "Safari"],
];

const SYSTEMS: [RegExp, string][] = [
  [/\biPhone\b/, "iPhone"],
  [/\biPad\b/, "iPad"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b/, "Linux"],
];

/** The longest a client's own name may be in a message: a User-Agent is the client's to write. */
const MAX_NAME = 60;

export function describeUserAgent(userAgent: string): string {
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  const product = /^([A-Za-z][\w.-]*)\/([\w.]+)/.exec(userAgent);
  const name = product ? `${product[1]} ${product[2]}` : browser;
  if (name) return `${name.slice(0, MAX_NAME)}${system ? ` on ${system}` : ""}`;
  return system ? `a client on ${system}` : "an unknown client";
}
