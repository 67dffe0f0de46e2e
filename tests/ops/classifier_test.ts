import {
  deepStrictEqual as deepEqual,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { requestGpu } from "../../lib/gpu/device.ts";
import type { Gpu } from "../../lib/gpu/device.ts";
import { recordOnce } from "../../lib/gpu/kernel.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import { argmaxRows } from "../../lib/eval/metrics.ts";
import {
  classSegments,
  type LinearModel,
  modelSize,
  packModel,
  padColumns,
  paddedDim,
  planSampleChunks,
  prepareClassMean,
  prepareColumnMean,
  prepareLogits,
  prepareNcmWeights,
  prepareNormalizeRows,
  prepareSweep,
  prepareTauWeights,
  prepareTrainStep,
  unpackModel,
  workSize,
} from "../../lib/ops/classifier.ts";
import {
  classMeanRef,
  columnMeanRef,
  logitsRef,
  type ModelRef,
  normalizeRowsRef,
  sweepRef,
  tauWeightsRef,
  trainRef,
  weightNormsRef,
} from "../../lib/ops/_reference_classifier.ts";
import { assertClose, maxRelativeError, noGpu, randomArray, testGpu } from "../_gpu.ts";

/** Rows, feature dimension and classes of one check. */
interface Shape {
  n: number;
  d: number;
  c: number;
}

// Odd sizes: N and C are not multiples of the workgroup (64) or of 4; D = 13 is padded to 16.
const N = 37;
const D = 13;
const DP = paddedDim(D);
const C = 5;
const SMALL: Shape = { n: N, d: D, c: C };

// With at most 5 workgroups per grid dimension every launch of more than 5 * 64 items is folded
// into a 2-D grid (and the last grid row is partly outside the items): N = 333 rows, C * D4 = 336
// class-mean items, (N / 4) * (C / 4) = 504 blocks of logits and sweep scores, C * Dp + 2 * C4 =
// 1392 tau-weight items, T * N = 1332 sweep items, B * D4 = 1600 batch-gather items. (cRT's
// update, in blocks of 4 classes x 4 vec4 columns, has only 30 items here.)
const FOLDED: Shape = { n: 333, d: 61, c: 21 };
const FOLD_LIMIT = 5;

function report(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
) {
  console.log(`${label}: max error ${maxRelativeError(actual, expected).toExponential(2)}`);
  assertClose(actual, expected, tol, label);
}

function reportModel(
  label: string,
  shape: Shape,
  packed: ArrayLike<number>,
  expected: ModelRef,
  tol: number,
) {
  const m = unpackModel(packed, shape.c, shape.d);
  report(`${label} W`, m.weight, expected.weight, tol);
  report(`${label} b`, m.bias, expected.bias, tol);
  report(`${label} f`, m.scale, expected.scale, tol);
  // The padding of the packed layout must stay zero.
  const repacked = packModel(m, shape.c, shape.d);
  assertClose(packed, repacked, 0, `${label} padding`);
}

function randomModel(shape: Shape, seed: number, scale = 1): LinearModel {
  return {
    weight: randomArray(shape.c * shape.d, seed, -scale, scale),
    bias: randomArray(shape.c, seed + 1, -scale, scale),
    scale: randomArray(shape.c, seed + 2, 0.5, 1.5),
  };
}

async function checkLogitsAndSweep(gpu: Gpu, shape: Shape, tauCount: number) {
  const { n, d, c } = shape;
  const dp = paddedDim(d);
  const xs = randomArray(n * d, 1, -2, 2);
  const m = randomModel(shape, 2);
  m.bias[2] = 0;
  m.weight.fill(0, 3 * d, 4 * d); // class 3 has a zero weight row
  const offs = randomArray(c, 3, -1, 0);
  const x = Tensor.from(gpu, padColumns(xs, n, d), [n, dp]);
  const model = Tensor.from(gpu, packModel(m, c, d));
  const offset = Tensor.from(gpu, offs);
  const out = Tensor.empty(gpu, [n, c]);
  recordOnce(await prepareLogits(gpu, x, model, offset, out));
  report("logits", await out.read(), logitsRef(xs, d, m, c, offs), 1e-5);

  const taus = Array.from({ length: tauCount }, (_, t) => t / 10);
  const predictions = Tensor.empty(gpu, [taus.length, n], "u32");
  for (const mode of ["tau-norm", "logit-adjust"] as const) {
    const grid = { tau0: 0, step: 0.1, count: tauCount };
    recordOnce(await prepareSweep(gpu, x, model, offset, predictions, mode, grid));
    // The argmax of the reference's logits: exact, the data have no near-ties.
    const expected = argmaxRows(sweepRef(xs, d, m, c, mode, taus, offs), c);
    assertClose(await predictions.read(), expected, 0, `sweep ${mode} predictions`);
  }

  const tauModel = Tensor.empty(gpu, [modelSize(c, dp)]);
  recordOnce(await prepareTauWeights(gpu, model, tauModel, c, dp, 0.7));
  reportModel("tau weights", shape, await tauModel.read(), tauWeightsRef(m, c, d, 0.7), 1e-6);
  for (const t of [x, model, offset, out, predictions, tauModel]) t.destroy();
}

async function checkMeans(gpu: Gpu, shape: Shape) {
  const { n, d, c } = shape;
  const dp = paddedDim(d);
  const xs = randomArray(n * d, 4, -1, 3);
  const cs = randomArray(d, 5);
  xs.set(cs, 5 * d); // a row equal to the centre normalises to zero
  // Class C-1 is empty; the classes' rows interleave, so segments are not contiguous rows.
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % (c - 1));
  const x = Tensor.from(gpu, padColumns(xs, n, d), [n, dp]);
  const centre = Tensor.from(gpu, padColumns(cs, 1, d));
  const segments = Tensor.from(gpu, classSegments(labels, c));
  const unit = Tensor.empty(gpu, [n, dp]);
  recordOnce(await prepareNormalizeRows(gpu, x, centre, unit));
  report(
    "normalize rows",
    await unit.read(),
    padColumns(normalizeRowsRef(xs, d, cs), n, d),
    1e-6,
  );

  const mean = Tensor.empty(gpu, [dp]);
  recordOnce(await prepareColumnMean(gpu, x, mean));
  report("column mean", await mean.read(), padColumns(columnMeanRef(xs, d), 1, d), 1e-6);

  const means = Tensor.empty(gpu, [c, dp]);
  recordOnce(await prepareClassMean(gpu, x, segments, means));
  const meansRef = classMeanRef(xs, labels, d, c);
  report("class mean", await means.read(), padColumns(meansRef, c, d), 1e-6);

  const model = Tensor.empty(gpu, [modelSize(c, dp)]);
  recordOnce(await prepareNcmWeights(gpu, means, model, "cosine"));
  const ones = new Float64Array(c).fill(1);
  reportModel("ncm cosine", shape, await model.read(), {
    weight: normalizeRowsRef(meansRef, d),
    bias: new Float64Array(c),
    scale: ones,
  }, 1e-6);
  recordOnce(await prepareNcmWeights(gpu, means, model, "l2"));
  const norms = weightNormsRef(meansRef, c, d);
  reportModel("ncm l2", shape, await model.read(), {
    weight: meansRef.map((v) => 2 * v),
    bias: norms.map((v) => -(v ** 2) - 1),
    scale: ones,
  }, 1e-5);
  for (const t of [x, centre, segments, unit, mean, means, model]) t.destroy();
}

