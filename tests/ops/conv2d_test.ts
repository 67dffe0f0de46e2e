import { ok, rejects, strictEqual as equal, throws } from "node:assert/strict";
import type { Gpu } from "../../lib/gpu/device.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  conv2dOutputShape,
  type Conv2dVariant,
  conv2dVariant,
  FALLBACK_CONV2D_CANDIDATES,
  formatConv2dVariant,
  GPU_CONV2D_CANDIDATES,
  prepareConv2dBackwardInput,
  prepareConv2dBackwardWeight,
  prepareConv2dForward,
} from "../../lib/ops/conv2d.ts";
import * as ref from "../../lib/ops/_reference_nn.ts";
import {
  assertClose,
  maxRelativeError,
  noGpu,
  randomArray,
  testGpu,
  withLowerLimits,
} from "../_gpu.ts";

/** [N, C, H, W, F, KH, KW, stride, padding]: odd sizes, none a multiple of the 16x16 tiles. */
const CASES: readonly number[][] = [
  [3, 5, 9, 11, 17, 3, 3, 2, 1],
  [1, 3, 5, 7, 5, 5, 3, 1, 1],
  [3, 17, 7, 5, 3, 1, 1, 2, 0],
  [3, 3, 9, 11, 5, 3, 3, 1, 0],
  [1, 5, 5, 7, 3, 1, 1, 1, 0],
  [17, 3, 5, 7, 17, 3, 3, 1, 1],
  [2, 4, 6, 6, 33, 5, 3, 2, 1],
  [2, 16, 5, 7, 5, 3, 3, 2, 1],
  [3, 1, 9, 11, 3, 3, 3, 2, 0],
  [2, 3, 8, 7, 5, 2, 2, 3, 1], // stride > kernel: some input pixels get no gradient
  [1, 2, 5, 5, 3, 1, 1, 1, 1], // padding >= kernel: border outputs see only zeros
];
// f32 sums of up to ~250 products of values in [-1, 1]: errors of a few 1e-6 are rounding.
const FORWARD_TOL = 1e-5;
const GRAD_TOL = 1e-5;
/** Every variant any adapter may tune to, each once: all are tested here, forced. */
const VARIANTS: readonly Conv2dVariant[] = [...FALLBACK_CONV2D_CANDIDATES, ...GPU_CONV2D_CANDIDATES]
  .filter((v, i, all) =>
    all.findIndex((o) => formatConv2dVariant(o) === formatConv2dVariant(v)) === i
  );

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

Deno.test("conv2d reference gradients match central finite differences (float64)", () => {
  const cases: [number[], number[], number, number][] = [
    [[2, 3, 5, 4], [2, 3, 3, 2], 2, 1],
    [[1, 2, 4, 5], [3, 2, 1, 1], 1, 0],
    [[2, 2, 4, 4], [2, 2, 3, 3], 1, 1],
  ];
  for (const [xShape, wShape, stride, padding] of cases) {
    const g = { stride, padding };
    const x = Float64Array.from(randomArray(product(xShape), 1));
    const w = Float64Array.from(randomArray(product(wShape), 2));
    const yShape = conv2dOutputShape(xShape, wShape, stride, padding);
    const r = Float64Array.from(randomArray(product(yShape), 3));
    // loss = sum(conv(x, w) * r), so dL/dy = r.
    const loss = (xv: Float64Array, wv: Float64Array) =>
      ref.conv2dForward(xv, xShape, wv, wShape, g).reduce((s, v, i) => s + v * r[i], 0);
    const dx = ref.conv2dBackwardInput(r, w, wShape, xShape, g);
    const dw = ref.conv2dBackwardWeight(x, xShape, r, wShape, g);
    const h = 1e-6;
    const numeric = (v: Float64Array, f: (v: Float64Array) => number) =>
      v.map((_, i) => {
        const up = v.slice();
        const down = v.slice();
        up[i] += h;
        down[i] -= h;
        return (f(up) - f(down)) / (2 * h);
      });
    const ex = maxRelativeError(dx, numeric(x, (xv) => loss(xv, w)));
    const ew = maxRelativeError(dw, numeric(w, (wv) => loss(x, wv)));
    console.log(
      `  fd x${xShape} w${wShape} s${stride} p${padding}: dx ${ex.toExponential(2)}, dw ${
        ew.toExponential(2)
      }`,
    );
    ok(ex < 1e-7 && ew < 1e-7, `finite differences disagree: dx ${ex}, dw ${ew}`);
  }
});

