/**
 * Private helper: gunzip a byte array when it starts with the gzip magic, with clear errors.
 *
 * @module
 */

import { gunzipSync } from "node:zlib";

/**
 * True when `bytes` starts with the gzip magic number 0x1f 0x8b.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isGzip } from "./_gzip.ts";
 * assert.ok(isGzip(Uint8Array.from([0x1f, 0x8b, 8])));
 * ```
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompress `bytes` when they are gzip, else return them unchanged.
 *
 * @param bytes File contents.
 * @param name The file name for error messages.
 * @returns The decompressed bytes (a plain Uint8Array).
 * @throws {SyntaxError} When the gzip stream is truncated or corrupt.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maybeGunzip } from "./_gzip.ts";
 * assert.equal(maybeGunzip(Uint8Array.from([1, 2]), "raw.bin").length, 2);
 * ```
 */
export function maybeGunzip(bytes: Uint8Array, name: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    const out = gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === "Z_BUF_ERROR"
      ? "the gzip stream is truncated (unexpected end of file)"
      : `the gzip stream is corrupt (${(error as Error).message})`;
    throw new SyntaxError(
      `Cannot read ${name}: ${reason} after ${bytes.length} compressed bytes; ` +
        "download the file again (deno task data) or reinstall dataset-fashion-mnist",
    );
  }
}
