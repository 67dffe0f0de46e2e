/**
 * A small PNG encoder (8-bit grayscale or RGB, no interlace), enough to write sample grids:
 * IHDR, one zlib-compressed IDAT (node:zlib deflateSync) and IEND, each with its CRC-32.
 *
 * @module
 */

import { deflateSync } from "node:zlib";

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
