/**
 * A small streaming tar reader (POSIX ustar, plus the GNU long-name and pax `path`/`size` records
 * that GNU tar and Python's tarfile write), for reading data-set releases such as
 * `cifar-10-binary.tar.gz` without extracting them. Every header's checksum is checked; the
 * members a caller wants are kept in memory, the rest are skipped as they stream by.
 *
 * Layout: 512-byte header blocks (name 0..99, size 124..135 in octal, checksum 148..155, type
 * 156, magic "ustar" at 257, prefix 345..499), each followed by the member's data padded to 512
 * bytes; two zero blocks end the archive.
 *
 * @module
 */

const BLOCK = 512;

/**
 * Reads exactly-sized pieces from a byte stream.
 */
class StreamReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;
  /** Bytes consumed so far. */
  position = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** True when unread bytes are buffered, reading the next chunk if needed; false at the end. */
  async #ready(): Promise<boolean> {
    while (this.#offset === this.#chunk.length) {
      const { done, value } = await this.#reader.read();
      if (done) return false;
      this.#chunk = value;
      this.#offset = 0;
    }
    return true;
  }

  /** Fill `out` completely; returns the number of bytes read (less only at the end). */
  async readInto(out: Uint8Array): Promise<number> {
    let filled = 0;
    while (filled < out.length && await this.#ready()) {
      const take = Math.min(out.length - filled, this.#chunk.length - this.#offset);
      out.set(this.#chunk.subarray(this.#offset, this.#offset + take), filled);
      this.#offset += take;
      filled += take;
    }
    this.position += filled;
    return filled;
  }

  /** Skip `n` bytes; returns how many were skipped. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0 && await this.#ready()) {
      const take = Math.min(left, this.#chunk.length - this.#offset);
      this.#offset += take;
      left -= take;
    }
    this.position += n - left;
    return n - left;
  }

  /** Read to the end, so that a decompressing stream checks its trailer (gzip's CRC-32). */
  async drain(): Promise<void> {
    for (;;) {
      const { done } = await this.#reader.read();
      if (done) return;
    }
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

const decoder = new TextDecoder();

function cString(block: Uint8Array, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/** A numeric field: octal digits (space or NUL terminated), or GNU base-256 when bit 7 is set. */
function numberField(block: Uint8Array, start: number, length: number): number {
  if (block[start] & 0x80) {
    let value = block[start] & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + block[start + i];
    return value;
  }
  const text = cString(block, start, length).trim();
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : text === "" ? 0 : NaN;
}

/** The sum of the header bytes with the checksum field read as eight spaces. */
function headerSum(block: Uint8Array, signed: boolean): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    sum += signed && b > 127 ? b - 256 : b;
  }
  return sum;
}

/** Parse pax extended-header records `LEN key=value\n`. */
function paxRecords(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let o = 0;
  while (o < data.length) {
    const space = data.indexOf(0x20, o);
    if (space < 0) break;
    const length = parseInt(decoder.decode(data.subarray(o, space)), 10);
    if (!(length > 0) || o + length > data.length) break;
    const record = decoder.decode(data.subarray(space + 1, o + length - 1));
    const eq = record.indexOf("=");
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    o += length;
  }
  return out;
}

/**
 * One member of a tar archive, as {@link readTar} reports it.
 *
 * @example
 * ```ts
 * import type { TarMember } from "./_tar.ts";
 * const member: TarMember = { path: "cifar-10-batches-bin/test_batch.bin", size: 30730000 };
 * ```
 */
export interface TarMember {
  /** The member's path inside the archive (prefix and name joined). */
  path: string;
  /** Its size in bytes. */
  size: number;
}

/**
 * What {@link readTar} returns.
 *
 * @example
 * ```ts
 * import type { TarContents } from "./_tar.ts";
 * const names = (t: TarContents) => t.members.map((m) => m.path);
 * ```
 */
export interface TarContents {
  /** Every regular file in the archive, in archive order. */
  members: TarMember[];
  /** The bytes of each wanted member, by path. */
  files: Map<string, Uint8Array>;
}

/**
 * Read a tar stream, keeping the regular files `want` accepts.
 *
 * @param stream The (decompressed) tar bytes.
 * @param name The archive's name, for error messages.
 * @param want Which member paths to keep in memory (default: all).
 * @returns Every member's path and size, and the kept members' bytes.
 * @throws {SyntaxError} For a header whose checksum does not match, a bad size field, or an
 *   archive that ends inside a header or a member, naming the archive, the member and the offset.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { readTar } from "./_tar.ts";
 * // One member "a.txt" holding "hi": a header block, one data block, two zero blocks.
 * const header = new Uint8Array(512);
 * const put = (text: string, at: number) => header.set(new TextEncoder().encode(text), at);
 * put("a.txt", 0);
 * put("0000644\0", 100);
 * put("00000000002\0", 124);
 * put("0", 156);
 * put("ustar\x0000", 257);
 * let sum = 0;
 * for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
 * put(sum.toString(8).padStart(6, "0") + "\0 ", 148);
 * const archive = new Uint8Array(512 * 4);
 * archive.set(header);
 * archive.set(new TextEncoder().encode("hi"), 512);
 * const { members, files } = await readTar(new Blob([archive]).stream(), "tiny.tar");
 * deepEqual(members, [{ path: "a.txt", size: 2 }]);
 * deepEqual(new TextDecoder().decode(files.get("a.txt")), "hi");
 * ```
 */
export async function readTar(
  stream: ReadableStream<Uint8Array>,
  name: string,
  want: (path: string) => boolean = () => true,
): Promise<TarContents> {
  const reader = new StreamReader(stream);
  const members: TarMember[] = [];
  const files = new Map<string, Uint8Array>();
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot read tar archive ${name}: ${why}`);
  };
  const block = new Uint8Array(BLOCK);
  let longName: string | undefined;
  let pax = new Map<string, string>();
  try {
    for (;;) {
      const at = reader.position;
      const got = await reader.readInto(block);
      if (got === 0 && members.length > 0) break; // no end-of-archive blocks: tolerated
      if (got < BLOCK) {
        fail(
          `it ends inside the header at byte ${at} (${got} of 512 bytes); the file is ` +
            "truncated: download it again",
        );
      }
      if (block.every((b) => b === 0)) break; // end of archive
      const stored = numberField(block, 148, 8);
      if (stored !== headerSum(block, false) && stored !== headerSum(block, true)) {
        fail(
          `the header at byte ${at} has checksum ${stored} but its bytes sum to ` +
            `${headerSum(block, false)}; the file is corrupt or not a tar archive (download it ` +
            "again)",
        );
      }
      const type = String.fromCharCode(block[156] || 0x30);
      let path = cString(block, 0, 100);
      // POSIX ustar ("ustar\0") has a name prefix at 345; old GNU ("ustar  ") keeps times there.
      if (cString(block, 257, 6) === "ustar" && block[262] === 0) {
        const prefix = cString(block, 345, 155);
        if (prefix) path = `${prefix}/${path}`;
      }
      let size = numberField(block, 124, 12);
      if (pax.has("size")) size = Number(pax.get("size"));
      if (!Number.isSafeInteger(size) || size < 0) {
        fail(`the header of "${path}" at byte ${at} has a bad size field`);
      }
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      const readData = async (): Promise<Uint8Array> => {
        const data = new Uint8Array(size);
        const n = await reader.readInto(data);
        if (n < size) {
          fail(
            `it ends inside member "${path}" (${n} of ${size} bytes); the file is truncated: ` +
              "download it again",
          );
        }
        await reader.skip(padded - size);
        return data;
      };
      if (type === "L" || type === "x" || type === "g") {
        const data = await readData();
        if (type === "L") longName = cString(data, 0, data.length);
        else if (type === "x") pax = paxRecords(data);
        continue;
      }
      if (longName !== undefined) path = longName;
      if (pax.has("path")) path = pax.get("path")!;
      longName = undefined;
      pax = new Map();
      const regular = type === "0" || type === "7";
      if (regular) members.push({ path, size });
      if (regular && want(path)) {
        files.set(path, await readData());
      } else if (await reader.skip(padded) < size) {
        fail(`it ends inside member "${path}"; the file is truncated: download it again`);
      }
    }
    await reader.drain();
  } catch (error) {
    if (error instanceof SyntaxError) throw error;
    throw new SyntaxError(
      `Cannot read tar archive ${name}: ${(error as Error).message} after ` +
        `${reader.position} bytes; the file is corrupt or truncated: download it again`,
    );
  } finally {
    await reader.cancel();
  }
  return { members, files };
}

/**
 * Read a `.tar.gz` (or plain `.tar`) file, decompressing with the platform's
 * `DecompressionStream` as it streams.
 *
 * @param path The archive.
 * @param want Which member paths to keep (default: all).
 * @returns As {@link readTar}.
 * @throws {SyntaxError} As {@link readTar}, and for a corrupt or truncated gzip stream.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { readTarFile } from "./_tar.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/in`);
 * await Deno.writeTextFile(`${dir}/in/x.txt`, "hello");
 * const tar = new Deno.Command("tar", { args: ["-czf", `${dir}/x.tar.gz`, "-C", dir, "in"] });
 * if (!(await tar.output()).success) throw new Error("tar failed");
 * const { files } = await readTarFile(`${dir}/x.tar.gz`, (p) => p.endsWith(".txt"));
 * deepEqual([...files.keys()], ["in/x.txt"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readTarFile(
  path: string,
  want?: (path: string) => boolean,
): Promise<TarContents> {
  const magic = new Uint8Array(2);
  {
    using file = await Deno.open(path, { read: true });
    await file.read(magic);
  }
  const file = await Deno.open(path, { read: true });
  const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
  const stream = gzip ? file.readable.pipeThrough(new DecompressionStream("gzip")) : file.readable;
  return await readTar(stream, path, want);
}
