/**
 * Pixel normalisation and the recipe's augmentation on the CPU: pad by `pad` zero pixels, take a
 * random crop of the original size, flip horizontally. Written for typed arrays: one table lookup
 * per output pixel, no temporary padded image.
 *
 * Legend: C channels, H rows, W columns; images are (C,H,W) row-major; `pad` is P.
 *
 * @module
 */

/**
 * A lookup table from byte to normalised float, per channel: lut[c*256 + v] =
 * (v/255 - mean[c]) / std[c], computed in f64 and rounded to f32 once.
 *
 * @param mean Per-channel mean of x/255 (one value is used for every channel).
 * @param std Per-channel std of x/255.
 * @param channels C.
 * @returns The table, (C*256).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizationTable } from "./augment.ts";
 * const lut = normalizationTable([0.2860], [0.3530], 1);
 * assert.equal(lut[0].toFixed(4), "-0.8102");
 * ```
 */
export function normalizationTable(
  mean: readonly number[],
  std: readonly number[],
  channels: number,
): Float32Array {
  const ok = (a: readonly number[]) => a.length === 1 || a.length === channels;
  if (!ok(mean) || !ok(std)) {
    throw new RangeError(
      `Cannot normalise: mean has ${mean.length} and std ${std.length} values for ${channels} ` +
        "channels; give one value or one per channel",
    );
  }
  const lut = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    const m = mean[mean.length === 1 ? 0 : c];
    const s = std[std.length === 1 ? 0 : c];
    if (!(s > 0) || !Number.isFinite(m)) {
      throw new RangeError(
        `Cannot normalise: channel ${c} has mean ${m} and std ${s}; need std > 0`,
      );
    }
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - m) / s;
  }
  return lut;
}

/**
 * Normalise one image without augmentation.
 *
 * @param src Source bytes; the image is (C,H,W) at `srcOffset`.
 * @param srcOffset Offset of the image in `src`.
 * @param dst Output floats; written at `dstOffset`, (C,H,W).
 * @param dstOffset Offset in `dst`.
 * @param channels C.
 * @param plane H*W.
 * @param lut From {@link normalizationTable}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizationTable, normalizeImage } from "./augment.ts";
 * const out = new Float32Array(2);
 * normalizeImage(Uint8Array.from([0, 255]), 0, out, 0, 1, 2, normalizationTable([0.5], [0.5], 1));
 * assert.deepEqual([...out], [-1, 1]);
 * ```
 */
export function normalizeImage(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  channels: number,
  plane: number,
  lut: Float32Array,
): void {
  for (let c = 0; c < channels; c++) {
    const base = c * 256;
    const s = srcOffset + c * plane;
    const d = dstOffset + c * plane;
    for (let i = 0; i < plane; i++) dst[d + i] = lut[base + src[s + i]];
  }
}

/**
 * Normalise one image with a crop from its zero-padded version and an optional horizontal flip:
 * out(c,y,x) = padded(c, y+dy, x'+dx) with x' = W-1-x when flipped, else x; padded pixels read
 * as byte 0 (black) before normalisation.
 *
 * @param src Source bytes; the image is (C,H,W) at `srcOffset`.
 * @param srcOffset Offset of the image in `src`.
 * @param dst Output floats, (C,H,W) at `dstOffset`.
 * @param dstOffset Offset in `dst`.
 * @param channels C.
 * @param height H.
 * @param width W.
 * @param lut From {@link normalizationTable}.
 * @param pad P, the zero padding on each side.
 * @param dy Crop top in the padded image, 0..2P.
 * @param dx Crop left in the padded image, 0..2P.
 * @param flip Flip horizontally after the crop.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { augmentImage, normalizationTable } from "./augment.ts";
 * const lut = normalizationTable([0], [1 / 255], 1); // identity: out = byte value
 * const out = new Float32Array(4);
 * // a centred crop (dy = dx = pad) and a flip: the rows are mirrored
 * augmentImage(Uint8Array.from([1, 2, 3, 4]), 0, out, 0, 1, 2, 2, lut, 1, 1, 1, true);
 * assert.deepEqual([...out].map(Math.round), [2, 1, 4, 3]);
 * ```
 */
export function augmentImage(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  channels: number,
  height: number,
  width: number,
  lut: Float32Array,
  pad: number,
  dy: number,
  dx: number,
  flip: boolean,
): void {
  const shift = dx - pad; // source column = x' + shift
  const x0 = flip ? Math.max(0, shift) : Math.max(0, -shift);
  const x1 = flip ? Math.min(width, width + shift) : Math.min(width, width - shift);
  for (let c = 0; c < channels; c++) {
    const base = c * 256;
    const zero = lut[base];
    for (let y = 0; y < height; y++) {
      const o = dstOffset + (c * height + y) * width;
      const sy = y + dy - pad;
      if (sy < 0 || sy >= height || x1 <= x0) {
        dst.fill(zero, o, o + width);
        continue;
      }
      const row = srcOffset + (c * height + sy) * width;
      for (let x = 0; x < x0; x++) dst[o + x] = zero;
      if (flip) {
        const s = row + width - 1 + shift; // source of x is s - x
        for (let x = x0; x < x1; x++) dst[o + x] = lut[base + src[s - x]];
      } else {
        const s = row + shift;
        for (let x = x0; x < x1; x++) dst[o + x] = lut[base + src[s + x]];
      }
      for (let x = x1; x < width; x++) dst[o + x] = zero;
    }
  }
}
