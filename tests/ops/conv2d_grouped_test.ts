import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  FALLBACK_GROUPED_CANDIDATES,
  formatGroupedConv2dVariant,
  GPU_GROUPED_CANDIDATES,
  GROUPED_CONV2D_TUNE_KEYS,
  GROUPED_WEIGHT_TARGET,
  groupedConv2dBackwardInput,
  groupedConv2dBackwardWeight,
  groupedConv2dCandidates,
  groupedConv2dForward,
  groupedConv2dOutputShape,
  type GroupedConv2dVariant,
  groupedConv2dVariant,
  prepareGroupedConv2dBackwardInput,
  prepareGroupedConv2dBackwardWeight,
  prepareGroupedConv2dForward,
} from "../../lib/ops/conv2d_grouped.ts";
import * as ref from "../../lib/ops/_reference_nn.ts";
import { tuningRecord, useTuningRecord } from "../../lib/ops/tune.ts";
import { type Gpu, requestGpu } from "../../lib/gpu/device.ts";
import {
  assertClose,
  bufferLimits,
  noGpu,
  randomArray,
  testGpu,
  withLowerLimits,
} from "../_gpu.ts";
import { checkConvPasses, convReferenceErrors } from "./_fd.ts";

/**
 * [N, C, H, W, F, groups, K, stride, padding]: odd sizes and group widths; none of the channels
 * per group (1 to 13) or pixel counts is a multiple of the 4..16 register tiles, except where a
 * case says so.
 */
const CASES: readonly number[][] = [
  [3, 6, 9, 11, 9, 3, 3, 2, 1],
  [2, 8, 7, 5, 8, 8, 3, 1, 1], // depthwise
  [5, 4, 5, 7, 6, 2, 1, 1, 0],
  [1, 10, 6, 6, 15, 5, 3, 2, 1],
  [17, 6, 5, 5, 4, 2, 3, 1, 1], // a batch past the weight gradient's shares
  [2, 9, 8, 7, 3, 3, 2, 3, 1], // stride > kernel: some inputs get no gradient
  [2, 22, 7, 9, 26, 2, 3, 2, 1], // 11 -> 13 channels per group: two and four channel quads
  [3, 18, 6, 5, 27, 3, 3, 1, 1], // 6 -> 9 channels per group
  [2, 10, 8, 7, 10, 2, 5, 2, 2], // a 5x5 kernel, 5 channels per group
  [2, 64, 7, 7, 64, 4, 3, 1, 1], // 16 per group: full 16-channel tiles, a ResNeXt-like 7x7
];
// f32 sums of at most about a thousand products of values in [-1, 1].
const TOL = 1e-5;
/** Every grouped variant any adapter may tune to, each once: all are tested here, forced. */
const VARIANTS: readonly GroupedConv2dVariant[] = ([
  ...FALLBACK_GROUPED_CANDIDATES,
  ...GPU_GROUPED_CANDIDATES,
  { kernel: "tile", rows: 16, cols: 4, wg: 16 }, // four channel quads, one pixel quad
  { kernel: "tile", rows: 12, cols: 12, wg: 16 },
  { kernel: "tile", rows: 4, cols: 16, wg: 16 },
  { kernel: "tile", rows: 16, cols: 16, wg: 16 }, // every accumulator
] as const).filter((v, i, all) =>
  all.findIndex((o) => formatGroupedConv2dVariant(o) === formatGroupedConv2dVariant(v)) === i
);

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

/** Runs the three passes of `groupedVariant` on every case (see {@link CASES}). */
async function checkCases(
  gpu: Gpu,
  groupedVariant: GroupedConv2dVariant,
  cases: readonly number[][],
  tolerance: number,
): Promise<void> {
  for (const [n, c, h, w, f, groups, k, stride, padding] of cases) {
    const g = { stride, padding, groups, groupedVariant };
    await checkConvPasses(gpu, [n, c, h, w], [f, c / groups, k, k], g, tolerance);
  }
}

for (const groupedVariant of VARIANTS) {
  const name = formatGroupedConv2dVariant(groupedVariant);
  Deno.test({
    name: `grouped conv2d ${name}: forward and both backward passes match the CPU reference ` +
      `on odd shapes`,
    ignore: noGpu,
    async fn() {
      await checkCases((await testGpu())!, groupedVariant, CASES, TOL);
    },
  });
}

