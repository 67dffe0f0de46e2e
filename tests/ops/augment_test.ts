/**
 * The augmentation kernel against the plain CPU reference of lib/data/imagenet_augment.ts, on
 * odd sizes (sources 37x23, 5x61, 64x48, output 19: not multiples of anything), training
 * parameters (crop, flip, jitter in every order) and evaluation crops; and the parameter draws
 * against torchvision's algorithm.
 *
 * Tolerance: 2e-4 absolute on normalised values (std 0.225, so about 1e-5 of x/255 scaled by
 * 1/std and by up to 1.4^3 of jitter): the kernel samples in f32 and reduces the contrast mean in
 * f32, the reference in f64.
 */
import { deepStrictEqual as deepEqual, ok, strictEqual as equal, throws } from "node:assert/strict";
// The modules themselves, not lib/data/mod.ts, so that the browser suite can bundle this test.
import {
  augmentReference,
  type AugmentSource,
  evalAugmentParams,
  randomResizedCropBox,
  trainAugmentParams,
} from "../../lib/data/imagenet_augment.ts";
import { IMAGENET_NORMALIZATION } from "../../lib/data/image_list_profiles.ts";
import { Rng } from "../../lib/data/rng.ts";
import { GpuAugmenter } from "../../lib/ops/augment.ts";
import { noGpu, testGpu, withLowerLimits } from "../_gpu.ts";

const TOLERANCE = 2e-4;

