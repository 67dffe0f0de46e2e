import { rejects, strictEqual as equal } from "node:assert/strict";
import { recordOnce } from "../../lib/gpu/kernel.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  type LinearModel,
  modelSize,
  packModel,
  padColumns,
  paddedDim,
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
} from "../../lib/ops/reference_classifier.ts";
import { assertClose, maxRelativeError, noGpu, randomArray, testGpu } from "../_gpu.ts";

// Odd sizes: N and C are not multiples of the workgroup (64) or of 4; D = 13 is padded to 16.
const N = 37;
const D = 13;
const DP = paddedDim(D);
const C = 5;

function report(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
) {
  console.log(`${label}: max error ${maxRelativeError(actual, expected).toExponential(2)}`);
  assertClose(actual, expected, tol, label);
}

function reportModel(label: string, packed: ArrayLike<number>, expected: ModelRef, tol: number) {
  const m = unpackModel(packed, C, D);
  report(`${label} W`, m.weight, expected.weight, tol);
  report(`${label} b`, m.bias, expected.bias, tol);
  report(`${label} f`, m.scale, expected.scale, tol);
  // The padding of the packed layout must stay zero.
  const repacked = packModel(m, C, D);
  assertClose(packed, repacked, 0, `${label} padding`);
}

function randomModel(seed: number, scale = 1): LinearModel {
  return {
    weight: randomArray(C * D, seed, -scale, scale),
    bias: randomArray(C, seed + 1, -scale, scale),
    scale: randomArray(C, seed + 2, 0.5, 1.5),
  };
}

Deno.test({
  name: "classifier kernels: logits, sweep and tau weights match the CPU reference",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const xs = randomArray(N * D, 1, -2, 2);
    const m = randomModel(2);
    m.bias[2] = 0;
    m.weight.fill(0, 3 * D, 4 * D); // class 3 has a zero weight row
    const offs = randomArray(C, 3, -1, 0);
    const x = Tensor.from(gpu, padColumns(xs, N, D), [N, DP]);
    const model = Tensor.from(gpu, packModel(m, C, D));
    const offset = Tensor.from(gpu, offs);
    const out = Tensor.empty(gpu, [N, C]);
    recordOnce(await prepareLogits(gpu, x, model, offset, out));
    report("logits", await out.read(), logitsRef(xs, D, m, C, offs), 1e-5);

    const taus = Array.from({ length: 21 }, (_, t) => t / 10);
    const swept = Tensor.empty(gpu, [taus.length, N, C]);
    for (const mode of ["tau-norm", "logit-adjust"] as const) {
      recordOnce(
        await prepareSweep(gpu, x, model, offset, swept, mode, { tau0: 0, step: 0.1, count: 21 }),
      );
      report(`sweep ${mode}`, await swept.read(), sweepRef(xs, D, m, C, mode, taus, offs), 1e-5);
    }

    const tauModel = Tensor.empty(gpu, [modelSize(C, DP)]);
    recordOnce(await prepareTauWeights(gpu, model, tauModel, C, DP, 0.7));
    reportModel("tau weights", await tauModel.read(), tauWeightsRef(m, C, D, 0.7), 1e-6);
    for (const t of [x, model, offset, out, swept, tauModel]) t.destroy();
  },
});

Deno.test({
  name: "classifier kernels: normalisation, means and NCM weights match the CPU reference",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const xs = randomArray(N * D, 4, -1, 3);
    const cs = randomArray(D, 5);
    xs.set(cs, 5 * D); // a row equal to the centre normalises to zero
    const labels = Int32Array.from({ length: N }, (_, i) => (i * 7) % (C - 1)); // class C-1 empty
    const x = Tensor.from(gpu, padColumns(xs, N, D), [N, DP]);
    const centre = Tensor.from(gpu, padColumns(cs, 1, D));
    const lab = Tensor.from(gpu, labels);
    const unit = Tensor.empty(gpu, [N, DP]);
    recordOnce(await prepareNormalizeRows(gpu, x, centre, unit));
    report(
      "normalize rows",
      await unit.read(),
      padColumns(normalizeRowsRef(xs, D, cs), N, D),
      1e-6,
    );

    const mean = Tensor.empty(gpu, [DP]);
    recordOnce(await prepareColumnMean(gpu, x, mean));
    report("column mean", await mean.read(), padColumns(columnMeanRef(xs, D), 1, D), 1e-6);

    const means = Tensor.empty(gpu, [C, DP]);
    recordOnce(await prepareClassMean(gpu, x, lab, means));
    const meansRef = classMeanRef(xs, labels, D, C);
    report("class mean", await means.read(), padColumns(meansRef, C, D), 1e-6);

    const model = Tensor.empty(gpu, [modelSize(C, DP)]);
    recordOnce(await prepareNcmWeights(gpu, means, model, "cosine"));
    const ones = new Float64Array(C).fill(1);
    reportModel("ncm cosine", await model.read(), {
      weight: normalizeRowsRef(meansRef, D),
      bias: new Float64Array(C),
      scale: ones,
    }, 1e-6);
    recordOnce(await prepareNcmWeights(gpu, means, model, "l2"));
    const norms = weightNormsRef(meansRef, C, D);
    reportModel("ncm l2", await model.read(), {
      weight: meansRef.map((v) => 2 * v),
      bias: norms.map((n) => -(n ** 2) - 1),
      scale: ones,
    }, 1e-5);
    for (const t of [x, centre, lab, unit, mean, means, model]) t.destroy();
  },
});

