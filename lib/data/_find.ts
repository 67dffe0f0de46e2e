/**
 * Private helpers for finding data-set files: existence checks, path joins, the `LTKIT_DATA`
 * variable and the repository's `data/` folders, shared by every source's search.
 *
 * @module
 */

/**
 * True when `path` is a regular file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileExists } from "./_find.ts";
 * assert.equal(fileExists("/nonexistent"), false);
 * ```
 */
export function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * True when `path` is a folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dirExists } from "./_find.ts";
 * assert.ok(dirExists("/"));
 * ```
 */
export function dirExists(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/**
 * `dir/name`, without a doubled slash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { joinPath } from "./_find.ts";
 * assert.equal(joinPath("data/", "x.bin"), "data/x.bin");
 * ```
 */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/**
 * The `LTKIT_DATA` variable, or undefined when unset or not readable (no --allow-env).
 *
 * @example
 * ```ts
 * import { envDataDir } from "./_find.ts";
 * const dir = envDataDir(); // a folder name, or undefined
 * ```
 */
export function envDataDir(): string | undefined {
  try {
    return Deno.env.get("LTKIT_DATA") || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The repository's `data/<name>` folder (by module location, when loaded from files) and the
 * working directory's, in search order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { repositoryDataDirs } from "./_find.ts";
 * assert.equal(repositoryDataDirs("cifar-10").at(-1), "data/cifar-10");
 * ```
 */
export function repositoryDataDirs(name: string): string[] {
  const dirs = [`data/${name}`];
  const url = new URL(`../../data/${name}`, import.meta.url);
  if (url.protocol === "file:") dirs.unshift(decodeURIComponent(url.pathname));
  return dirs;
}
