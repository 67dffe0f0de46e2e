import { ok, rejects, strictEqual as equal, throws } from "node:assert/strict";
import type { Gpu } from "../../lib/gpu/device.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import type { RowStrategy } from "../../lib/ops/reduce.ts";
import {
  crossEntropyBackwardRef,
  crossEntropyForwardRef,
  softmaxRef,
} from "../../lib/ops/_reference_softmax.ts";
import {
  crossEntropyBackward,
  crossEntropyForward,
  labelsTensor,
  logSoftmax,
  prepareCrossEntropyBackward,
  prepareCrossEntropyForward,
  softmax,
  writeLabels,
} from "../../lib/ops/softmax.ts";
import { assertClose, maxRelativeError, noGpu, randomArray, testGpu } from "../_gpu.ts";

// Tolerances (relative to max(1, |expected|), float32 against the float64 reference).
const FORWARD_TOL = 5e-6;
const LOG_TOL = 1e-5;
const LOSS_TOL = 5e-6;
const GRAD_TOL = 1e-6;

// Odd shapes, none a multiple of a workgroup size; the last dimension is the row.
const SHAPES: [number, number][] = [[1, 1], [1, 7], [5, 7], [130, 10], [33, 1000], [3, 3001]];
// Forced launch shapes: one row per invocation, a few threads per row, a workgroup per row.
const STRATEGIES: Partial<RowStrategy>[] = [
  { workgroupSize: 64, threadsPerRow: 1 },
  { workgroupSize: 64, threadsPerRow: 4 },
  { workgroupSize: 256, threadsPerRow: 256 },
];

function logMax(label: string, err: number): void {
  console.log(`  ${label}: max error ${err.toExponential(2)}`);
}

/** Labels that agree with the argmax on about half of the rows, so `correct` is informative. */
function someLabels(
  x: Float32Array,
  rows: number,
  cols: number,
  offset?: Float32Array,
): Int32Array {
  const pred = crossEntropyForwardRef(x, new Int32Array(rows), rows, cols, offset).pred;
  return Int32Array.from({ length: rows }, (_, r) => (r % 2 === 0 ? pred[r] : (r * 7) % cols));
}

Deno.test({
  name: "softmax and log-softmax match the CPU reference on odd shapes, every launch shape",
  ignore: noGpu,
  async fn() {
    await checkSoftmaxShapes((await testGpu())!, STRATEGIES);
  },
});

/** Softmax and log-softmax under each strategy, every shape, vec4 and offset, vs the CPU. */
async function checkSoftmaxShapes(gpu: Gpu, strategies: readonly Partial<RowStrategy>[]) {
  for (const [rows, cols] of SHAPES) {
    // Logits around +-40: exp would overflow float32 at 89 without subtracting the row max.
    const xs = randomArray(rows * cols, rows * 31 + cols, -40, 40);
    const offs = randomArray(cols, cols, -50, 50);
    const x = Tensor.from(gpu, xs, [rows, cols]);
    const offset = Tensor.from(gpu, offs);
    const out = Tensor.empty(gpu, [rows, cols]);
    const vecs = cols % 4 === 0 ? [false, true] : [false];
    for (const strategy of strategies) {
      for (const vec4 of vecs) {
        for (const withOffset of [false, true]) {
          const tag = `(${rows},${cols}) tpr=${strategy.threadsPerRow} vec4=${vec4} ` +
            `offset=${withOffset}`;
          const o = withOffset ? { offset } : {};
          await softmax(gpu, x, out, { strategy, vec4, ...o });
          const p = softmaxRef(xs, rows, cols, withOffset ? offs : undefined);
          const got = await out.read();
          assertClose(got, p, FORWARD_TOL, `softmax ${tag}`);
          await logSoftmax(gpu, x, out, { strategy, vec4, ...o });
          const lp = softmaxRef(xs, rows, cols, withOffset ? offs : undefined, true);
          const gotLog = await out.read();
          assertClose(gotLog, lp, LOG_TOL, `log-softmax ${tag}`);
          if (strategy.threadsPerRow === 4 && withOffset) {
            logMax(`softmax ${tag}`, maxRelativeError(got, p));
            logMax(`log-softmax ${tag}`, maxRelativeError(gotLog, lp));
          }
        }
      }
    }
    x.destroy();
    offset.destroy();
    out.destroy();
  }
}

