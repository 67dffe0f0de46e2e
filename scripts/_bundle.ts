/**
 * Bundles a module and everything it imports (npm packages and the WGSL text imports included)
 * into one browser script with Deno's built-in `deno bundle` (esbuild inside). `deno bundle`
 * was measured against `npm:esbuild` with a text-import plugin; see web/README.md.
 *
 * @module
 */

/**
 * Options of {@link bundle}.
 *
 * @example
 * ```ts
 * import type { BundleOptions } from "./_bundle.ts";
 * const options: BundleOptions = { minify: true };
 * console.log(options.minify); // true
 * ```
 */
export interface BundleOptions {
  /** An import map (a path) applied on top of deno.json, e.g. for `node:assert/strict`. */
  importMap?: string;
  /** Minify the output (default false). */
  minify?: boolean;
}

/**
 * Bundles `entry` for the browser and returns the script's text (an ES module).
 *
 * @param entry The entry module's path.
 * @param options Import map and minification.
 * @returns The bundled JavaScript.
 * @throws {Error} `Cannot bundle <entry>: <deno bundle's message>`.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { bundle } from "./_bundle.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.wgsl`, "@compute @workgroup_size(1) fn main() {}");
 * await Deno.writeTextFile(
 *   `${dir}/entry.ts`,
 *   `import s from "./a.wgsl" with { type: "text" };\nconsole.log(s);`,
 * );
 * ok((await bundle(`${dir}/entry.ts`)).includes("@workgroup_size(1)"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function bundle(entry: string, options: BundleOptions = {}): Promise<string> {
  const args = ["bundle", "--quiet", "--platform", "browser", "--format", "esm"];
  if (options.importMap) args.push("--import-map", options.importMap);
  if (options.minify) args.push("--minify");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args, entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  // deno-lint-ignore no-control-regex -- strips the colour codes of deno's message
  const stderr = new TextDecoder().decode(out.stderr).replace(/\x1b\[[0-9;]*m/g, "");
  if (out.code !== 0) {
    throw new Error(`Cannot bundle ${entry}: ${stderr.trim() || `deno bundle exited ${out.code}`}`);
  }
  return new TextDecoder().decode(out.stdout);
}
