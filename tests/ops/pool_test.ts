import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  globalAvgPoolBackward,
  globalAvgPoolForward,
  maxPool2dBackward,
  maxPool2dForward,
  maxPool2dOutputShape,
  prepareGlobalAvgPoolForward,
  prepareMaxPool2dBackward,
  prepareMaxPool2dForward,
} from "../../lib/ops/pool.ts";
import * as ref from "../../lib/ops/_reference_nn.ts";
import {
  assertClose,
  maxRelativeError,
  noGpu,
  randomArray,
  testGpu,
  withLowerLimits,
} from "../_gpu.ts";
import { centralDifferences } from "./_fd.ts";

/** HW a multiple of 4 (vec4 kernels) and not (scalar kernels), batch 1 and 3. */
const SHAPES = [[3, 5, 7, 7], [1, 17, 4, 4], [3, 64, 7, 7], [2, 3, 1, 1], [3, 5, 2, 6]];

Deno.test("global average pool reference backward is the transpose of the forward", () => {
  // <pool(x), r> = <x, pool'(r)> for every x and r, since pooling is linear.
  const shape = [2, 3, 3, 5];
  const x = randomArray(90, 1);
  const r = randomArray(6, 2);
  const lhs = ref.globalAvgPoolForward(x, shape).reduce((s, v, i) => s + v * r[i], 0);
  const rhs = ref.globalAvgPoolBackward(r, shape).reduce((s, v, i) => s + v * x[i], 0);
  assertClose([lhs], [rhs], 1e-12, "adjoint identity");
});

Deno.test({
  name: "global average pool forward and backward match the reference",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const shape of SHAPES) {
      const [n, c] = shape;
      const size = shape.reduce((a, b) => a * b, 1);
      const xs = randomArray(size, size, -3, 3);
      const dys = randomArray(n * c, 7);
      const x = Tensor.from(gpu, xs, shape);
      const y = Tensor.empty(gpu, [n, c]);
      const dy = Tensor.from(gpu, dys, [n, c]);
      const dx = Tensor.empty(gpu, shape);
      await globalAvgPoolForward(gpu, { x, y });
      await globalAvgPoolBackward(gpu, { dy, dx });
      const gy = await y.read();
      const gdx = await dx.read();
      const ey = ref.globalAvgPoolForward(xs, shape);
      const edx = ref.globalAvgPoolBackward(dys, shape);
      console.log(
        `  ${shape}: y ${maxRelativeError(gy, ey).toExponential(2)}, dx ` +
          `${maxRelativeError(gdx, edx).toExponential(2)}`,
      );
      assertClose(gy, ey, 1e-6, `pool forward ${shape}`);
      assertClose(gdx, edx, 1e-7, `pool backward ${shape}`);
      for (const t of [x, y, dy, dx]) t.destroy();
    }
  },
});

Deno.test({
  name: "global average pool re-records with new data",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const shape = [3, 4, 5, 5];
    const x = Tensor.zeros(gpu, shape);
    const y = Tensor.empty(gpu, [3, 4]);
    const pool = await prepareGlobalAvgPoolForward(gpu, { x, y });
    for (let step = 0; step < 2; step++) {
      const xs = randomArray(300, step);
      x.write(xs);
      pool.record();
      assertClose(await y.read(), ref.globalAvgPoolForward(xs, shape), 1e-6, `step ${step}`);
    }
    pool.destroy();
    x.destroy();
    y.destroy();
  },
});

Deno.test({
  name: "global average pool rejects bad shapes before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const x = Tensor.zeros(gpu, [2, 4, 3, 3]);
    const y = Tensor.zeros(gpu, [2, 5]);
    const x3 = Tensor.zeros(gpu, [2, 4, 9]);
    const yi = Tensor.zeros(gpu, [2, 4], "i32");
    const before = gpu.dispatchCount;
    await rejects(
      globalAvgPoolForward(gpu, { x, y }),
      /Cannot run global average pool: y has shape \(2,5\) but \(2,4\) is expected/,
    );
    await rejects(globalAvgPoolForward(gpu, { x: x3, y }), /x must be \(N,C,H,W\)/);
    await rejects(globalAvgPoolBackward(gpu, { dy: yi, dx: x }), TypeError);
    equal(gpu.dispatchCount, before);
    for (const t of [x, y, x3, yi]) t.destroy();
  },
});

/** [N, C, H, W, kernel, stride, padding]: odd sizes; the stem pool and other windows. */
const MAX_CASES: readonly number[][] = [
  [3, 5, 9, 11, 3, 2, 1],
  [2, 3, 7, 7, 3, 2, 1],
  [1, 17, 14, 13, 3, 2, 1],
  [2, 3, 6, 5, 2, 2, 0],
  [1, 2, 5, 8, 3, 1, 1],
  [2, 1, 1, 1, 3, 2, 1], // a 1x1 input: each window holds one cell
  [1, 3, 8, 9, 5, 3, 2],
];