/**
 * `chunks`: row counts of consecutive chunks of the training rows (default one chunk);
 * `maxPairs`: the samples in chunks of whole steps of at most this many pairs (default one).
 */
async function checkTraining(
  gpu: Gpu,
  shape: Shape,
  batch: number,
  epochs: number,
  chunks = [shape.n],
  maxPairs = Infinity,
) {
  const { n: rows, d, c } = shape;
  const dp = paddedDim(d);
  const steps = epochs * Math.ceil(rows / batch);
  const xs = randomArray(rows * d, 6, -1, 1);
  const samples = new Uint32Array(2 * epochs * rows);
  const rand = randomArray(epochs * rows, 7, 0, 1);
  for (let i = 0; i < epochs * rows; i++) {
    const row = Math.floor(rand[i] * rows);
    samples[2 * i] = row;
    samples[2 * i + 1] = row % c;
  }
  const lrs = Float32Array.from(
    { length: steps },
    (_, s) => (0.1 * (1 + Math.cos((Math.PI * s) / steps))) / 2,
  );
  const offs = randomArray(c, 8, -2, 0);
  for (const mode of ["crt", "lws"] as const) {
    const init = randomModel(shape, 9, 0.3);
    if (mode === "crt") init.scale.fill(1);
    const padded = padColumns(xs, rows, d);
    let at = 0;
    const x = chunks.map((n) => {
      const t = Tensor.from(gpu, padded.subarray(at * dp, (at + n) * dp), [n, dp]);
      at += n;
      return t;
    });
    equal(at, rows);
    const parts = planSampleChunks(rows, batch, epochs, maxPairs);
    const spec = {
      x,
      samples: parts.map((p) => Tensor.from(gpu, samples.subarray(2 * p.start, 2 * p.end))),
      lr: Tensor.from(gpu, lrs),
      offset: Tensor.from(gpu, offs),
      model: Tensor.from(gpu, packModel(init, c, d)),
      velocity: Tensor.zeros(gpu, [modelSize(c, dp)]),
      work: Tensor.zeros(gpu, [workSize(batch, c)]),
      trace: Tensor.zeros(gpu, [1 + steps], "u32"),
      epochLength: rows,
      batch,
      mode,
      momentum: 0.9,
      weightDecay: mode === "crt" ? 5e-4 : 1e-3,
    };
    const step = await prepareTrainStep(gpu, spec);
    const submits = gpu.submitCount;
    for (let s = 0; s < steps; s++) step.record();
    gpu.submit();
    equal(gpu.submitCount, submits + 1);
    const ref = trainRef({
      ...spec,
      x: xs,
      dim: d,
      classes: c,
      samples,
      lr: lrs,
      offset: offs,
      model: init,
    });
    const label = `${mode} after ${steps} steps`;
    reportModel(label, shape, await spec.model.read(), ref.model, 2e-5);
    const trace = await spec.trace.read();
    equal(trace[0], steps);
    report(`${mode} losses`, new Float32Array(trace.buffer, 4, steps), ref.losses, 2e-5);
    if (parts.length > 1) {
      throws(() => step.record(), /Cannot record classifier training step: all \d+ steps/);
    }
    step.destroy();
    for (const t of [...x, ...spec.samples, ...Object.values(spec)]) {
      if (t instanceof Tensor) t.destroy();
    }
  }
}