Deno.test({
  name: "grouped conv2d tiles fold their grid past a small maxComputeWorkgroupsPerDimension",
  ignore: noGpu,
  async fn() {
    await testGpu();
    // 13 workgroups per dimension: these images need 18 to 60 along x, so the forward and
    // input-gradient tiles fold into z-slices; channel blocks (at most 12 here) stay within it.
    const gpu = await requestGpu({
      warnFallback: false,
      lowerLimits: { maxComputeWorkgroupsPerDimension: 13 },
    });
    try {
      const folded = [
        [3, 4, 37, 41, 6, 2, 3, 1, 1],
        [7, 6, 45, 39, 9, 3, 3, 2, 1],
      ];
      const tiles = VARIANTS.filter((v) => v.kernel === "tile");
      ok(tiles.length > 0);
      // The weight gradient sums up to 3 x 37 x 41 = 4551 products here: rounding of 1e-4.
      for (const groupedVariant of tiles) await checkCases(gpu, groupedVariant, folded, 1e-4);
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "grouped conv2d tiles refuse, when prepared, more channel blocks than one grid dimension",
  ignore: noGpu,
  async fn() {
    await testGpu();
    // 17 groups of one channel: 17 blocks along y against a limit of 13 (only a lowered limit
    // can get there: WebGPU guarantees 65535).
    await withLowerLimits({ maxComputeWorkgroupsPerDimension: 13 }, async (gpu) => {
      const x = Tensor.zeros(gpu, [1, 17, 5, 5]);
      const w = Tensor.zeros(gpu, [17, 1, 3, 3]);
      const y = Tensor.empty(gpu, [1, 17, 5, 5]);
      await rejects(
        prepareGroupedConv2dForward(gpu, {
          x,
          w,
          y,
          padding: 1,
          groups: 17,
          groupedVariant: { kernel: "tile", rows: 4, cols: 4, wg: 16 },
        }),
        /^RangeError: Cannot run grouped conv2d: a grid of \d+x17x\d+ workgroups exceeds the device limit of 13 per dimension; use fewer channels or a smaller batch$/,
      );
    });
  },
});

/**
 * Odd shapes whose weight gradient would split into more batch shares than one 4 KiB storage
 * buffer holds (3, 9 and 4 shares fit): few pixels, many weights, so that the partial sums, not
 * x or dy, are the largest tensor.
 */
const CAPPED: readonly number[][] = [
  [11, 6, 3, 3, 10, 2, 3, 1, 1],
  [11, 4, 4, 5, 6, 2, 3, 2, 1],
  [7, 10, 3, 3, 5, 5, 5, 1, 2],
];
const CAPPED_LIMIT = 4096;

Deno.test({
  name: "grouped conv2d caps the weight gradient's batch shares to fit one storage buffer " +
    "under a small buffer limit, plain and tiled",
  ignore: noGpu,
  async fn() {
    await testGpu();
    for (const [n, c, , , f, groups, k] of CAPPED) {
      // Without the cap, the shares' partial sums would not fit: the case exercises it.
      const weights = f * (c / groups) * k * k;
      const uncapped = Math.min(n, Math.ceil(GROUPED_WEIGHT_TARGET / weights)) * weights * 4;
      ok(uncapped > CAPPED_LIMIT, `${uncapped} bytes of partial sums fit ${CAPPED_LIMIT}`);
    }
    await withLowerLimits(bufferLimits(CAPPED_LIMIT), async (gpu) => {
      equal(gpu.maxTensorBytes, CAPPED_LIMIT);
      // The weight gradient sums up to 11 images of 9 pixels per share: rounding of 1e-5.
      for (const groupedVariant of VARIANTS) await checkCases(gpu, groupedVariant, CAPPED, TOL);
    });
  },
});

for (const groupedVariant of ["plain", "tile"] as const) {
  Deno.test({
    name: `grouped conv2d ${groupedVariant}: re-records, accumulates, and takes the plain fast ` +
      `path at groups = 1`,
    ignore: noGpu,
    async fn() {
      const gpu = (await testGpu())!;
      const xShape = [3, 6, 7, 5];
      const wShape = [9, 2, 3, 3];
      const g = { stride: 2, padding: 1, groups: 3, groupedVariant };
      const yShape = groupedConv2dOutputShape(xShape, wShape, 3, 2, 1);
      const x = Tensor.zeros(gpu, xShape);
      const w = Tensor.zeros(gpu, wShape);
      const dy = Tensor.zeros(gpu, yShape);
      const y = Tensor.empty(gpu, yShape);
      const dx = Tensor.from(gpu, new Float32Array(size(xShape)).fill(0.5), xShape);
      const dw = Tensor.from(gpu, new Float32Array(size(wShape)).fill(-0.25), wShape);
      const fwd = await prepareGroupedConv2dForward(gpu, { x, w, y, ...g });
      const bin = await prepareGroupedConv2dBackwardInput(gpu, {
        dy,
        w,
        dx,
        ...g,
        accumulate: true,
      });
      const bw = await prepareGroupedConv2dBackwardWeight(gpu, {
        x,
        dy,
        dw,
        ...g,
        accumulate: true,
      });
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
      const plain = { padding: 1, groups: 1, variant: "direct" } as const; // no tuning dispatches
      await groupedConv2dForward(gpu, { x, w: wPlain, y: yPlain, ...plain });
      equal(gpu.dispatchCount - before, 2);
      for (const t of [x, w, dy, y, dx, dw, wPlain, yPlain]) t.destroy();
    },
  });
}

Deno.test({
  name: "grouped conv2d tuning checks and times every candidate per pass; calls without a " +
    "variant use it",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const saved = gpu.tune;
    gpu.tune = "force";
    try {
      for (const pass of ["forward", "backward_input", "backward_weight"] as const) {
        const result = await groupedConv2dVariant(gpu, pass);
        equal(result.source, "tuned");
        equal(result.timings?.length, groupedConv2dCandidates(gpu).length);
        for (const t of result.timings ?? []) {
          const name = formatGroupedConv2dVariant(t.config);
          console.log(`  ${pass} ${name}: ${t.ms?.toFixed(2)} ms`);
          ok(t.ms !== null && t.ms > 0, `${name} failed: ${t.error}`);
        }
        console.log(`  ${pass}: ${formatGroupedConv2dVariant(result.config)} wins`);
        equal(tuningRecord(gpu).choices[GROUPED_CONV2D_TUNE_KEYS[pass]], result.config);
      }
    } finally {
      gpu.tune = saved;
    }
    const xShape = [2, 6, 5, 6];
    const wShape = [4, 3, 3, 3];
    const g = { padding: 1, groups: 2 };
    const xs = randomArray(size(xShape), 70);
    const ws = randomArray(size(wShape), 71);
    const x = Tensor.from(gpu, xs, xShape);
    const w = Tensor.from(gpu, ws, wShape);
    const y = Tensor.empty(gpu, [2, 4, 5, 6]);
    const before = gpu.dispatchCount;
    await groupedConv2dForward(gpu, { x, w, y, ...g });
    const tuned = await groupedConv2dVariant(gpu, "forward");
    // The tuned choice runs without tuning again: a tile packs then convolves, plain is one.
    equal(gpu.dispatchCount - before, tuned.config.kernel === "tile" ? 2 : 1);
    assertClose(await y.read(), ref.conv2dForward(xs, xShape, ws, wShape, g), TOL, "tuned");
    await rejects(
      groupedConv2dForward(gpu, {
        x,
        w,
        y,
        ...g,
        groupedVariant: { kernel: "tile", rows: 6, cols: 16, wg: 16 },
      }),
      /Cannot run grouped conv2d: grouped variant tile 6x16 wg16 is not usable here: tile 6x16/,
    );
    await rejects(
      groupedConv2dForward(gpu, { x, w, y, ...g, groupedVariant: "big" as "tile" }),
      /Cannot run grouped conv2d: grouped variant "big" is unknown; use "plain", "tile"/,
    );
    for (const t of [x, w, y]) t.destroy();
  },
});

Deno.test({
  name: "grouped conv2d uses a recorded run's choice instead of tuning, and records it again",
  ignore: noGpu,
  async fn() {
    await testGpu();
    // A device of its own: the shared one has already chosen in this process.
    const gpu = await requestGpu({ warnFallback: false });
    try {
      const key = GROUPED_CONV2D_TUNE_KEYS.backward_weight;
      const recorded = groupedConv2dCandidates(gpu).at(-1)!; // not the default
      useTuningRecord(gpu, { adapter: tuningRecord(gpu).adapter, choices: { [key]: recorded } });
      const before = gpu.dispatchCount;
      const result = await groupedConv2dVariant(gpu, "backward_weight");
      equal(result.source, "recorded");
      deepEqual(result.config, recorded);
      equal(gpu.dispatchCount, before, "nothing was timed");
      deepEqual(tuningRecord(gpu).choices[key], recorded);
    } finally {
      gpu.destroy();
    }
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
