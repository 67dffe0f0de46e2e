/**
 * Headless Chromium with a WebGPU adapter, driven by Playwright (playwright-core, which downloads
 * no browser): Debian's `/usr/bin/chromium` unless `CHROMIUM` names another. Without a GPU,
 * Chromium's software adapter (SwiftShader) serves WebGPU, so Dawn and Tint compile and run every
 * kernel on the CPU.
 *
 * @module
 */

import type { Browser } from "./_deps.ts";

/** Where Chromium is looked for, in order (after `$CHROMIUM`). */
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/**
 * Flags: WebGPU on (SwiftShader when there is no GPU), and nothing that reaches the network.
 * --no-sandbox because the tests run as root.
 */
export const CHROMIUM_FLAGS: readonly string[] = Object.freeze([
  "--headless=new",
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--enable-unsafe-swiftshader",
  "--use-webgpu-adapter=swiftshader",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
]);

/**
 * The Chromium binary, or null when none is installed.
 *
 * @returns Its path.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { findChromium } from "./_chromium.ts";
 * const path = await findChromium();
 * ok(path === null || path.startsWith("/"));
 * ```
 */
export async function findChromium(): Promise<string | null> {
  const env = Deno.env.get("CHROMIUM");
  for (const path of env ? [env, ...CANDIDATES] : CANDIDATES) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not installed there
    }
  }
  return null;
}

/**
 * Starts headless Chromium with {@link CHROMIUM_FLAGS} and a fresh profile.
 *
 * @param executablePath The binary (from {@link findChromium}).
 * @returns The browser; `await browser.close()` stops it.
 * @throws {Error} When Chromium does not start.
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  // Imported here: loading playwright-core needs -A, and finding Chromium must work without it.
  const { chromium } = await import("./_deps.ts");
  return await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_FLAGS] });
}