Deno.test({
  name: "subgroup reductions: softmax, log-softmax and cross-entropy match the reference",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const lanes = gpu.adapter.subgroupMinSize || 4;
    const strategies = [1, 2, lanes].map((threadsPerRow) => ({
      workgroupSize: 64,
      threadsPerRow,
      subgroups: true,
    }));
    if (!gpu.hasSubgroups) {
      // Without the feature the variant is refused up front, never silently replaced.
      const x = Tensor.zeros(gpu, [2, 3]);
      await rejects(
        softmax(gpu, x, Tensor.empty(gpu, [2, 3]), { strategy: strategies[1] }),
        /Cannot run softmax_forward with subgroups: the device lacks the "subgroups" feature/,
      );
      console.log("  no subgroups on this device: the subgroup variant is refused");
      return;
    }
    console.log(`  subgroups on this device, smallest ${lanes} lanes`);
    await checkSoftmaxShapes(gpu, strategies);
    for (const [rows, cols] of [[1, 7], [130, 10], [37, 1000], [3, 3001]]) {
      for (const strategy of strategies) {
        for (const withOffset of [false, true]) {
          await checkCrossEntropy(gpu, rows, cols, strategy, withOffset);
        }
      }
    }
    await rejects(
      softmax(gpu, Tensor.zeros(gpu, [2, 3]), Tensor.empty(gpu, [2, 3]), {
        strategy: { workgroupSize: 64, threadsPerRow: 2 * lanes, subgroups: true },
      }),
      /threads per row exceed the adapter's smallest subgroup/,
    );
  },
});

Deno.test({
  name: "online max and sum: softmax, log-softmax and cross-entropy match the reference",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const lanes = gpu.adapter.subgroupMinSize || 4;
    // Every launch shape, and the subgroup reductions where the device has them.
    const strategies: Partial<RowStrategy>[] = [
      ...STRATEGIES,
      ...(gpu.hasSubgroups ? [{ workgroupSize: 64, threadsPerRow: lanes, subgroups: true }] : []),
    ].map((strategy) => ({ ...strategy, online: true }));
    await checkSoftmaxShapes(gpu, strategies);
    for (const [rows, cols] of [[1, 1], [1, 7], [130, 10], [37, 1000], [3, 3001]]) {
      for (const strategy of strategies) {
        for (const withOffset of [false, true]) {
          await checkCrossEntropy(gpu, rows, cols, strategy, withOffset);
        }
      }
    }
    // A row whose max comes last rescales every earlier partial sum; logits near +-80 would
    // overflow or vanish without the shift.
    const cols = 1003;
    const xs = Float32Array.from({ length: 2 * cols }, (_, i) => (i % cols) * 0.16 - 80);
    const x = Tensor.from(gpu, xs, [2, cols]);
    const out = Tensor.empty(gpu, [2, cols]);
    for (const strategy of strategies) {
      await softmax(gpu, x, out, { strategy });
      assertClose(await out.read(), softmaxRef(xs, 2, cols), FORWARD_TOL, "rising row");
    }
    for (const t of [x, out]) t.destroy();
  },
});

Deno.test({
  name: "softmax handles a 100k-long row and extreme logits with the default launch shape",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const cases: [number, number, Float32Array][] = [
      [1, 100_000, randomArray(100_000, 5, -10, 10)],
      [2, 99_999, randomArray(2 * 99_999, 6, -10, 10)],
      // Huge, tiny and equal logits: a naive exp overflows or underflows every one of them.
      [
        3,
        4,
        Float32Array.from([1e4, 1e4 + 1, 1e4 - 1, 1e4, -1e4, -1e4, -1e4, -1e4, 88, 89, 90, 0]),
      ],
    ];
    for (const [rows, cols, xs] of cases) {
      const x = Tensor.from(gpu, xs, [rows, cols]);
      const out = Tensor.empty(gpu, [rows, cols]);
      await softmax(gpu, x, out);
      const got = await out.read();
      ok(got.every(Number.isFinite), `softmax (${rows},${cols}) is finite`);
      assertClose(got, softmaxRef(xs, rows, cols), FORWARD_TOL, `softmax (${rows},${cols})`);
      await logSoftmax(gpu, x, out);
      assertClose(await out.read(), softmaxRef(xs, rows, cols, undefined, true), LOG_TOL, "log");
      x.destroy();
      out.destroy();
    }
  },
});

