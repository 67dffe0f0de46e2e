/**
 * A small PNG encoder (8-bit grayscale or RGB, no interlace), enough to write sample grids, and a
 * decoder for packing image lists ({@link decodePng}). The encoder writes
 * IHDR, one zlib-compressed IDAT (node:zlib deflateSync) and IEND, each with its CRC-32.
 *
 * @module
 */

import { deflateSync, inflateSync } from "node:zlib";

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 (ISO 3309 / ITU-T V.42, as PNG and gzip use it).
 *
 * @param bytes The data.
 * @param crc A running CRC to continue (default: start fresh).
 * @returns The CRC as an unsigned 32-bit integer.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crc32 } from "./_png.ts";
 * assert.equal(crc32(new TextEncoder().encode("123456789")).toString(16), "cbf43926");
 * ```
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encode pixels as a PNG file.
 *
 * @param pixels (H,W) gray or (H,W,3) RGB bytes, row-major.
 * @param width W.
 * @param height H.
 * @param channels 1 (gray) or 3 (RGB).
 * @returns The PNG bytes.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodePng } from "./_png.ts";
 * const png = encodePng(Uint8Array.from([0, 255, 255, 0]), 2, 2);
 * assert.ok(png.length > 8 && png[1] === 0x50); // "PNG"
 * ```
 */
export function encodePng(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels = 1,
): Uint8Array {
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`Cannot encode PNG: ${channels} channels; use 1 (gray) or 3 (RGB)`);
  }
  if (
    !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 ||
    pixels.length !== width * height * channels
  ) {
    throw new RangeError(
      `Cannot encode PNG: ${pixels.length} bytes for ${width}x${height}x${channels}`,
    );
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = channels === 1 ? 0 : 2; // colour type: gray or RGB
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1)); // filter byte 0 (None) per row
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const signature = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const parts = [
    signature,
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A decoded image: RGB bytes (H,W,3) row-major.
 *
 * @example
 * ```ts
 * import type { RgbImage } from "./_png.ts";
 * const dot: RgbImage = { pixels: Uint8Array.of(255, 0, 0), width: 1, height: 1 };
 * ```
 */
export interface RgbImage {
  /** Pixels, (H,W,3) row-major. */
  pixels: Uint8Array;
  /** W. */
  width: number;
  /** H. */
  height: number;
}

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decode a PNG (8 or 16 bits per sample; gray, gray+alpha, RGB, RGBA or palette of 8 bits;
 * not interlaced) into RGB: gray is repeated, alpha dropped (not composited), 16-bit samples
 * keep their high byte. Inflated with node:zlib; each row's filter (None, Sub, Up, Average,
 * Paeth) undone.
 *
 * @param bytes The PNG file.
 * @param name For messages (the path).
 * @returns The RGB image.
 * @throws {SyntaxError} For a file that is not a PNG this decoder reads, saying why.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { decodePng, encodePng } from "./_png.ts";
 * const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6]);
 * deepEqual(decodePng(encodePng(rgb, 2, 1, 3), "x.png").pixels, rgb);
 * ```
 */
export function decodePng(bytes: Uint8Array, name: string): RgbImage {
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot decode PNG ${name}: ${why}`);
  };
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 33 || signature.some((b, i) => bytes[i] !== b)) fail("no PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, depth = 0, type = -1;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (let o = 8; o + 12 <= bytes.length;) {
    const length = view.getUint32(o);
    const kind = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    const data = bytes.subarray(o + 8, o + 8 + length);
    if (data.length !== length) fail(`chunk ${kind} is cut short (truncated file)`);
    if (kind === "IHDR") {
      width = view.getUint32(o + 8);
      height = view.getUint32(o + 12);
      depth = bytes[o + 16];
      type = bytes[o + 17];
      if (bytes[o + 20] !== 0) fail("interlaced PNGs are not supported; save it without");
    } else if (kind === "PLTE") palette = data;
    else if (kind === "IDAT") idat.push(data);
    else if (kind === "IEND") break;
    o += 12 + length;
  }
  const channels = PNG_CHANNELS[type];
  if (!channels || !(depth === 8 || (depth === 16 && type !== 3))) {
    fail(`colour type ${type} with ${depth} bits is not supported (8 or 16 bits, not palette 16)`);
  }
  if (width < 1 || height < 1) fail(`size ${width}x${height}`);
  if (type === 3 && !palette) fail("palette image without PLTE chunk");
  let raw: Uint8Array;
  try {
    const joined = new Uint8Array(idat.reduce((n, d) => n + d.length, 0));
    let o = 0;
    for (const d of idat) joined.set(d, (o += d.length) - d.length);
    raw = new Uint8Array(inflateSync(joined));
  } catch (error) {
    return fail(`image data does not inflate (${(error as Error).message})`);
  }
  const bpp = channels * (depth / 8);
  const stride = width * bpp;
  if (raw.length < height * (stride + 1)) fail("image data is shorter than its size says");
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1, dst = y * stride, up = dst - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? rows[dst + i - bpp] : 0;
      const b = y > 0 ? rows[up + i] : 0;
      const c = y > 0 && i >= bpp ? rows[up + i - bpp] : 0;
      const x = raw[src + i];
      const v = filter === 0
        ? x
        : filter === 1
        ? x + a
        : filter === 2
        ? x + b
        : filter === 3
        ? x + ((a + b) >> 1)
        : filter === 4
        ? x + paeth(a, b, c)
        : fail(`row ${y} has filter ${filter} (0..4 allowed)`);
      rows[dst + i] = v;
    }
  }
  const pixels = new Uint8Array(width * height * 3);
  const step = depth / 8;
  for (let p = 0; p < width * height; p++) {
    const s = p * bpp;
    for (let k = 0; k < 3; k++) {
      if (type === 3) {
        const entry = rows[s];
        if (3 * entry + 2 >= palette!.length) fail(`palette index ${entry} outside PLTE`);
        pixels[3 * p + k] = palette![3 * entry + k];
      } else {
        pixels[3 * p + k] = rows[s + (channels >= 3 ? k : 0) * step];
      }
    }
  }
  return { pixels, width, height };
}
