// Builds the page node by node: text is always text (textContent), never parsed as HTML, which the CSP's
// Trusted Types rule enforces anyway.

export type Child = Node | string | number | null | undefined | false;
export type Attributes = Record<string, string | number | boolean | undefined>;

/** An element with attributes (false or undefined: left out; true: present) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  return filled(document.createElement(tag), attributes, children);
}

/** An SVG element, made and filled the same way (a chart is drawn node by node too). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  return filled(document.createElementNS("http://www.w3.org/2000/svg", tag), attributes, children);
}

function filled<E extends Element>(element: E, attributes: Attributes, children: Child[]): E {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...nodes(children));
  return element;
}

function nodes(children: Child[]): (Node | string)[] {
  return children.flatMap((child) =>
    child === null || child === undefined || child === false ? [] : [typeof child === "number" ? String(child) : child],
  );
}

/** Replaces an element's children. */
export function fill(element: Element, ...children: Child[]): void {
  element.replaceChildren(...nodes(children));
}

/** The element with this id, of the expected kind; the page's shell is fixed, so anything else is a bug. */
export function byId<T extends HTMLElement>(id: string, kind: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof kind)) throw new Error(`#${id} is missing from the page`);
  return element;
}

/**
 * Runs `action` for a button, which ignores presses until the action settles. The button is marked busy and
 * aria-disabled rather than disabled: a disabled button loses focus, and a dialog the action opens could not give
 * it back.
 */
export function whileBusy(button: HTMLButtonElement, action: () => Promise<void>): void {
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  button.setAttribute("aria-busy", "true");
  void action().finally(() => {
    button.removeAttribute("aria-disabled");
    button.removeAttribute("aria-busy");
  });
}

/** A button that runs `action` when pressed, busy until the action settles. */
export function actionButton(label: string, action: () => Promise<void>, attributes: Attributes = {}): HTMLButtonElement {
  const button = h("button", { type: "button", ...attributes }, label);
  button.addEventListener("click", () => whileBusy(button, action));
  return button;
}

/** A field for the six digits an authenticator app shows now. */
export function totpCodeInput(id: string): HTMLInputElement {
  return h("input", {
    id,
    name: "code",
    inputmode: "numeric",
    autocomplete: "one-time-code",
    pattern: "[0-9]{6}",
    maxlength: 6,
    required: true,
  });
}

/** A heading that receives focus when its view opens, so keyboard and screen reader users start there. */
export function viewHeading(text: string): HTMLHeadingElement {
  return h("h1", { tabindex: -1 }, text);
}