Deno.test({
  name: "softmax and cross-entropy fold more workgroups than one grid dimension holds",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const rows = gpu.limits.maxComputeWorkgroupsPerDimension + 3;
    const cols = 3;
    const xs = randomArray(rows * cols, 77, -5, 5);
    const labs = someLabels(xs, rows, cols);
    const x = Tensor.from(gpu, xs, [rows, cols]);
    const labels = labelsTensor(gpu, labs, cols);
    const out = Tensor.empty(gpu, [rows, cols]);
    const loss = Tensor.empty(gpu, [rows]);
    const meanLoss = Tensor.empty(gpu, [1]);
    const pred = Tensor.empty(gpu, [rows], "i32");
    // One row per workgroup: more workgroups than fit along x.
    const strategy = { workgroupSize: 1, threadsPerRow: 1 };
    await softmax(gpu, x, out, { strategy });
    assertClose(await out.read(), softmaxRef(xs, rows, cols), FORWARD_TOL, "softmax, 2-D grid");
    await crossEntropyForward(gpu, x, labels, { loss, meanLoss, pred }, { strategy });
    const want = crossEntropyForwardRef(xs, labs, rows, cols);
    assertClose(await loss.read(), want.loss, LOSS_TOL, "loss, 2-D grid");
    assertClose(await pred.read(), want.pred, 0, "pred, 2-D grid");
    for (const t of [x, labels, out, loss, meanLoss, pred]) t.destroy();
  },
});

async function checkCrossEntropy(
  gpu: Gpu,
  rows: number,
  cols: number,
  strategy: Partial<RowStrategy>,
  withOffset: boolean,
): Promise<void> {
  const xs = randomArray(rows * cols, rows + 17 * cols, -6, 6);
  const offs = withOffset ? randomArray(cols, 3 * cols, -2, 2) : undefined;
  const labs = someLabels(xs, rows, cols, offs);
  const x = Tensor.from(gpu, xs, [rows, cols]);
  const offset = offs ? Tensor.from(gpu, offs) : undefined;
  const labels = labelsTensor(gpu, labs, cols);
  const loss = Tensor.empty(gpu, [rows]);
  const meanLoss = Tensor.empty(gpu, [1]);
  const pred = Tensor.empty(gpu, [rows], "i32");
  const correct = Tensor.empty(gpu, [1], "u32");
  const dlogits = Tensor.empty(gpu, [rows, cols]);
  await crossEntropyForward(gpu, x, labels, { loss, meanLoss, pred, correct }, {
    strategy,
    offset,
  });
  await crossEntropyBackward(gpu, x, labels, dlogits, { strategy, offset, scale: 3 });
  const want = crossEntropyForwardRef(xs, labs, rows, cols, offs);
  const tag = `(${rows},${cols}) tpr=${strategy.threadsPerRow} offset=${withOffset}`;
  assertClose(await loss.read(), want.loss, LOSS_TOL, `loss ${tag}`);
  assertClose(await meanLoss.read(), [want.meanLoss], LOSS_TOL, `mean loss ${tag}`);
  assertClose(await pred.read(), want.pred, 0, `pred ${tag}`);
  equal((await correct.read())[0], want.correct, `correct ${tag}`);
  const grad = crossEntropyBackwardRef(xs, labs, rows, cols, offs, 3);
  const got = await dlogits.read();
  assertClose(got, grad, GRAD_TOL, `dlogits ${tag}`);
  if (strategy.threadsPerRow === 4) logMax(`dlogits ${tag}`, maxRelativeError(got, grad));
  for (const t of [x, labels, loss, meanLoss, pred, correct, dlogits]) t.destroy();
  offset?.destroy();
}

Deno.test({
  name: "cross-entropy forward (loss, mean, argmax, correct) and backward match the reference",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const [rows, cols] of [[1, 1], [1, 7], [130, 10], [37, 1000], [3, 3001]]) {
      for (const strategy of STRATEGIES) {
        for (const withOffset of [false, true]) {
          await checkCrossEntropy(gpu, rows, cols, strategy, withOffset);
        }
      }
    }
  },
});

Deno.test("cross-entropy gradient of the reference agrees with finite differences", () => {
  // The GPU backward is compared with crossEntropyBackwardRef above; this pins that down to
  // the derivative of crossEntropyForwardRef's mean loss (offset and loss scale included).
  const rows = 3;
  const cols = 5;
  const xs = Float64Array.from(randomArray(rows * cols, 11, -3, 3));
  const offs = randomArray(cols, 12, -1, 1);
  const labs = [4, 0, 2];
  const scale = 2.5;
  const grad = crossEntropyBackwardRef(xs, labs, rows, cols, offs, scale);
  const h = 1e-6;
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const keep = xs[i];
    xs[i] = keep + h;
    const up = crossEntropyForwardRef(xs, labs, rows, cols, offs).meanLoss;
    xs[i] = keep - h;
    const down = crossEntropyForwardRef(xs, labs, rows, cols, offs).meanLoss;
    xs[i] = keep;
    worst = Math.max(worst, Math.abs((scale * (up - down)) / (2 * h) - grad[i]));
  }
  logMax("finite differences", worst);
  ok(worst < 1e-7, `finite-difference error ${worst}`);
});

