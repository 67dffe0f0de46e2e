/**
 * The paper's ImageNet-style augmentation, its parameters drawn on the CPU and applied by a
 * plain reference (the GPU kernel `kernels/augment.wgsl` applies the same parameters and is
 * checked against {@link augmentReference}).
 *
 * Training: RandomResizedCrop to S (scale 0.08..1, ratio 3/4..4/3, torchvision's ten tries then
 * the centre-crop fallback), horizontal flip with probability 1/2, ColorJitter(brightness 0.4,
 * contrast 0.4, saturation 0.4) in a random order per image, then per-channel normalisation.
 * Evaluation: Resize(R) + CenterCrop(S) (R = 256, S = 224 for the paper), done as one crop of the
 * source: the centre S x S (offsets rounded as torchvision's CenterCrop, but half up) of the image
 * resized to shorter side R ({@link shorterSideSize}) mapped back to source coordinates.
 *
 * Sampling: bilinear with half-pixel centres, coordinates clamped to the image, without
 * antialiasing (as torchvision on tensors with antialias=False); when the box maps pixels 1:1
 * (an image packed at R, evaluated) it copies them exactly. Colour operations follow torchvision
 * on float images: brightness x*b; contrast blend with the mean grey level of the image
 * (grey = 0.2989 R + 0.587 G + 0.114 B); saturation blend with the pixel's grey; each clamped to
 * [0, 1].
 *
 * Legend: B batch, S output side, H and W source rows and columns; sources are (H,W,3) uint8,
 * outputs (B,3,S,S) f32.
 *
 * @module
 */

import { shorterSideSize } from "./resize.ts";
import type { Rng } from "./rng.ts";

/** Floats per image in a parameter block: top, left, height, width, b, c, s, flip. */
export const AUGMENT_FLOATS = 8;

/**
 * One image's augmentation: the source box, the flip, the jitter factors and their order.
 *
 * @example
 * ```ts
 * import type { AugmentParams } from "./imagenet_augment.ts";
 * const identity: AugmentParams = {
 *   top: 0, left: 0, height: 4, width: 4, flip: false,
 *   brightness: 1, contrast: 1, saturation: 1, order: [0, 1, 2],
 * };
 * ```
 */
export interface AugmentParams {
  /** Source box: top row (may be fractional for evaluation crops). */
  top: number;
  /** Source box: left column. */
  left: number;
  /** Source box: rows. */
  height: number;
  /** Source box: columns. */
  width: number;
  /** Mirror the output horizontally. */
  flip: boolean;
  /** Brightness factor (1 = none). */
  brightness: number;
  /** Contrast factor (1 = none). */
  contrast: number;
  /** Saturation factor (1 = none). */
  saturation: number;
  /** The order of the three colour operations: 0 brightness, 1 contrast, 2 saturation. */
  order: [number, number, number];
}

/**
 * Uniform draw in [lo, hi).
 */
function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.nextFloat();
}

/**
 * torchvision's `RandomResizedCrop.get_params`: up to ten tries of an area fraction in
 * `scale` and a log-uniform aspect ratio in `ratio`, the box placed uniformly; when none fits,
 * the largest centred box whose ratio is clamped to `ratio`.
 *
 * @param rng The generator (draws: per try area, log ratio, and when it fits top, left).
 * @param height H.
 * @param width W.
 * @param scale Area fraction range (default 0.08..1).
 * @param ratio Aspect ratio range w/h (default 3/4..4/3).
 * @returns The box.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { randomResizedCropBox } from "./imagenet_augment.ts";
 * import { Rng } from "./rng.ts";
 * const box = randomResizedCropBox(new Rng(0), 375, 500);
 * ok(box.top + box.height <= 375 && box.left + box.width <= 500);
 * ```
 */
export function randomResizedCropBox(
  rng: Rng,
  height: number,
  width: number,
  scale: [number, number] = [0.08, 1],
  ratio: [number, number] = [3 / 4, 4 / 3],
): { top: number; left: number; height: number; width: number } {
  const area = height * width;
  const logLo = Math.log(ratio[0]), logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * uniform(rng, scale[0], scale[1]);
    const aspect = Math.exp(uniform(rng, logLo, logHi));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return {
        top: rng.nextInt(height - h + 1),
        left: rng.nextInt(width - w + 1),
        height: h,
        width: w,
      };
    }
  }
  const inRatio = width / height;
  let w = width, h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return {
    top: Math.floor((height - h) / 2),
    left: Math.floor((width - w) / 2),
    height: h,
    width: w,
  };
}

/**
 * Training parameters of one image: crop box, flip (p = 1/2), jitter factors uniform in
 * [1-0.4, 1+0.4] and a random order of the three, drawn in this order from `rng`.
 *
 * @param rng The generator.
 * @param height H.
 * @param width W.
 * @param jitter Strength of brightness, contrast and saturation (default 0.4 each).
 * @returns The parameters.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { trainAugmentParams } from "./imagenet_augment.ts";
 * import { Rng } from "./rng.ts";
 * deepEqual(trainAugmentParams(new Rng(1), 30, 40), trainAugmentParams(new Rng(1), 30, 40));
 * ```
 */
