import { ok, rejects, strictEqual as equal } from "node:assert/strict";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  groupedConv2dBackwardInput,
  groupedConv2dBackwardWeight,
  groupedConv2dForward,
  groupedConv2dOutputShape,
  prepareGroupedConv2dBackwardInput,
  prepareGroupedConv2dBackwardWeight,
  prepareGroupedConv2dForward,
} from "../../lib/ops/conv2d_grouped.ts";
import * as ref from "../../lib/ops/_reference_nn.ts";
import { assertClose, noGpu, randomArray, testGpu } from "../_gpu.ts";
import { checkConvPasses, convReferenceErrors } from "./_fd.ts";

/** [N, C, H, W, F, groups, K, stride, padding]: odd sizes and group widths. */
const CASES: readonly number[][] = [
  [3, 6, 9, 11, 9, 3, 3, 2, 1],
  [2, 8, 7, 5, 8, 8, 3, 1, 1], // depthwise
  [5, 4, 5, 7, 6, 2, 1, 1, 0],
  [1, 10, 6, 6, 15, 5, 3, 2, 1],
  [17, 6, 5, 5, 4, 2, 3, 1, 1], // a batch past the weight gradient's shares
  [2, 9, 8, 7, 3, 3, 2, 3, 1], // stride > kernel: some inputs get no gradient
];
// f32 sums of at most a few hundred products of values in [-1, 1].
const TOL = 1e-5;

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

Deno.test("grouped conv2d reference: finite differences, and groups = 1 is the plain convolution", () => {
  const xShape = [2, 6, 5, 4];
  const wShape = [4, 3, 3, 3];
  const g = { stride: 2, padding: 1, groups: 2 };
  const { dx: ex, dw: ew } = convReferenceErrors(xShape, wShape, g);
  console.log(`  fd: dx ${ex.toExponential(2)}, dw ${ew.toExponential(2)}`);
  ok(ex < 1e-7 && ew < 1e-7, `finite differences disagree: dx ${ex}, dw ${ew}`);
  const x = Float64Array.from(randomArray(size(xShape), 1));
  const w = Float64Array.from(randomArray(size(wShape), 2));
  // A grouped convolution is the plain one with the off-group weights zero.
  const full = new Float64Array(4 * 6 * 9);
  for (let f = 0; f < 4; f++) {
    const first = Math.floor(f / 2) * 3;
    for (let k = 0; k < 27; k++) full[(f * 6 + first) * 9 + k] = w[f * 27 + k];
  }
  const plain = ref.conv2dForward(x, xShape, full, [4, 6, 3, 3], { stride: 2, padding: 1 });
  assertClose(ref.conv2dForward(x, xShape, w, wShape, g), plain, 1e-12, "grouped = masked plain");
});

Deno.test({
  name: "grouped conv2d forward and both backward passes match the CPU reference on odd shapes",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const [n, c, h, w, f, groups, k, stride, padding] of CASES) {
      await checkConvPasses(gpu, [n, c, h, w], [f, c / groups, k, k], {
        stride,
        padding,
        groups,
      }, TOL);
    }
  },
});

