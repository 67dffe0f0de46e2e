/**
 * Reading byte ranges of a file into buffers allocated by JavaScript: V8 counts those against
 * its external-memory limit and collects dead ones sooner than buffers allocated outside it
 * (`Deno.readFile`'s), which matters when shards of hundreds of MiB pass through one after
 * another.
 *
 * @module
 */

import { type FileHandle, open } from "node:fs/promises";

/**
 * Reads `length` bytes at `position` (positional reads, so concurrent calls on one handle are
 * safe).
 *
 * @param file An open file.
 * @param position Byte position.
 * @param length Bytes to read.
 * @param name The file, for messages.
 * @returns A new buffer of `length` bytes.
 * @throws {RangeError} When the file ends first.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { open } from "node:fs/promises";
 * import { readAt } from "./_read_at.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, Uint8Array.of(1, 2, 3, 4));
 * const file = await open(path);
 * deepEqual([...await readAt(file, 1, 2, path)], [2, 3]);
 * await file.close();
 * await Deno.remove(path);
 * ```
 */
export async function readAt(
  file: FileHandle,
  position: number,
  length: number,
  name: string,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  for (let done = 0; done < length;) {
    const { bytesRead } = await file.read(out, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new RangeError(
        `Cannot read ${name}: it ends before byte ${position + length}; the pack is damaged, ` +
          "pack it again",
      );
    }
    done += bytesRead;
  }
  return out;
}

/**
 * Reads a whole file ({@link readAt} from 0 to its size).
 *
 * @param path The file.
 * @returns Its bytes.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { readWhole } from "./_read_at.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array(5));
 * equal((await readWhole(path)).length, 5);
 * await Deno.remove(path);
 * ```
 */
export async function readWhole(path: string): Promise<Uint8Array> {
  const file = await open(path, "r");
  try {
    return await readAt(file, 0, (await file.stat()).size, path);
  } finally {
    await file.close();
  }
}