Deno.test("max pool reference gradients match central finite differences (float64)", () => {
  for (const [n, c, h, w, kernel, stride, padding] of MAX_CASES.slice(0, 5)) {
    const shape = [n, c, h, w];
    const g = { kernel, stride, padding };
    // Distinct values, so no step of the difference crosses a tie.
    const x = Float64Array.from(randomArray(n * c * h * w, h * w, -3, 3));
    const { y, argmax } = ref.maxPool2dForward(x, shape, g);
    const r = Float64Array.from(randomArray(y.length, 5));
    const loss = (v: Float64Array) =>
      ref.maxPool2dForward(v, shape, g).y.reduce((s, yv, i) => s + yv * r[i], 0);
    const dx = ref.maxPool2dBackward(r, argmax, shape);
    const err = maxRelativeError(dx, centralDifferences(x, loss));
    console.log(`  fd ${shape} k${kernel} s${stride} p${padding}: dx ${err.toExponential(2)}`);
    ok(err < 1e-6, `finite differences disagree: ${err}`);
  }
});

Deno.test({
  name: "max pool forward (values and winners) and backward match the reference on odd shapes",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const [n, c, h, w, kernel, stride, padding] of MAX_CASES) {
      const shape = [n, c, h, w];
      const g = { kernel, stride, padding };
      const yShape = maxPool2dOutputShape(shape, g);
      const xs = randomArray(n * c * h * w, c * 13 + h, -3, 3);
      const outs = yShape.reduce((a, b) => a * b, 1);
      const dys = randomArray(outs, 3);
      const x = Tensor.from(gpu, xs, shape);
      const y = Tensor.from(gpu, randomArray(outs, 4), yShape);
      const argmax = Tensor.zeros(gpu, yShape, "u32");
      const dy = Tensor.from(gpu, dys, yShape);
      const dx = Tensor.from(gpu, randomArray(xs.length, 6), shape); // overwritten
      await maxPool2dForward(gpu, { x, y, argmax, ...g });
      await maxPool2dBackward(gpu, { dy, argmax, dx, ...g });
      const expected = ref.maxPool2dForward(xs, shape, g);
      const edx = ref.maxPool2dBackward(dys, expected.argmax, shape);
      const [gy, gi, gdx] = [await y.read(), await argmax.read(), await dx.read()];
      const label = `${shape} k${kernel} s${stride} p${padding}`;
      console.log(
        `  ${label}: y ${maxRelativeError(gy, expected.y).toExponential(2)}, dx ` +
          `${maxRelativeError(gdx, edx).toExponential(2)}`,
      );
      assertClose(gy, expected.y, 0, `forward ${label}`);
      deepEqual(Array.from(gi), Array.from(expected.argmax), `winners ${label}`);
      // Sums of at most four f32 gradients, in a fixed order.
      assertClose(gdx, edx, 1e-6, `backward ${label}`);
      for (const t of [x, y, argmax, dy, dx]) t.destroy();
    }
  },
});

Deno.test({
  name: "max pool gives ties to the first cell in window order and re-records with new data",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const shape = [1, 2, 5, 5];
    const x = Tensor.from(gpu, new Float32Array(50).fill(-7), shape);
    const y = Tensor.empty(gpu, [1, 2, 3, 3]);
    const argmax = Tensor.empty(gpu, [1, 2, 3, 3], "u32");
    const dy = Tensor.zeros(gpu, [1, 2, 3, 3]);
    const dx = Tensor.empty(gpu, shape);
    const fwd = await prepareMaxPool2dForward(gpu, { x, y, argmax });
    const back = await prepareMaxPool2dBackward(gpu, { dy, argmax, dx });
    fwd.record();
    // Every cell ties: each window's winner is its top-left cell inside the input.
    const firsts = [0, 1, 3, 5, 6, 8, 15, 16, 18];
    deepEqual(Array.from(await argmax.read()), [...firsts, ...firsts]);
    deepEqual(Array.from(await y.read()), new Array(18).fill(-7));
    for (let step = 0; step < 2; step++) {
      const xs = randomArray(50, step + 20);
      const dys = randomArray(18, step + 30);
      x.write(xs);
      dy.write(dys);
      fwd.record();
      back.record();
      const e = ref.maxPool2dForward(xs, shape);
      assertClose(await y.read(), e.y, 0, `y step ${step}`);
      assertClose(await dx.read(), ref.maxPool2dBackward(dys, e.argmax, shape), 1e-6, "dx");
    }
    for (const t of [fwd, back, x, y, argmax, dy, dx]) t.destroy();
  },
});

