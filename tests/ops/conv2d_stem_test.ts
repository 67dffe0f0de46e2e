/**
 * The ImageNet ResNets' stem: a 7x7 stride-2 padding-3 convolution, on odd shapes (the general
 * convolution kernels serve it; these cases pin the geometry down).
 */

import { ok } from "node:assert/strict";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  conv2dOutputShape,
} from "../../lib/ops/conv2d.ts";
import * as ref from "../../lib/ops/reference_nn.ts";
import { assertClose, maxRelativeError, noGpu, randomArray, testGpu } from "../_gpu.ts";
import { convReferenceErrors } from "./_fd.ts";

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

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

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
      const xShape = [n, c, h, w];
      const wShape = [f, c, 7, 7];
      const yShape = conv2dOutputShape(xShape, wShape, 2, 3);
      const xs = randomArray(size(xShape), n + h);
      const ws = randomArray(size(wShape), f);
      const dys = randomArray(size(yShape), 9);
      const x = Tensor.from(gpu, xs, xShape);
      const wt = Tensor.from(gpu, ws, wShape);
      const dy = Tensor.from(gpu, dys, yShape);
      const y = Tensor.empty(gpu, yShape);
      const dx = Tensor.empty(gpu, xShape);
      const dw = Tensor.empty(gpu, wShape);
      await conv2dForward(gpu, { x, w: wt, y, ...STEM });
      await conv2dBackwardInput(gpu, { dy, w: wt, dx, ...STEM });
      await conv2dBackwardWeight(gpu, { x, dy, dw, ...STEM });
      const ey = ref.conv2dForward(xs, xShape, ws, wShape, STEM);
      const edx = ref.conv2dBackwardInput(dys, ws, wShape, xShape, STEM);
      const edw = ref.conv2dBackwardWeight(xs, xShape, dys, wShape, STEM);
      const [gy, gdx, gdw] = [await y.read(), await dx.read(), await dw.read()];
      const label = `x${xShape} -> y${yShape}`;
      console.log(
        `  ${label}: y ${maxRelativeError(gy, ey).toExponential(2)}, dx ` +
          `${maxRelativeError(gdx, edx).toExponential(2)}, dw ` +
          `${maxRelativeError(gdw, edw).toExponential(2)}`,
      );
      assertClose(gy, ey, TOL, `forward ${label}`);
      assertClose(gdx, edx, TOL, `backward input ${label}`);
      assertClose(gdw, edw, TOL, `backward weight ${label}`);
      for (const t of [x, wt, dy, y, dx, dw]) t.destroy();
    }
  },
});
