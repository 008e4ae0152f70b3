/**
 * DOM helpers. Everything that comes from a page or a caller (titles, URLs, results, error
 * messages) goes into the document through textContent or attributes, never as markup.
 */

type Child = Node | string | null | undefined | false;

/** Creates an element with properties, a class and text or child nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, options: { className?: string; text?: string; title?: string; attrs?: Record<string, string> } = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  if (options.title !== undefined) node.title = options.title;
  if (options.attrs) for (const [name, value] of Object.entries(options.attrs)) node.setAttribute(name, value);
  for (const child of children) if (child) node.append(child);
  return node;
}

/** The element with this id; throws when the page lacks it (a build mistake, not a runtime case). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`dashboard: #${id} is missing`);
  return node as T;
}

/** Sets text only when it changed, so selection and layout are left alone between pushes. */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}