Deno.test({
  name: "classifier kernels: logits, sweep and tau weights match the CPU reference",
  ignore: noGpu,
  async fn() {
    await checkLogitsAndSweep((await testGpu())!, SMALL, 21);
  },
});

Deno.test({
  name: "classifier kernels: normalisation, means and NCM weights match the CPU reference",
  ignore: noGpu,
  async fn() {
    await checkMeans((await testGpu())!, SMALL);
  },
});

Deno.test({
  name: "classifier kernels: cRT and LWS SGD steps in one submit match the CPU reference",
  ignore: noGpu,
  async fn() {
    // 101 rows in batches of 16: 7 steps per epoch, the last one of 5 rows.
    const gpu = (await testGpu())!;
    await checkTraining(gpu, { n: 101, d: D, c: C }, 16, 3);
    // Samples in chunks of 2 or 3 whole steps (at most 40 pairs), rows in two chunks.
    equal(planSampleChunks(101, 16, 3, 40).length, 9);
    await checkTraining(gpu, { n: 101, d: D, c: C }, 16, 3, [50, 51], 40);
  },
});

Deno.test({
  name: "classifier kernels fold grids past a small maxComputeWorkgroupsPerDimension",
  ignore: noGpu,
  async fn() {
    const gpu = await requestGpu({
      warnFallback: false,
      lowerLimits: { maxComputeWorkgroupsPerDimension: FOLD_LIMIT },
    });
    try {
      await checkLogitsAndSweep(gpu, FOLDED, 4);
      await checkMeans(gpu, FOLDED);
      await checkTraining(gpu, FOLDED, 100, 2);
      // Training rows in three chunks: each step gathers its batch from all of them.
      await checkTraining(gpu, FOLDED, 100, 2, [120, 1, 212]);
      // Past the folded grid's capacity (limit^2 workgroups) the prepare refuses clearly.
      const rows = 64 * FOLD_LIMIT ** 2 + 1;
      const x = Tensor.zeros(gpu, [rows, 4]);
      const out = Tensor.zeros(gpu, [rows, 4]);
      const centre = Tensor.zeros(gpu, [4]);
      try {
        await rejects(
          prepareNormalizeRows(gpu, x, centre, out),
          /Cannot dispatch 26 workgroups: more than the 5 x 5 a folded grid holds on this device \(limit 5 per dimension\); split the work/,
        );
      } finally {
        for (const t of [x, out, centre]) t.destroy();
      }
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "classifier kernels reject bad shapes and dtypes before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const x = Tensor.zeros(gpu, [N, DP]);
    const model = Tensor.zeros(gpu, [modelSize(C, DP)]);
    const offset = Tensor.zeros(gpu, [C]);
    const segments = Tensor.from(gpu, classSegments(new Int32Array(N), C));
    const before = gpu.dispatchCount;
    await rejects(
      prepareLogits(gpu, x, model, offset, Tensor.zeros(gpu, [N, C + 1])),
      /Cannot run classifier logits: out \(37,6\) has 222 elements but \(N, C\) = \(37, 5\) needs 185/,
    );
    await rejects(
      prepareLogits(gpu, x, Tensor.zeros(gpu, [7]), offset, Tensor.zeros(gpu, [N, C])),
      /model \(7\) has 7 elements but the model layout for \(C, D\) = \(5, 16\) needs 96/,
    );
    await rejects(
      prepareLogits(gpu, Tensor.zeros(gpu, [N, D]), model, offset, Tensor.zeros(gpu, [N, C])),
      /x \(37,13\) has 13 columns, not a positive multiple of 4; pad the rows/,
    );
    await rejects(
      prepareClassMean(gpu, x, Tensor.zeros(gpu, [2 * C + 1 + N]), Tensor.zeros(gpu, [C, DP])),
      /Cannot run class mean: segments must be u32 but tensor \(48\) is f32/,
    );
    await rejects(
      prepareClassMean(gpu, x, Tensor.zeros(gpu, [N], "u32"), Tensor.zeros(gpu, [C, DP])),
      /segments \(37\) has 37 elements but classSegments of \(N, C\) = \(37, 5\): 2C \+ 1 \+ N needs 48/,
    );
    await rejects(
      prepareClassMean(gpu, x, segments, Tensor.zeros(gpu, [C, DP + 4])),
      /out \(5,20\) has dimension 20 but x has 16/,
    );
    await rejects(
      prepareSweep(gpu, x, model, offset, Tensor.zeros(gpu, [3, N], "u32"), "tau-norm", {
        tau0: 0,
        step: 0.1,
        count: 21,
      }),
      /predictions \(3,37\) has 111 elements but \(T, N\) = \(21, 37\) needs 777/,
    );
    await rejects(
      prepareSweep(gpu, x, model, offset, Tensor.zeros(gpu, [21, N]), "tau-norm", {
        tau0: 0,
        step: 0.1,
        count: 21,
      }),
      /Cannot run tau sweep: predictions must be u32 but tensor \(21,37\) is f32/,
    );
    // Steps of batch 16 over the N rows: 16, 16 and 5 pairs per epoch.
    const trainStep = (samples: Tensor | Tensor[], steps: number, rates = steps) =>
      prepareTrainStep(gpu, {
        x,
        samples,
        lr: Tensor.zeros(gpu, [rates]),
        offset,
        model,
        velocity: Tensor.zeros(gpu, [modelSize(C, DP)]),
        work: Tensor.zeros(gpu, [workSize(16, C)]),
        trace: Tensor.zeros(gpu, [1 + steps], "u32"),
        epochLength: N,
        batch: 16,
        mode: "crt",
        momentum: 0.9,
        weightDecay: 0,
      });
    await rejects(
      trainStep(Tensor.zeros(gpu, [2 * N], "u32"), 3, 2),
      /Cannot run classifier training step: lr \(2\) has 2 elements but one rate per step \(3 steps\) needs 3/,
    );
    // Chunks of samples must each hold whole steps, and whole epochs together.
    const chunked = (sizes: number[]) =>
      trainStep(sizes.map((n) => Tensor.zeros(gpu, [n, 2], "u32")), 6);
    await rejects(
      chunked([32, 20, 22]),
      /Cannot run classifier training step: samples\[1\] has 40 elements, which are not the \(row, label\) pairs of whole steps from position 32 on \(epoch length 37, batch 16\)/,
    );
    await rejects(
      chunked([37, 16]),
      /the samples hold 53 positions, which is not whole epochs of 37 \(row, label\) pairs/,
    );
    equal(gpu.dispatchCount, before);
    deepEqual(
      [...classSegments(Int32Array.of(2, 0, 2, 1, 0), 4)],
      [0, 2, 3, 5, 5, 2, 1, 2, 0, 1, 4, 3, 0, 2],
    );
    throws(
      () => classSegments(Int32Array.of(0, 4), 4),
      /Cannot run class mean: row 1 has label 4, outside 0..3/,
    );
  },
});