function source(height: number, width: number, seed: number): AugmentSource {
  const pixels = new Uint8Array(height * width * 3);
  for (let i = 0; i < pixels.length; i++) {
    pixels[i] = (Math.imul(i + seed * 7919, 2654435761) >>> 24) ^ ((i >> 3) & 0x3f);
  }
  return { pixels, height, width };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("randomResizedCropBox: inside the image, scale and ratio in range, centre fallback", () => {
  const rng = new Rng(0);
  for (let k = 0; k < 500; k++) {
    const H = 20 + (k % 50), W = 15 + ((k * 7) % 80);
    const b = randomResizedCropBox(rng, H, W);
    ok(b.top >= 0 && b.left >= 0 && b.top + b.height <= H && b.left + b.width <= W);
    ok(b.height >= 1 && b.width >= 1);
  }
  // A 1x100 strip cannot hold any try: the fallback is the centred box of ratio 4/3 clamped.
  deepEqual(randomResizedCropBox(new Rng(0), 1, 100), { top: 0, left: 49, height: 1, width: 1 });
  // scale 1 and ratio 1 on a square: the whole image.
  deepEqual(randomResizedCropBox(new Rng(1), 10, 10, [1, 1], [1, 1]), {
    top: 0,
    left: 0,
    height: 10,
    width: 10,
  });
  const p = trainAugmentParams(new Rng(2), 30, 40);
  ok(p.brightness >= 0.6 && p.brightness < 1.4 && p.contrast >= 0.6 && p.saturation < 1.4);
  deepEqual([...p.order].sort(), [0, 1, 2]);
});

Deno.test("evalAugmentParams: Resize 256 + CenterCrop 224 of an image packed at 256 copies pixels", () => {
  const src = source(256, 341, 1);
  const p = evalAugmentParams(256, 341);
  deepEqual([p.top, p.left, p.height, p.width], [16, 59, 224, 224]);
  const out = augmentReference([src], [p], 224, [0, 0, 0], [1 / 255, 1 / 255, 1 / 255]);
  for (const [y, x] of [[0, 0], [100, 37], [223, 223]]) {
    for (let c = 0; c < 3; c++) {
      const want = src.pixels[((y + 16) * 341 + x + 59) * 3 + c];
      ok(Math.abs(out[c * 224 * 224 + y * 224 + x] - want) < 1e-3);
    }
  }
});

Deno.test({
  name: "GpuAugmenter equals the CPU reference on odd sizes, for training and evaluation",
  ignore: noGpu,
  fn: async () => {
    const gpu = (await testGpu())!;
    const sources = [source(37, 23, 1), source(5, 61, 2), source(64, 48, 3), source(19, 19, 4)];
    const S = 19;
    const { mean, std } = IMAGENET_NORMALIZATION;
    const aug = await GpuAugmenter.create(gpu, {
      batch: 6,
      size: S,
      maxBytes: sources.reduce((n, s) => n + s.pixels.length, 0) + 1,
      mean,
      std,
    });
    try {
      const rng = new Rng(11);
      for (let round = 0; round < 6; round++) {
        const params = sources.map((s) => trainAugmentParams(rng, s.height, s.width));
        if (round === 0) params[0].flip = true;
        aug.run(sources, params);
        const got = (await aug.out.read()).subarray(0, sources.length * 3 * S * S);
        const want = augmentReference(sources, params, S, mean, std);
        const err = maxDiff(got as Float32Array, want);
        console.log(`train round ${round}: max |diff| ${err.toExponential(2)}`);
        ok(err <= TOLERANCE, `round ${round}: ${err}`);
      }
      const evalParams = sources.map((s) => evalAugmentParams(s.height, s.width, 22, S));
      aug.run(sources, evalParams);
      const got = (await aug.out.read()).subarray(0, sources.length * 3 * S * S);
      const err = maxDiff(got as Float32Array, augmentReference(sources, evalParams, S, mean, std));
      console.log(`eval: max |diff| ${err.toExponential(2)}`);
      ok(err <= TOLERANCE);
      // Same parameters, same numbers (no hidden state).
      aug.run(sources, evalParams);
      deepEqual(await aug.out.read(), await aug.out.read());
      throws(() => aug.run(sources, evalParams.slice(1)), /4 images and 3 parameter sets/);
      throws(
        () => aug.run([sources[0]], [{ ...evalParams[0], top: 30 }]),
        /box \(top 30, .*\) is not inside its 37x23 pixels/,
      );
      equal(aug.out.shape.join(), `6,3,${S},${S}`);
    } finally {
      aug.destroy();
    }
  },
});

Deno.test({
  name: "GpuAugmenter folds its images past a small maxComputeWorkgroupsPerDimension",
  ignore: noGpu,
  fn: async () => {
    // 5 workgroups per dimension: 13 images need 3 rows, then 7 need 2 (the uniforms follow).
    await withLowerLimits({ maxComputeWorkgroupsPerDimension: 5 }, async (gpu) => {
      const shapes = [[37, 23], [5, 61], [64, 48], [19, 19]];
      const sources = Array.from(
        { length: 13 },
        (_, i) => source(...shapes[i % 4] as [number, number], i),
      );
      const S = 11;
      const { mean, std } = IMAGENET_NORMALIZATION;
      const aug = await GpuAugmenter.create(gpu, {
        batch: 13,
        size: S,
        maxBytes: sources.reduce((n, s) => n + s.pixels.length, 0),
        mean,
        std,
      });
      try {
        const rng = new Rng(5);
        const plane = 3 * S * S;
        let before = new Float32Array();
        for (const count of [13, 7, 13]) {
          const batch = sources.slice(0, count);
          const params = batch.map((s) => trainAugmentParams(rng, s.height, s.width));
          aug.run(batch, params);
          const got = (await aug.out.read()).subarray(0, count * 3 * S * S);
          const err = maxDiff(got as Float32Array, augmentReference(batch, params, S, mean, std));
          console.log(`${count} images: max |diff| ${err.toExponential(2)}`);
          ok(err <= TOLERANCE, `${count} images: ${err}`);
          // Rows past the count keep their old values: the overhanging workgroups do nothing.
          const all = new Float32Array(await aug.out.read());
          if (count < 13) deepEqual(all.subarray(count * plane), before.subarray(count * plane));
          before = all;
        }
      } finally {
        aug.destroy();
      }
    });
  },
});