export function trainAugmentParams(
  rng: Rng,
  height: number,
  width: number,
  jitter = 0.4,
): AugmentParams {
  const box = randomResizedCropBox(rng, height, width);
  const flip = rng.nextFloat() < 0.5;
  const factor = () => uniform(rng, Math.max(0, 1 - jitter), 1 + jitter);
  const brightness = factor(), contrast = factor(), saturation = factor();
  const order = [0, 1, 2];
  rng.shuffle(order);
  return {
    ...box,
    flip,
    brightness,
    contrast,
    saturation,
    order: order as [number, number, number],
  };
}

/**
 * Evaluation parameters: the source box of Resize(resize) + CenterCrop(size), no flip, no jitter.
 *
 * @param height H.
 * @param width W.
 * @param resize R (256).
 * @param size S (224).
 * @returns The parameters.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { evalAugmentParams } from "./imagenet_augment.ts";
 * const p = evalAugmentParams(256, 341, 256, 224);
 * deepEqual([p.top, p.left, p.height, p.width], [16, 59, 224, 224]);
 * ```
 */
export function evalAugmentParams(
  height: number,
  width: number,
  resize = 256,
  size = 224,
): AugmentParams {
  const r = shorterSideSize(width, height, resize);
  const top = Math.round((r.height - size) / 2), left = Math.round((r.width - size) / 2);
  const ky = height / r.height, kx = width / r.width; // source pixels per resized pixel
  return {
    top: top * ky,
    left: left * kx,
    height: size * ky,
    width: size * kx,
    flip: false,
    brightness: 1,
    contrast: 1,
    saturation: 1,
    order: [0, 1, 2],
  };
}

/**
 * One source image of a batch: its pixels and size.
 *
 * @example
 * ```ts
 * import type { AugmentSource } from "./imagenet_augment.ts";
 * const s: AugmentSource = { pixels: new Uint8Array(12), height: 2, width: 2 };
 * ```
 */
export interface AugmentSource {
  /** RGB, (H,W,3). */
  pixels: Uint8Array;
  /** H. */
  height: number;
  /** W. */
  width: number;
}

/**
 * The plain reference (f64): sample each output pixel, apply the colour operations in order,
 * normalise.
 *
 * @param sources The images.
 * @param params One per image.
 * @param size S.
 * @param mean Per-channel mean of x/255.
 * @param std Per-channel std of x/255.
 * @returns (B,3,S,S) floats.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { augmentReference, evalAugmentParams } from "./imagenet_augment.ts";
 * const src = { pixels: Uint8Array.from({ length: 12 }, (_, i) => i * 20), height: 2, width: 2 };
 * const out = augmentReference([src], [evalAugmentParams(2, 2, 2, 2)], 2, [0, 0, 0], [1, 1, 1]);
 * deepEqual([...out.subarray(0, 4)].map((v) => Math.round(v * 255)), [0, 60, 120, 180]);
 * ```
 */
export function augmentReference(
  sources: readonly AugmentSource[],
  params: readonly AugmentParams[],
  size: number,
  mean: readonly number[],
  std: readonly number[],
): Float32Array {
  const plane = size * size;
  const out = new Float32Array(sources.length * 3 * plane);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  sources.forEach((src, b) => {
    const p = params[b];
    const img = new Float64Array(3 * plane);
    for (let oy = 0; oy < size; oy++) {
      for (let ox = 0; ox < size; ox++) {
        const sx = p.flip ? size - 1 - ox : ox;
        const y = Math.min(Math.max(p.top + (oy + 0.5) * p.height / size - 0.5, 0), src.height - 1);
        const x = Math.min(Math.max(p.left + (sx + 0.5) * p.width / size - 0.5, 0), src.width - 1);
        const y0 = Math.floor(y), x0 = Math.floor(x);
        const y1 = Math.min(y0 + 1, src.height - 1), x1 = Math.min(x0 + 1, src.width - 1);
        const fy = y - y0, fx = x - x0;
        for (let c = 0; c < 3; c++) {
          const at = (yy: number, xx: number) => src.pixels[(yy * src.width + xx) * 3 + c];
          const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) +
            fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
          img[c * plane + oy * size + ox] = v / 255;
        }
      }
    }
    const grey = (i: number) =>
      0.2989 * img[i] + 0.587 * img[plane + i] + 0.114 * img[2 * plane + i];
    for (const op of p.order) {
      if (op === 0) {
        for (let i = 0; i < 3 * plane; i++) img[i] = clamp(img[i] * p.brightness);
      } else if (op === 1) {
        let sum = 0;
        for (let i = 0; i < plane; i++) sum += grey(i);
        const m = sum / plane;
        for (let i = 0; i < 3 * plane; i++) {
          img[i] = clamp(p.contrast * img[i] + (1 - p.contrast) * m);
        }
      } else {
        for (let i = 0; i < plane; i++) {
          const g = grey(i);
          for (let c = 0; c < 3; c++) {
            const k = c * plane + i;
            img[k] = clamp(p.saturation * img[k] + (1 - p.saturation) * g);
          }
        }
      }
    }
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < plane; i++) {
        out[(b * 3 + c) * plane + i] = (img[c * plane + i] - mean[c]) / std[c];
      }
    }
  });
  return out;
}