/** Runs every pass of `variant` on `cases` against the CPU reference. */
async function checkVariant(
  gpu: Gpu,
  variant: Conv2dVariant,
  cases: readonly number[][],
  weightTol = GRAD_TOL,
) {
  const name = formatConv2dVariant(variant);
  for (const [n, c, h, w, f, kh, kw, stride, padding] of cases) {
    const xShape = [n, c, h, w];
    const wShape = [f, c, kh, kw];
    const yShape = conv2dOutputShape(xShape, wShape, stride, padding);
    const g = { stride, padding, variant };
    const xs = randomArray(product(xShape), n * 31 + c);
    const ws = randomArray(product(wShape), f * 7 + kh);
    const dys = randomArray(product(yShape), 5);
    const x = Tensor.from(gpu, xs, xShape);
    const wt = Tensor.from(gpu, ws, wShape);
    const dy = Tensor.from(gpu, dys, yShape);
    const y = Tensor.empty(gpu, yShape);
    const dx = Tensor.empty(gpu, xShape);
    const dw = Tensor.empty(gpu, wShape);
    await conv2dForward(gpu, { x, w: wt, y, ...g });
    await conv2dBackwardInput(gpu, { dy, w: wt, dx, ...g });
    await conv2dBackwardWeight(gpu, { x, dy, dw, ...g, tuning: { weightTile: "taps" } });
    const dwTaps = await dw.read();
    await conv2dBackwardWeight(gpu, { x, dy, dw, ...g, tuning: { weightTile: "channels" } });
    const label = `${name} x${xShape} w${wShape} s${stride} p${padding}`;
    const ey = ref.conv2dForward(xs, xShape, ws, wShape, g);
    const edx = ref.conv2dBackwardInput(dys, ws, wShape, xShape, g);
    const edw = ref.conv2dBackwardWeight(xs, xShape, dys, wShape, g);
    const [gy, gdx, gdw] = [await y.read(), await dx.read(), await dw.read()];
    console.log(
      `  ${label}: y ${maxRelativeError(gy, ey).toExponential(2)}, dx ` +
        `${maxRelativeError(gdx, edx).toExponential(2)}, dw ` +
        `${maxRelativeError(gdw, edw).toExponential(2)} / ${
          maxRelativeError(dwTaps, edw).toExponential(2)
        }`,
    );
    assertClose(gy, ey, FORWARD_TOL, `forward ${label}`);
    assertClose(gdx, edx, GRAD_TOL, `backward input ${label}`);
    assertClose(gdw, edw, weightTol, `backward weight (channel tiles) ${label}`);
    assertClose(dwTaps, edw, weightTol, `backward weight (tap tiles) ${label}`);
    for (const t of [x, wt, dy, y, dx, dw]) t.destroy();
  }
}

for (const variant of VARIANTS) {
  Deno.test({
    name: `conv2d ${
      formatConv2dVariant(variant)
    }: forward and both backward passes match the CPU reference on odd shapes`,
    ignore: noGpu,
    async fn() {
      await checkVariant((await testGpu())!, variant, CASES);
    },
  });
}

/**
 * Odd shapes past a limit of 13 workgroups per dimension, beside two both kinds take: direct
 * kernels fold up to 95 workgroups along x into z-slices (channel blocks, at most 8, stay within
 * it); tiled ones fold 14 to 143 (NC tile, M tile, slice) workgroups into 13 x 13, with 2 M tiles
 * in their last case.
 */
const FOLDED: Readonly<Record<Conv2dVariant["kernel"], readonly number[][]>> = {
  direct: [[17, 3, 23, 21, 33, 3, 3, 1, 1]],
  tiled: [[2, 19, 15, 13, 37, 3, 3, 1, 1]],
};

