/**
 * Resizing RGB images so the shorter side is S, for packing image lists.
 *
 * Filter, per axis: area averaging (box) when that axis shrinks, each output pixel the mean of
 * the source interval it covers, partial pixels weighted by their overlap (OpenCV's INTER_AREA);
 * bilinear with half-pixel centres and edge clamping when it grows (INTER_LINEAR, torchvision's
 * `align_corners=False`). The two axes are done one after the other in f32 and rounded to the
 * nearest byte once at the end. The longer side becomes floor(long * S / short), as torchvision's
 * `Resize(S)` does.
 *
 * Legend: H rows, W columns; images are (H,W,3) row-major.
 *
 * @module
 */

import type { RgbImage } from "./_png.ts";

/**
 * The size after resizing the shorter side to `size`.
 *
 * @param width W.
 * @param height H.
 * @param size S.
 * @returns The new width and height.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { shorterSideSize } from "./resize.ts";
 * deepEqual(shorterSideSize(500, 375, 256), { width: 341, height: 256 });
 * ```
 */
export function shorterSideSize(
  width: number,
  height: number,
  size: number,
): { width: number; height: number } {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`Cannot resize: size ${size} must be a positive integer`);
  }
  if (width <= height) {
    return { width: size, height: Math.max(1, Math.floor(height * size / width)) };
  }
  return { width: Math.max(1, Math.floor(width * size / height)), height: size };
}

/**
 * One axis's taps: output o reads source indices `index[start[o] .. start[o+1])` with `weight`s
 * summing to 1.
 */
interface Taps {
  start: Int32Array;
  index: Int32Array;
  weight: Float32Array;
}

function axisTaps(from: number, to: number): Taps {
  const start = new Int32Array(to + 1);
  const index: number[] = [], weight: number[] = [];
  const scale = from / to;
  for (let o = 0; o < to; o++) {
    start[o] = index.length;
    if (scale > 1) {
      const a = o * scale, b = (o + 1) * scale;
      for (let i = Math.floor(a); i < Math.min(from, Math.ceil(b)); i++) {
        const w = Math.min(b, i + 1) - Math.max(a, i);
        if (w > 0) {
          index.push(i);
          weight.push(w / scale);
        }
      }
    } else {
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), from - 1);
      const i0 = Math.floor(x), f = x - i0;
      index.push(i0);
      weight.push(1 - f);
      if (f > 0) {
        index.push(i0 + 1);
        weight.push(f);
      }
    }
  }
  start[to] = index.length;
  return { start, index: Int32Array.from(index), weight: Float32Array.from(weight) };
}

/**
 * Resize an RGB image to any size with the filters of this module.
 *
 * @param image The source, (H,W,3).
 * @param width The new W.
 * @param height The new H.
 * @returns The resized image.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { resizeRgb } from "./resize.ts";
 * // 2x1 -> 1x1 averages the two pixels
 * const out = resizeRgb({ pixels: Uint8Array.from([0, 10, 20, 100, 110, 121]), width: 2, height: 1 }, 1, 1);
 * deepEqual([...out.pixels], [50, 60, 71]);
 * ```
 */
export function resizeRgb(image: RgbImage, width: number, height: number): RgbImage {
  const { pixels, width: W, height: H } = image;
  if (pixels.length !== W * H * 3) {
    throw new RangeError(`Cannot resize: ${pixels.length} bytes for ${W}x${H} RGB`);
  }
  if (width === W && height === H) return { pixels: pixels.slice(), width, height };
  const tx = axisTaps(W, width), ty = axisTaps(H, height);
  const mid = new Float32Array(H * width * 3); // (H, width, 3): rows resized first
  for (let y = 0; y < H; y++) {
    const row = y * W * 3, out = y * width * 3;
    for (let o = 0; o < width; o++) {
      let r = 0, g = 0, b = 0;
      for (let t = tx.start[o]; t < tx.start[o + 1]; t++) {
        const s = row + 3 * tx.index[t], w = tx.weight[t];
        r += w * pixels[s];
        g += w * pixels[s + 1];
        b += w * pixels[s + 2];
      }
      mid[out + 3 * o] = r;
      mid[out + 3 * o + 1] = g;
      mid[out + 3 * o + 2] = b;
    }
  }
  const result = new Uint8Array(width * height * 3);
  const line = width * 3;
  const acc = new Float32Array(line);
  for (let o = 0; o < height; o++) {
    acc.fill(0);
    for (let t = ty.start[o]; t < ty.start[o + 1]; t++) {
      const s = ty.index[t] * line, w = ty.weight[t];
      for (let i = 0; i < line; i++) acc[i] += w * mid[s + i];
    }
    const d = o * line;
    for (let i = 0; i < line; i++) result[d + i] = Math.min(255, Math.max(0, Math.round(acc[i])));
  }
  return { pixels: result, width, height };
}

/**
 * Resize so the shorter side is `size` ({@link shorterSideSize}, {@link resizeRgb}).
 *
 * @param image The source, (H,W,3).
 * @param size S.
 * @returns The resized image.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { resizeShorterSide } from "./resize.ts";
 * const out = resizeShorterSide({ pixels: new Uint8Array(4 * 6 * 3), width: 6, height: 4 }, 2);
 * equal(out.width, 3);
 * ```
 */
export function resizeShorterSide(image: RgbImage, size: number): RgbImage {
  const { width, height } = shorterSideSize(image.width, image.height, size);
  return resizeRgb(image, width, height);
}