Deno.test({
  name: "max pool rejects bad shapes, dtypes and windows before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const x = Tensor.zeros(gpu, [2, 4, 7, 7]);
    const x3 = Tensor.zeros(gpu, [2, 4, 49]);
    const y = Tensor.zeros(gpu, [2, 4, 4, 4]);
    const yBad = Tensor.zeros(gpu, [2, 4, 3, 4]);
    const argmax = Tensor.zeros(gpu, [2, 4, 4, 4], "u32");
    const argmaxF = Tensor.zeros(gpu, [2, 4, 4, 4]);
    const before = gpu.dispatchCount;
    await rejects(
      maxPool2dForward(gpu, { x: x3, y, argmax }),
      /Cannot run maxpool2d: input x has 3 dimensions but needs 4 \(N, C, H, W\)/,
    );
    await rejects(
      maxPool2dForward(gpu, { x, y: yBad, argmax }),
      /Cannot run maxpool2d: output y has shape \(2,4,3,4\) but \(2,4,4,4\) is expected/,
    );
    await rejects(maxPool2dForward(gpu, { x, y, argmax: argmaxF }), /argmax must be u32/);
    await rejects(maxPool2dForward(gpu, { x, y, argmax, padding: 2 }), /at most half the kernel/);
    await rejects(maxPool2dForward(gpu, { x, y, argmax, stride: 0 }), /stride must be a whole/);
    await rejects(
      maxPool2dBackward(gpu, { dy: yBad, argmax, dx: x }),
      /Cannot run maxpool2d backward: gradient dy has shape \(2,4,3,4\)/,
    );
    equal(gpu.dispatchCount, before);
    for (const t of [x, x3, y, yBad, argmax, argmaxF]) t.destroy();
  },
});

Deno.test({
  name: "pools fold past a small maxComputeWorkgroupsPerDimension",
  ignore: noGpu,
  async fn() {
    // 4 workgroups per dimension: 287 and 305 planes need 5 average-pool workgroups; max pool
    // over 3x37x9x11 needs 9 (forward, a row per output row) and 16 (backward, per input row).
    await withLowerLimits({ maxComputeWorkgroupsPerDimension: 4 }, async (gpu) => {
      for (const shape of [[5, 61, 7, 7], [7, 41, 4, 4]]) {
        const [n, c] = shape;
        const size = shape.reduce((a, b) => a * b, 1);
        const xs = randomArray(size, 3, -3, 3);
        const dys = randomArray(n * c, 4);
        const [x, dx] = [Tensor.from(gpu, xs, shape), Tensor.empty(gpu, shape)];
        const [y, dy] = [Tensor.empty(gpu, [n, c]), Tensor.from(gpu, dys, [n, c])];
        await globalAvgPoolForward(gpu, { x, y });
        await globalAvgPoolBackward(gpu, { dy, dx });
        assertClose(await y.read(), ref.globalAvgPoolForward(xs, shape), 1e-6, `avg ${shape}`);
        assertClose(await dx.read(), ref.globalAvgPoolBackward(dys, shape), 1e-7, `${shape}`);
        for (const t of [x, y, dy, dx]) t.destroy();
      }
      const shape = [3, 37, 9, 11];
      const g = { kernel: 3, stride: 2, padding: 1 };
      const yShape = maxPool2dOutputShape(shape, g);
      const xs = randomArray(3 * 37 * 9 * 11, 8, -3, 3);
      const outs = yShape.reduce((a, b) => a * b, 1);
      const dys = randomArray(outs, 9);
      const x = Tensor.from(gpu, xs, shape);
      const [y, argmax] = [Tensor.empty(gpu, yShape), Tensor.zeros(gpu, yShape, "u32")];
      const [dy, dx] = [Tensor.from(gpu, dys, yShape), Tensor.empty(gpu, shape)];
      const forward = await prepareMaxPool2dForward(gpu, { x, y, argmax, ...g });
      const grids = gpu.capture(() => forward.record()).map((d) => d.workgroups);
      equal(`${grids}`, "4,3,1", "the forward grid folds");
      forward.destroy();
      await maxPool2dForward(gpu, { x, y, argmax, ...g });
      await maxPool2dBackward(gpu, { dy, argmax, dx, ...g });
      const expected = ref.maxPool2dForward(xs, shape, g);
      assertClose(await y.read(), expected.y, 0, "max pool forward");
      deepEqual(Array.from(await argmax.read()), Array.from(expected.argmax), "winners");
      const edx = ref.maxPool2dBackward(dys, expected.argmax, shape);
      assertClose(await dx.read(), edx, 1e-6, "max pool backward");
      for (const t of [x, y, argmax, dy, dx]) t.destroy();
    });
  },
});