Deno.test({
  name: "grouped conv2d re-records, accumulates, and takes the plain fast path at groups = 1",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const xShape = [3, 6, 7, 5];
    const wShape = [9, 2, 3, 3];
    const g = { stride: 2, padding: 1, groups: 3 };
    const yShape = groupedConv2dOutputShape(xShape, wShape, 3, 2, 1);
    const x = Tensor.zeros(gpu, xShape);
    const w = Tensor.zeros(gpu, wShape);
    const dy = Tensor.zeros(gpu, yShape);
    const y = Tensor.empty(gpu, yShape);
    const dx = Tensor.from(gpu, new Float32Array(size(xShape)).fill(0.5), xShape);
    const dw = Tensor.from(gpu, new Float32Array(size(wShape)).fill(-0.25), wShape);
    const fwd = await prepareGroupedConv2dForward(gpu, { x, w, y, ...g });
    const bin = await prepareGroupedConv2dBackwardInput(gpu, { dy, w, dx, ...g, accumulate: true });
    const bw = await prepareGroupedConv2dBackwardWeight(gpu, { x, dy, dw, ...g, accumulate: true });
    for (let step = 0; step < 2; step++) {
      const [xs, ws, dys] = [x, w, dy].map((t, i) => randomArray(t.size, 10 * step + i));
      x.write(xs);
      w.write(ws);
      dy.write(dys);
      const dxBefore = await dx.read();
      const dwBefore = await dw.read();
      fwd.record();
      bin.record();
      bw.record();
      assertClose(await y.read(), ref.conv2dForward(xs, xShape, ws, wShape, g), TOL, "y");
      const gx = ref.conv2dBackwardInput(dys, ws, wShape, xShape, g);
      assertClose(await dx.read(), gx.map((v, i) => v + dxBefore[i]), TOL, "accumulated dx");
      const gw = ref.conv2dBackwardWeight(xs, xShape, dys, wShape, g);
      assertClose(await dw.read(), gw.map((v, i) => v + dwBefore[i]), TOL, "accumulated dw");
    }
    for (const t of [fwd, bin, bw]) t.destroy();
    // groups = 1 hands over to the register-tiled convolution (two dispatches: pack, tiles).
    const wPlain = Tensor.from(gpu, randomArray(4 * 6 * 9, 3), [4, 6, 3, 3]);
    const yPlain = Tensor.empty(gpu, [3, 4, 7, 5]);
    const before = gpu.dispatchCount;
    await groupedConv2dForward(gpu, { x, w: wPlain, y: yPlain, padding: 1, groups: 1 });
    equal(gpu.dispatchCount - before, 2);
    for (const t of [x, w, dy, y, dx, dw, wPlain, yPlain]) t.destroy();
  },
});

Deno.test({
  name: "grouped conv2d rejects bad shapes and groups before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const x = Tensor.zeros(gpu, [2, 6, 5, 5]);
    const x3 = Tensor.zeros(gpu, [2, 6, 25]);
    const w = Tensor.zeros(gpu, [4, 3, 3, 3]);
    const wBad = Tensor.zeros(gpu, [4, 2, 3, 3]);
    const y = Tensor.zeros(gpu, [2, 4, 5, 5]);
    const yBad = Tensor.zeros(gpu, [2, 4, 4, 5]);
    const before = gpu.dispatchCount;
    await rejects(
      groupedConv2dForward(gpu, { x: x3, w, y, padding: 1, groups: 2 }),
      /Cannot run grouped conv2d: input has 3 dimensions but needs 4 \(N, C, H, W\)/,
    );
    await rejects(
      groupedConv2dForward(gpu, { x, w: wBad, y, padding: 1, groups: 2 }),
      /weight has 2 input channels but C\/groups is 6\/2 = 3/,
    );
    await rejects(
      groupedConv2dForward(gpu, { x, w, y, padding: 1, groups: 4 }),
      /4 groups must divide the 6 input and 4 output channels/,
    );
    await rejects(
      groupedConv2dForward(gpu, { x, w, y: yBad, padding: 1, groups: 2 }),
      /output y has shape \(2,4,4,5\) but \(2,4,5,5\) is expected/,
    );
    await rejects(
      groupedConv2dBackwardWeight(gpu, { x, dy: yBad, dw: w, padding: 1, groups: 2 }),
      /Cannot run grouped conv2d backward weight: gradient dy has shape/,
    );
    await rejects(
      groupedConv2dBackwardInput(gpu, { dy: y, w, dx: x, padding: 1, groups: 0 }),
      /groups must be a whole number >= 1, got 0/,
    );
    equal(gpu.dispatchCount, before);
    for (const t of [x, x3, w, wBad, y, yBad]) t.destroy();
  },
});