Deno.test({
  name: "cross-entropy writes NaN for out-of-range labels on the GPU, never reading past a row",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const rows = 4;
    const cols = 6;
    const xs = randomArray(rows * cols, 21);
    const labs = Int32Array.from([2, 6, -1, 5]);
    const x = Tensor.from(gpu, xs, [rows, cols]);
    // Bypasses labelsTensor on purpose, as labels produced on the GPU would.
    const labels = Tensor.from(gpu, labs);
    const loss = Tensor.empty(gpu, [rows]);
    const meanLoss = Tensor.empty(gpu, [1]);
    const dlogits = Tensor.empty(gpu, [rows, cols]);
    for (const strategy of [STRATEGIES[0], STRATEGIES[2]]) {
      await crossEntropyForward(gpu, x, labels, { loss, meanLoss }, { strategy });
      await crossEntropyBackward(gpu, x, labels, dlogits, { strategy });
      const l = await loss.read();
      const want = crossEntropyForwardRef(xs, labs, rows, cols);
      ok(Number.isNaN(l[1]) && Number.isNaN(l[2]), `bad rows give NaN: ${l}`);
      assertClose([l[0], l[3]], [want.loss[0], want.loss[3]], LOSS_TOL, "good rows");
      ok(Number.isNaN((await meanLoss.read())[0]), "the mean is NaN");
      const g = await dlogits.read();
      const ref = crossEntropyBackwardRef(xs, labs, rows, cols);
      for (let i = 0; i < g.length; i++) {
        const r = Math.floor(i / cols);
        if (r === 1 || r === 2) ok(Number.isNaN(g[i]), `dlogits[${i}] is NaN`);
        else ok(Math.abs(g[i] - ref[i]) <= GRAD_TOL, `dlogits[${i}]`);
      }
    }
    for (const t of [x, labels, loss, meanLoss, dlogits]) t.destroy();
  },
});

Deno.test({
  name: "labelsTensor and writeLabels check labels on the host",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    throws(
      () => labelsTensor(gpu, Int32Array.from([0, 1, 2, 3, 4, 12]), 10),
      (e: Error) =>
        e instanceof RangeError &&
        e.message === "Cannot use labels: label 12 at index 5 is outside 0..9",
    );
    throws(() => labelsTensor(gpu, [0, -1], 10), /label -1 at index 1 is outside 0\.\.9/);
    throws(() => labelsTensor(gpu, [0, 1.5], 10), /label 1\.5 at index 1 is not an integer/);
    const t = labelsTensor(gpu, [3, 1, 4], 10);
    equal(t.dtype, "i32");
    writeLabels(t, [9, 0, 2], 10);
    assertClose(await t.read(), [9, 0, 2], 0, "written labels");
    throws(() => writeLabels(t, [1, 2, 10], 10), /label 10 at index 2 is outside 0\.\.9/);
    throws(() => writeLabels(t, [1, 2], 10), /has 3 elements but 2 labels needs 2/);
    assertClose(await t.read(), [9, 0, 2], 0, "a rejected write changes nothing");
    t.destroy();
  },
});

Deno.test({
  name: "prepared cross-entropy re-records with new data, accumulates, and changes loss scale",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const rows = 9;
    const cols = 10;
    const x = Tensor.empty(gpu, [rows, cols]);
    const labels = Tensor.empty(gpu, [rows], "i32");
    const loss = Tensor.empty(gpu, [rows]);
    const meanLoss = Tensor.zeros(gpu, [1]);
    const correct = Tensor.zeros(gpu, [1], "u32");
    const dlogits = Tensor.empty(gpu, [rows, cols]);
    const forward = await prepareCrossEntropyForward(
      gpu,
      x,
      labels,
      { loss, meanLoss, correct },
      { accumulate: true },
    );
    const backward = await prepareCrossEntropyBackward(gpu, x, labels, dlogits);
    let sumLoss = 0;
    let sumCorrect = 0;
    for (let step = 0; step < 3; step++) {
      const xs = randomArray(rows * cols, 100 + step, -3, 3);
      const labs = someLabels(xs, rows, cols);
      x.write(xs);
      writeLabels(labels, labs, cols);
      if (step === 2) backward.setScale(0.25);
      forward.record();
      backward.record();
      await gpu.sync();
      const want = crossEntropyForwardRef(xs, labs, rows, cols);
      sumLoss += want.meanLoss;
      sumCorrect += want.correct;
      const scale = step === 2 ? 0.25 : 1;
      assertClose(
        await dlogits.read(),
        crossEntropyBackwardRef(xs, labs, rows, cols, undefined, scale),
        GRAD_TOL,
        `dlogits step ${step}`,
      );
    }
    assertClose(await meanLoss.read(), [sumLoss], LOSS_TOL, "accumulated mean losses");
    equal((await correct.read())[0], sumCorrect, "accumulated correct count");
    forward.destroy();
    backward.destroy();
    for (const t of [x, labels, loss, meanLoss, correct, dlogits]) t.destroy();
  },
});

