/**
 * Path helpers shared by the commands: whether a path exists, and a path's folder.
 *
 * @module
 */

/**
 * Whether anything (file, folder or link) exists at `path`; other errors (permissions) throw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exists } from "./_paths.ts";
 * assert.equal(await exists("/no/such/path/anywhere"), false);
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The folder holding `path` (trailing slashes ignored; `.` for a bare name).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parentDir } from "./_paths.ts";
 * assert.equal(parentDir("runs/a/features/"), "runs/a");
 * assert.equal(parentDir("metrics.json"), ".");
 * assert.equal(parentDir("/m.json"), "/");
 * ```
 */
export function parentDir(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  if (slash < 0) return ".";
  return slash === 0 ? "/" : trimmed.slice(0, slash);
}

/**
 * The time as a folder-name stamp, `YYYYMMDD-HHMMSS` (UTC), as in `runs/cpu-20250101-120000`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runStamp } from "./_paths.ts";
 * assert.equal(runStamp(new Date("2025-01-01T12:00:05Z")), "20250101-120005");
 * ```
 */
export function runStamp(date: Date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}