Deno.test({
  name: "classifier kernels: cRT and LWS SGD steps in one submit match the CPU reference",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const rows = 101;
    const batch = 16; // 7 steps per epoch, the last one of 5 rows
    const epochs = 3;
    const steps = epochs * Math.ceil(rows / batch);
    const xs = randomArray(rows * D, 6, -1, 1);
    const samples = new Uint32Array(2 * epochs * rows);
    const rand = randomArray(epochs * rows, 7, 0, 1);
    for (let i = 0; i < epochs * rows; i++) {
      const row = Math.floor(rand[i] * rows);
      samples[2 * i] = row;
      samples[2 * i + 1] = row % C;
    }
    const lrs = Float32Array.from(
      { length: steps },
      (_, s) => (0.1 * (1 + Math.cos((Math.PI * s) / steps))) / 2,
    );
    const offs = randomArray(C, 8, -2, 0);
    for (const mode of ["crt", "lws"] as const) {
      const init = randomModel(9, 0.3);
      if (mode === "crt") init.scale.fill(1);
      const x = Tensor.from(gpu, padColumns(xs, rows, D), [rows, DP]);
      const spec = {
        x,
        samples: Tensor.from(gpu, samples),
        lr: Tensor.from(gpu, lrs),
        offset: Tensor.from(gpu, offs),
        model: Tensor.from(gpu, packModel(init, C, D)),
        velocity: Tensor.zeros(gpu, [modelSize(C, DP)]),
        work: Tensor.zeros(gpu, [workSize(batch, C)]),
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
        dim: D,
        classes: C,
        samples,
        lr: lrs,
        offset: offs,
        model: init,
      });
      reportModel(`${mode} after ${steps} steps`, await spec.model.read(), ref.model, 2e-5);
      const trace = await spec.trace.read();
      equal(trace[0], steps);
      report(`${mode} losses`, new Float32Array(trace.buffer, 4, steps), ref.losses, 2e-5);
      step.destroy();
      for (const t of Object.values(spec)) if (t instanceof Tensor) t.destroy();
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
    const labels = Tensor.zeros(gpu, [N], "i32");
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
      prepareClassMean(gpu, x, Tensor.zeros(gpu, [N]), Tensor.zeros(gpu, [C, DP])),
      /Cannot run class mean: labels must be i32 but tensor \(37\) is f32/,
    );
    await rejects(
      prepareClassMean(gpu, x, labels, Tensor.zeros(gpu, [C, DP + 4])),
      /out \(5,20\) has dimension 20 but x has 16/,
    );
    await rejects(
      prepareSweep(gpu, x, model, offset, Tensor.zeros(gpu, [3, N, C]), "tau-norm", {
        tau0: 0,
        step: 0.1,
        count: 21,
      }),
      /out \(3,37,5\) has 555 elements but \(T, N, C\) = \(21, 37, 5\) needs 3885/,
    );
    await rejects(
      prepareTrainStep(gpu, {
        x,
        samples: Tensor.zeros(gpu, [2 * N], "u32"),
        lr: Tensor.zeros(gpu, [2]),
        offset,
        model,
        velocity: Tensor.zeros(gpu, [modelSize(C, DP)]),
        work: Tensor.zeros(gpu, [workSize(16, C)]),
        trace: Tensor.zeros(gpu, [4], "u32"),
        epochLength: N,
        batch: 16,
        mode: "crt",
        momentum: 0.9,
        weightDecay: 0,
      }),
      /Cannot run classifier training step: lr \(2\) has 2 elements but one rate per step \(3 steps\) needs 3/,
    );
    equal(gpu.dispatchCount, before);
  },
});
