import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { requestGpu } from "../../lib/gpu/device.ts";
import { makeSyntheticFeatures } from "../../lib/features/mod.ts";
import { Stage2Context } from "../../lib/stage2/context.ts";
import { METHOD_NAMES } from "../../lib/stage2/registry.ts";
import { ncmRef } from "../../lib/ops/_reference_classifier.ts";
import { runStage2 } from "../../lib/stage2/run.ts";
import { assertClose, maxRelativeError, noGpu, testGpu } from "../_gpu.ts";

// D = 61 is padded to 64; with 13 KiB per storage binding a chunk holds 52 rows, so the 157
// training rows take 4 chunks (the last of 1 row) and val and test (60 rows each) take 2. cRT's
// samples (10 epochs of 157 (row, label) pairs, 12,560 bytes) and batch rows (40 x 64) still fit.
const SET = {
  trainCounts: [70, 40, 25, 14, 8],
  featureDim: 61,
  valPerClass: 12,
  testPerClass: 12,
  seed: 3,
  separation: 2,
};
const BINDING = 13 * 1024;

function check(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) {
  console.log(`${label}: max error ${maxRelativeError(actual, expected).toExponential(2)}`);
  assertClose(actual, expected, tol, label);
}

Deno.test({
  name: "stage 2 splits feature rows past a small maxStorageBufferBindingSize and matches the " +
    "unsplit run and the CPU reference",
  ignore: noGpu,
  async fn() {
    const whole = (await testGpu())!;
    const small = await requestGpu({
      warnFallback: false,
      lowerLimits: { maxStorageBufferBindingSize: BINDING },
    });
    try {
      const set = makeSyntheticFeatures(SET);
      const ctx = await Stage2Context.create(small, set);
      deepEqual(
        [ctx.rowsPerChunk, ctx.trainX.length, ctx.valX.length, ctx.testX.length],
        [52, 4, 2, 2],
      );
      deepEqual(ctx.trainX.map((t) => t.shape[0]), [52, 52, 52, 1]);
      ctx.destroy();
      const split = await runStage2(set, { gpu: small, seed: 4, batch: 40 });
      const unsplit = await runStage2(set, { gpu: whole, seed: 4, batch: 40 });
      for (const m of METHOD_NAMES) {
        const a = split.results[m]!;
        const b = unsplit.results[m]!;
        // Chunked sums (column and class means) round differently; everything else is the same
        // arithmetic, chunk by chunk.
        check(`${m} val logits`, a.logits.val, b.logits.val, 1e-5);
        check(`${m} test logits`, a.logits.test, b.logits.test, 1e-5);
        check(`${m} weights`, a.model.weight, b.model.weight, 1e-5);
        equal(a.tau, b.tau, `${m} chose the same tau`);
      }
      const { train, val, test } = set;
      const evalX = new Float32Array([...val.features, ...test.features]);
      for (const [name, mode] of [["ncm", "cosine"], ["ncm_l2", "l2"]] as const) {
        const ref = ncmRef(train.features, train.label, evalX, train.dim, 5, mode);
        const r = split.results[name]!;
        const scores = new Float32Array([...r.logits.val, ...r.logits.test]);
        check(`${name} split scores against the CPU reference`, scores, ref.scores, 1e-5);
      }
      ok(split.metrics.methods.crt.test.all > 0.2, "cRT learned something");
    } finally {
      small.destroy();
    }
  },
});