for (const kind of ["direct", "tiled"] as const) {
  Deno.test({
    name: `conv2d ${kind} variants fold their grids past a small maxComputeWorkgroupsPerDimension`,
    ignore: noGpu,
    async fn() {
      await withLowerLimits({ maxComputeWorkgroupsPerDimension: 13 }, async (gpu) => {
        const cases = [
          [3, 5, 37, 41, 17, 3, 3, 1, 1],
          [2, 7, 45, 39, 5, 3, 3, 2, 1],
          ...FOLDED[kind],
          ...CASES,
        ];
        const variants = VARIANTS.filter((v) => v.kernel === kind);
        ok(variants.length > 0);
        for (const variant of variants) {
          // The grid really folds: past x, and nowhere past the limit.
          const x = Tensor.empty(gpu, [3, 5, 37, 41]);
          const w = Tensor.empty(gpu, [17, 5, 3, 3]);
          const y = Tensor.empty(gpu, [3, 17, 37, 41]);
          const op = await prepareConv2dForward(gpu, { x, w, y, padding: 1, variant });
          const grids = gpu.capture(() => op.record()).map((d) => d.workgroups);
          const name = formatConv2dVariant(variant);
          ok(grids.some(([, gy, gz]) => gy > 1 || gz > 1), `${name} grids ${grids}`);
          ok(grids.every((g) => g.every((d) => d <= 13)), `${name} grids ${grids}`);
          op.destroy();
          for (const t of [x, w, y]) t.destroy();
          // The weight gradient sums up to 3 x 37 x 41 = 4551 products here: rounding of 1e-4.
          await checkVariant(gpu, variant, cases, 1e-4);
        }
      });
    },
  });
}

Deno.test({
  name: "conv2d tuning checks and times every candidate per pass; calls without a variant use it",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const saved = gpu.tune;
    gpu.tune = "force";
    try {
      for (const pass of ["forward", "backward_input", "backward_weight"] as const) {
        const result = await conv2dVariant(gpu, pass);
        equal(result.source, "tuned");
        for (const t of result.timings ?? []) {
          console.log(`  ${pass} ${formatConv2dVariant(t.config)}: ${t.ms?.toFixed(2)} ms`);
          ok(t.ms !== null && t.ms > 0, `${formatConv2dVariant(t.config)} failed: ${t.error}`);
        }
        console.log(`  ${pass}: ${formatConv2dVariant(result.config)} wins`);
      }
    } finally {
      gpu.tune = saved;
    }
    const xShape = [2, 3, 5, 6];
    const wShape = [4, 3, 3, 3];
    const xs = randomArray(product(xShape), 70);
    const ws = randomArray(product(wShape), 71);
    const x = Tensor.from(gpu, xs, xShape);
    const w = Tensor.from(gpu, ws, wShape);
    const y = Tensor.empty(gpu, [2, 4, 5, 6]);
    await conv2dForward(gpu, { x, w, y, padding: 1 });
    assertClose(
      await y.read(),
      ref.conv2dForward(xs, xShape, ws, wShape, { padding: 1 }),
      1e-5,
      "tuned",
    );
    await rejects(
      conv2dForward(gpu, {
        x,
        w,
        y,
        padding: 1,
        variant: { kernel: "tiled", tm: 30, tn: 32, tk: 16 },
      }),
      /Cannot run conv2d: variant tiled 30x32x16 is not usable here: tile 30x32 is not a multiple/,
    );
    for (const t of [x, w, y]) t.destroy();
  },
});

