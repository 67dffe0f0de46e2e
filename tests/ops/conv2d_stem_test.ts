/**
 * The ImageNet ResNets' stem: a 7x7 stride-2 padding-3 convolution, on odd shapes (the general
 * tiled convolution kernels serve it; these cases pin the geometry down).
 */

import { ok } from "node:assert/strict";
import { noGpu, testGpu } from "../_gpu.ts";
import { checkConvPasses, convReferenceErrors } from "./_fd.ts";

const STEM = { stride: 2, padding: 3 };
/** [N, C, H, W, F]: odd sizes, none a multiple of the 16x16 tiles; H or W below the kernel. */
const CASES: readonly number[][] = [
  [3, 3, 13, 11, 17],
  [2, 3, 9, 15, 5],
  [1, 1, 5, 4, 3],
  [17, 2, 7, 7, 6],
];
// f32 sums of up to 49 * 3 products of values in [-1, 1] (forward), or a batch of them (dw).
const TOL = 2e-5;

Deno.test("7x7/2 stem reference gradients match central finite differences (float64)", () => {
  const { dx, dw } = convReferenceErrors([2, 2, 9, 8], [3, 2, 7, 7], STEM);
  console.log(`  fd: dx ${dx.toExponential(2)}, dw ${dw.toExponential(2)}`);
  ok(dx < 1e-7 && dw < 1e-7, `finite differences disagree: dx ${dx}, dw ${dw}`);
});

Deno.test({
  name: "7x7/2 stem convolution: forward and both backward passes match the reference",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const [n, c, h, w, f] of CASES) {
      await checkConvPasses(gpu, [n, c, h, w], [f, c, 7, 7], STEM, TOL);
    }
  },
});
