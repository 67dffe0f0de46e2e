/// <reference lib="dom" />
/**
 * Small DOM and SVG builders for the page. Everything is built with createElement and text
 * nodes (never innerHTML), so no markup from a file can reach the page, and the strict
 * Content-Security-Policy needs no inline styles.
 *
 * @module
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** Builds an HTML element with attributes and children (strings become text nodes). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

/** Builds an SVG element with attributes and children. */
export function svg(
  tag: string,
  attrs: Record<string, string | number> = {},
  ...children: (Node | string)[]
): SVGElement {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

/** Replaces a container's children. */
export function replace(container: Element, ...children: (Node | string | null)[]): void {
  container.replaceChildren(...children.filter((c): c is Node | string => c !== null));
}

/** A percentage with two decimals, "-" for a missing value. */
export function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? "-" : (100 * v).toFixed(2);
}