Deno.test({
  name: "softmax and cross-entropy reject bad shapes and dtypes before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const x = Tensor.zeros(gpu, [4, 6]);
    const out = Tensor.zeros(gpu, [4, 6]);
    const small = Tensor.zeros(gpu, [4, 5]);
    const xi = Tensor.zeros(gpu, [4, 6], "i32");
    const labels = Tensor.zeros(gpu, [4], "i32");
    const labelsF = Tensor.zeros(gpu, [4]);
    const labels3 = Tensor.zeros(gpu, [3], "i32");
    const loss = Tensor.zeros(gpu, [4]);
    const meanLoss = Tensor.zeros(gpu, [1]);
    const offset5 = Tensor.zeros(gpu, [5]);
    const empty = Tensor.zeros(gpu, [0, 6]);
    const noLabels = Tensor.zeros(gpu, [0], "i32");
    const before = gpu.dispatchCount;
    await rejects(
      softmax(gpu, x, small),
      /Cannot run softmax_forward: out \(4,5\) has 20 elements but logits \(4,6\) needs 24/,
    );
    await rejects(
      softmax(gpu, xi, out),
      (e: Error) =>
        e instanceof TypeError && /logits must be f32 but tensor \(4,6\) is i32/.test(e.message),
    );
    await rejects(
      softmax(gpu, x, out, { offset: offset5 }),
      /offset \(5\) has 5 values but logits \(4,6\) have 6 classes/,
    );
    await rejects(softmax(gpu, x, out, { vec4: true }), /6 classes, not a multiple of 4/);
    await rejects(
      softmax(gpu, x, out, { strategy: { threadsPerRow: 3 } }),
      /3 threads per row must be a power of two/,
    );
    await rejects(
      softmax(gpu, x, out, { strategy: { workgroupSize: 512 } }),
      /workgroup size 512 must be a power of two up to 256/,
    );
    await rejects(softmax(gpu, x, x), /"out" and "x" are the same buffer and one is written/);
    await rejects(logSoftmax(gpu, x, x.reshape([24])), /same buffer/);
    await rejects(
      crossEntropyForward(gpu, x, labels3, { loss, meanLoss }),
      /labels \(3\) has 3 elements but logits \(4,6\) needs 4/,
    );
    await rejects(
      crossEntropyForward(gpu, x, labelsF, { loss, meanLoss }),
      /labels must be i32 but tensor \(4\) is f32/,
    );
    await rejects(
      crossEntropyForward(gpu, x, labels, { loss: meanLoss, meanLoss }),
      /loss \(1\) has 1 elements but one loss per row needs 4/,
    );
    await rejects(
      crossEntropyForward(gpu, x, labels, { loss, meanLoss: loss }),
      /meanLoss \(4\) has 4 elements but the mean loss needs 1/,
    );
    await rejects(
      crossEntropyForward(gpu, x, labels, { loss, meanLoss, correct: meanLoss }),
      /correct must be u32 but tensor \(1\) is f32/,
    );
    await rejects(
      crossEntropyForward(gpu, x, labels, { loss, meanLoss, pred: loss }),
      /pred must be i32/,
    );
    await rejects(
      crossEntropyForward(gpu, empty, noLabels, { loss, meanLoss }),
      /need at least one row and one class/,
    );
    await rejects(crossEntropyBackward(gpu, x, labels, small), /dlogits \(4,5\) has 20 elements/);
    await rejects(
      crossEntropyBackward(gpu, x, labels, out, { scale: NaN }),
      /loss scale must be finite, got NaN/,
    );
    await rejects(crossEntropyBackward(gpu, x, labels, x), /same buffer/);
    equal(gpu.dispatchCount, before, "nothing was dispatched");
    const all = [x, out, small, xi, labels, labelsF, labels3, loss, meanLoss, offset5, empty];
    for (const t of [...all, noLabels]) {
      t.destroy();
    }
  },
});
