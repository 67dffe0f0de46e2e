/**
 * MD5 (RFC 1321), streaming. WebCrypto has no MD5, and the CIFAR releases publish only MD5 sums,
 * so downloads of them are checked with this. It verifies that a download is the published file;
 * it is not meant as a defence against a forged one.
 *
 * @module
 */

// Per-round left rotations and the constants floor(|sin(i + 1)| * 2^32), RFC 1321 section 3.4.
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = Uint32Array.from(
  { length: 64 },
  (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32),
);

/**
 * An incremental MD5: feed bytes with {@link Md5.update}, then read {@link Md5.hex} once.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { Md5 } from "./_md5.ts";
 * const md5 = new Md5();
 * md5.update(new TextEncoder().encode("message "));
 * md5.update(new TextEncoder().encode("digest"));
 * equal(md5.hex(), "f96b697d7cb7938d525a2f31aaf161d0");
 * ```
 */
export class Md5 {
  readonly #state = Uint32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);
  readonly #block = new Uint8Array(64);
  readonly #words = new Uint32Array(16);
  #filled = 0;
  #length = 0; // bytes so far; exact up to 2^53
  #done = false;

  /**
   * Add bytes to the message.
   *
   * @param bytes The next bytes.
   * @returns This hash, for chaining.
   */
  update(bytes: Uint8Array): this {
    if (this.#done) throw new TypeError("Cannot update MD5: the digest was already read");
    this.#length += bytes.length;
    let i = 0;
    if (this.#filled > 0) {
      const take = Math.min(64 - this.#filled, bytes.length);
      this.#block.set(bytes.subarray(0, take), this.#filled);
      this.#filled += take;
      i = take;
      if (this.#filled < 64) return this;
      this.#compress(this.#block, 0);
      this.#filled = 0;
    }
    for (; i + 64 <= bytes.length; i += 64) this.#compress(bytes, i);
    this.#block.set(bytes.subarray(i), 0);
    this.#filled = bytes.length - i;
    return this;
  }

  /**
   * Finish and return the digest as 32 lowercase hex digits.
   *
   * @returns The hex digest.
   */
  hex(): string {
    if (!this.#done) {
      const bits = this.#length * 8;
      const tail = new Uint8Array(this.#filled < 56 ? 64 : 128);
      tail.set(this.#block.subarray(0, this.#filled));
      tail[this.#filled] = 0x80;
      const view = new DataView(tail.buffer);
      view.setUint32(tail.length - 8, bits >>> 0, true);
      view.setUint32(tail.length - 4, Math.floor(bits / 2 ** 32), true);
      for (let o = 0; o < tail.length; o += 64) this.#compress(tail, o);
      this.#done = true;
    }
    const out = new Uint8Array(16);
    const le = new DataView(out.buffer);
    // the digest is the state words in little-endian order
    for (let w = 0; w < 4; w++) le.setUint32(4 * w, this.#state[w], true);
    return Array.from(out, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  #compress(bytes: Uint8Array, offset: number): void {
    const m = this.#words;
    for (let j = 0; j < 16; j++) {
      const o = offset + 4 * j;
      m[j] = bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24);
    }
    const s = this.#state;
    let a = s[0], b = s[1], c = s[2], d = s[3];
    for (let i = 0; i < 64; i++) {
      const round = i >> 4;
      let f: number, g: number;
      if (round === 0) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (round === 1) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (round === 2) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const sum = (a + f + K[i] + m[g]) | 0;
      const r = SHIFTS[(round << 2) | (i & 3)];
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << r) | (sum >>> (32 - r)))) | 0;
    }
    s[0] += a;
    s[1] += b;
    s[2] += c;
    s[3] += d;
  }
}

/**
 * MD5 of a byte array.
 *
 * @param bytes The message.
 * @returns 32 lowercase hex digits.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { md5Hex } from "./_md5.ts";
 * equal(md5Hex(new TextEncoder().encode("abc")), "900150983cd24fb0d6963f7d28e17f72");
 * ```
 */
export function md5Hex(bytes: Uint8Array): string {
  return new Md5().update(bytes).hex();
}

/**
 * MD5 of a file, read in 1 MiB chunks.
 *
 * @param path The file.
 * @returns 32 lowercase hex digits.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { md5File } from "./_md5.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "a");
 * equal(await md5File(path), "0cc175b9c0f1b6a831c399e269772661");
 * await Deno.remove(path);
 * ```
 */
export async function md5File(path: string): Promise<string> {
  const md5 = new Md5();
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    md5.update(buffer.subarray(0, n));
  }
  return md5.hex();
}
