import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import { requestGpu } from "../../lib/gpu/device.ts";
import { planSampleChunks } from "../../lib/ops/classifier.ts";
import { makeSyntheticFeatures } from "../../lib/features/mod.ts";
import { Stage2Context } from "../../lib/stage2/context.ts";
import { runCrt } from "../../lib/stage2/crt.ts";
import { METHOD_NAMES } from "../../lib/stage2/registry.ts";
import { ncmRef } from "../../lib/ops/_reference_classifier.ts";
import { runStage2 } from "../../lib/stage2/run.ts";
import {
  assertClose,
  bufferLimits,
  maxRelativeError,
  noGpu,
  testGpu,
  withLowerLimits,
} from "../_gpu.ts";

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

// 4 KiB per storage buffer: 16 feature rows per chunk (10 training chunks, 4 each for val and
// test), and 512 (row, label) pairs, so that cRT's 10 epochs of 157 samples (12,560 bytes) take
// 4 chunks of whole steps at batch 11 (15 steps per epoch), each ending inside an epoch.
const TINY = 4096;
const TINY_BATCH = 11;
/**
 * Methods whose numbers may differ in the last bits under the limit: NCM sums its class means
 * (and the L2 variant its centre) chunk by chunk. Every other method, trained ones included, runs
 * the same arithmetic on the same rows, only bound from other chunks, so it must match exactly.
 */
const CHUNKED_SUMS = new Set(["ncm", "ncm_l2"]);

Deno.test({
  name: "every stage-2 method runs under a 4 KiB buffer limit, its samples and rows in chunks, " +
    "and matches the unlimited run (bit for bit but NCM's chunked sums)",
  ignore: noGpu,
  async fn() {
    const whole = (await testGpu())!;
    const set = makeSyntheticFeatures(SET);
    const epochs = 10;
    const pairBytes = 8 * epochs * set.train.rows;
    ok(pairBytes > TINY, `the samples (${pairBytes} bytes) must exceed the limit`);
    const chunks = planSampleChunks(set.train.rows, TINY_BATCH, epochs, TINY / 8);
    deepEqual(chunks.map((c) => c.steps), [48, 48, 48, 6]);
    ok(chunks.slice(0, -1).every((c) => c.end % set.train.rows !== 0), "chunks end mid-epoch");
    const options = { seed: 4, batch: TINY_BATCH, epochs };
    const unlimited = await runStage2(set, { gpu: whole, ...options });
    await withLowerLimits(bufferLimits(TINY), async (small) => {
      const ctx = await Stage2Context.create(small, set);
      deepEqual([ctx.trainX.length, ctx.valX.length, ctx.testX.length], [10, 4, 4]);
      // 16 gathered rows of 64 floats fill 4 KiB: a larger batch is refused before training.
      await rejects(
        runCrt(ctx, { batch: 17, epochs: 1 }),
        /^RangeError: Cannot train stage 2 at batch 17: a step's scratch needs 4352 bytes in one storage buffer but this device holds 4096; the largest batch that fits is 16$/,
      );
      ctx.destroy();
      const limited = await runStage2(set, { gpu: small, ...options });
      deepEqual(Object.keys(limited.results), [...METHOD_NAMES]);
      for (const m of METHOD_NAMES) {
        const a = limited.results[m]!;
        const b = unlimited.results[m]!;
        equal(a.tau, b.tau, `${m} chose the same tau`);
        if (CHUNKED_SUMS.has(m)) {
          // f32 sums of up to 70 rows in a different grouping.
          check(`${m} val logits`, a.logits.val, b.logits.val, 1e-5);
          check(`${m} test logits`, a.logits.test, b.logits.test, 1e-5);
          check(`${m} weights`, a.model.weight, b.model.weight, 1e-5);
          continue;
        }
        deepEqual(a.logits, b.logits, `${m} logits`);
        deepEqual(a.model, b.model, `${m} model`);
        deepEqual(a.stepLoss, b.stepLoss, `${m} step losses`);
      }
      equal(limited.results.crt!.stepLoss!.length, 150);
    });
  },
});