for (const variant of ["direct", "tiled"] as const) {
  Deno.test({
    name:
      `conv2d ${variant}: prepared ops re-record with new data; both backward passes accumulate`,
    ignore: noGpu,
    async fn() {
      const gpu = (await testGpu())!;
      const xShape = [3, 5, 7, 9];
      const wShape = [6, 5, 3, 3];
      const g = { stride: 2, padding: 1, variant };
      const yShape = conv2dOutputShape(xShape, wShape, g.stride, g.padding);
      const x = Tensor.from(gpu, randomArray(product(xShape), 1), xShape);
      const w = Tensor.from(gpu, randomArray(product(wShape), 2), wShape);
      const dy = Tensor.from(gpu, randomArray(product(yShape), 3), yShape);
      const y = Tensor.empty(gpu, yShape);
      const dx = Tensor.empty(gpu, xShape);
      const dw = Tensor.empty(gpu, wShape);
      const fwd = await prepareConv2dForward(gpu, { x, w, y, ...g });
      const bin = await prepareConv2dBackwardInput(gpu, { dy, w, dx, ...g, accumulate: true });
      const bw = await prepareConv2dBackwardWeight(gpu, { x, dy, dw, ...g, accumulate: true });
      dw.write(new Float32Array(product(wShape)).fill(0.25));
      dx.write(new Float32Array(product(xShape)).fill(-0.5));
      for (let step = 0; step < 2; step++) {
        const xs = randomArray(product(xShape), 10 + step);
        const ws = randomArray(product(wShape), 20 + step);
        const dys = randomArray(product(yShape), 30 + step);
        x.write(xs);
        w.write(ws);
        dy.write(dys);
        const before = Float64Array.from(await dw.read());
        const dxBefore = Float64Array.from(await dx.read());
        fwd.record();
        bin.record();
        bw.record();
        gpu.submit();
        assertClose(
          await y.read(),
          ref.conv2dForward(xs, xShape, ws, wShape, g),
          1e-5,
          "re-record y",
        );
        const gradX = ref.conv2dBackwardInput(dys, ws, wShape, xShape, g);
        assertClose(await dx.read(), gradX.map((v, i) => v + dxBefore[i]), 1e-5, "accumulated dx");
        const grad = ref.conv2dBackwardWeight(xs, xShape, dys, wShape, g);
        assertClose(await dw.read(), grad.map((v, i) => v + before[i]), 1e-5, "accumulated dw");
      }
      for (const op of [fwd, bin, bw]) op.destroy();
      for (const t of [x, w, dy, y, dx, dw]) t.destroy();
    },
  });
}

Deno.test({
  name: "conv2d rejects bad shapes, dtypes and geometry before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const x = Tensor.zeros(gpu, [2, 32, 8, 8]);
    const w = Tensor.zeros(gpu, [4, 16, 3, 3]);
    const w32 = Tensor.zeros(gpu, [4, 32, 3, 3]);
    const y = Tensor.zeros(gpu, [2, 4, 8, 8]);
    const yBad = Tensor.zeros(gpu, [2, 4, 7, 8]);
    const xi = Tensor.zeros(gpu, [2, 32, 8, 8], "i32");
    const before = gpu.dispatchCount;
    await rejects(
      conv2dForward(gpu, { x, w, y, padding: 1 }),
      /Cannot run conv2d: weight has 16 input channels but input has 32/,
    );
    await rejects(
      conv2dForward(gpu, { x, w: w32, y: yBad, padding: 1 }),
      /Cannot run conv2d: output y has shape \(2,4,7,8\) but \(2,4,8,8\) is expected/,
    );
    await rejects(conv2dForward(gpu, { x: xi, w: w32, y, padding: 1 }), TypeError);
    await rejects(conv2dForward(gpu, { x, w: w32, y, stride: 0 }), /stride must be/);
    await rejects(conv2dForward(gpu, { x, w: w32, y, padding: -1 }), /padding must be/);
    await rejects(
      conv2dBackwardInput(gpu, { dy: yBad, w: w32, dx: x, padding: 1 }),
      /Cannot run conv2d backward input: gradient dy has shape \(2,4,7,8\)/,
    );
    await rejects(
      conv2dBackwardWeight(gpu, { x, dy: y, dw: w, padding: 1 }),
      /weight has 16 input channels but input has 32/,
    );
    await rejects(
      conv2dForward(gpu, { x, w: w32, y: x, padding: 1 }),
      /Cannot run conv2d: output y has shape/,
    );
    throws(() => conv2dOutputShape([1, 1, 2, 2], [1, 1, 5, 5]), /does not fit the 2x2 input/);
    equal(gpu.dispatchCount, before);
    for (const t of [x, w, w32, y, yBad, xi]) t.destroy();
  },
});
