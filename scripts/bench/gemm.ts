/**
 * GEMM benchmark: GFLOP/s of ltkit's GEMM at square sizes and at the ResNet-8 backbone's shapes,
 * against tfjs-webgpu's matMul on the same adapter, with both results checked.
 *
 * @module
 */

import { Tensor } from "../../lib/gpu/tensor.ts";
import { formatGemmConfig, gemmConfig, gemmTuneProblems, prepareGemm } from "../../lib/ops/gemm.ts";
import {
  type BenchContext,
  type BenchRow,
  type BenchSection,
  maxRelativeDifference,
  seeded,
  timeGpu,
  timeRuns,
  tuningRows,
} from "./common.ts";
import { loadTfjs, type Tfjs } from "./tfjs.ts";

interface Case {
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  /** Left out of --quick runs. */
  slow?: boolean;
}

// Backbone shapes: batch 8 of 28x28 images through a 3x3 conv of 16 channels (M = 8 * 784,
// K = 9 * 16), conv backward (data and weight), and the 64 -> 10 classifier at batch 128.
const CASES: readonly Case[] = [
  { name: "square 256", m: 256, n: 256, k: 256, transA: false, transB: false },
  { name: "square 512", m: 512, n: 512, k: 512, transA: false, transB: false },
  { name: "square 1024", m: 1024, n: 1024, k: 1024, transA: false, transB: false, slow: true },
  { name: "conv fwd A.B^T", m: 6272, n: 16, k: 144, transA: false, transB: true },
  { name: "conv dgrad A.B", m: 6272, n: 144, k: 16, transA: false, transB: false },
  { name: "conv wgrad A^T.B", m: 16, n: 144, k: 6272, transA: true, transB: false },
  { name: "linear A.B^T", m: 128, n: 10, k: 64, transA: false, transB: true },
];

/** Spot-checks `c` against float64 dot products at a few positions. */
function spotCheck(c: ArrayLike<number>, a: Float32Array, b: Float32Array, x: Case): number {
  let worst = 0;
  for (let t = 0; t < 64; t++) {
    const i = (t * 7919) % x.m;
    const j = (t * 104729 + 13) % x.n;
    let sum = 0;
    for (let p = 0; p < x.k; p++) {
      const av = x.transA ? a[p * x.m + i] : a[i * x.k + p];
      const bv = x.transB ? b[j * x.k + p] : b[p * x.n + j];
      sum += av * bv;
    }
    worst = Math.max(worst, Math.abs(c[i * x.n + j] - sum) / Math.max(1, Math.abs(sum)));
    if (Number.isNaN(c[i * x.n + j])) worst = Infinity;
  }
  return worst;
}

async function timeTfjs(
  tfjs: Tfjs,
  x: Case,
  a: Float32Array,
  b: Float32Array,
  runs: number,
): Promise<{ ms: number; result: ArrayLike<number> }> {
  const { tf } = tfjs;
  const backend = tf.backend() as unknown as {
    uploadToGPU(dataId: unknown): void;
    device: GPUDevice;
  };
  const shapeA: [number, number] = x.transA ? [x.k, x.m] : [x.m, x.k];
  const shapeB: [number, number] = x.transB ? [x.n, x.k] : [x.k, x.n];
  let result: ArrayLike<number> = [];
  const timing = await timeRuns(async (reps) => {
    // Fresh inputs every run, uploaded before the clock starts.
    const ta = tf.tensor2d(a, shapeA);
    const tb = tf.tensor2d(b, shapeB);
    backend.uploadToGPU(ta.dataId);
    backend.uploadToGPU(tb.dataId);
    await backend.device.queue.onSubmittedWorkDone();
    const start = performance.now();
    const outs = [];
    for (let r = 0; r < reps; r++) outs.push(tf.matMul(ta, tb, x.transA, x.transB));
    // In-order queue: the last result being readable means every matMul has run.
    result = (await outs[outs.length - 1].data()) as ArrayLike<number>;
    const elapsed = performance.now() - start;
    tf.dispose([ta, tb, ...outs]);
    return elapsed;
  }, { runs, targetMs: 300, maxReps: 50 });
  return { ms: timing.ms, result };
}

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const { gpu } = ctx;
  // Every candidate is timed afresh (interleaved rounds, median), so the table shows them all.
  const tuning = await gemmConfig(gpu, { force: true });
  ctx.log(`gemm config: ${formatGemmConfig(tuning.config)} (${tuning.source})`);
  // The tuning time is the geometric mean over its problems, so is the work.
  const problems = gemmTuneProblems(gpu);
  const flop = Math.exp(
    problems.reduce((sum, [m, n, k]) => sum + Math.log(2 * m * n * k), 0) / problems.length,
  );
  const rows: BenchRow[] = tuningRows("gemm", tuning, formatGemmConfig, flop);
  const tfjs = await loadTfjs(ctx.log);
  const runs = ctx.quick ? 3 : 5;
  for (const [index, x] of CASES.entries()) {
    if (ctx.quick && x.slow) continue;
    const label = `${x.name} ${x.m}x${x.n}x${x.k}`;
    ctx.log(`gemm ${label}`);
    const a = seeded(x.m * x.k, 2 * index + 1);
    const b = seeded(x.k * x.n, 2 * index + 2);
    const ta = Tensor.from(gpu, a, x.transA ? [x.k, x.m] : [x.m, x.k], "f32", "bench A");
    const tb = Tensor.from(gpu, b, x.transB ? [x.n, x.k] : [x.k, x.n], "f32", "bench B");
    const tc = Tensor.empty(gpu, [x.m, x.n], "f32", "bench C");
    const plan = await prepareGemm(gpu, {
      a: ta,
      b: tb,
      c: tc,
      transA: x.transA,
      transB: x.transB,
    });
    const timing = await timeGpu(gpu, () => plan.record(), { runs, targetMs: 250 });
    const ours = await tc.read();
    const flop = 2 * x.m * x.n * x.k;
    const gflops = flop / timing.ms / 1e6;
    let ok = spotCheck(ours, a, b, x) <= 1e-4;
    const notes = [
      formatGemmConfig(plan.info.config),
      `${timing.ms.toFixed(3)} ms`,
      `x${timing.reps}`,
    ];
    if (plan.info.splits > 1) notes.push(`split-K ${plan.info.splits}`);
    if (!ok) notes.push("WRONG RESULT");
    const row: BenchRow = { name: `gemm ${label}`, value: gflops, unit: "GFLOP/s", ok };
    if (tfjs) {
      const peer = await timeTfjs(tfjs, x, a, b, runs);
      const peerGflops = flop / peer.ms / 1e6;
      const diff = maxRelativeDifference(ours, peer.result);
      const peerOk = spotCheck(peer.result, a, b, x) <= 1e-4;
      row.peer = peerGflops;
      row.peerName = tfjs.name;
      row.ratio = gflops / peerGflops;
      notes.push(`tfjs ${peer.ms.toFixed(3)} ms`, `max diff ${diff.toExponential(1)}`);
      if (!peerOk) notes.push("TFJS WRONG");
      if (!(diff <= 1e-3)) {
        ok = false;
        notes.push("RESULTS DIFFER");
      }
      row.ok = ok;
    }
    row.note = notes.join(", ");
    rows.push(row);
    plan.destroy();
    ta.destroy();
    tb.destroy();
    tc.destroy();
    gpu.submit();
  }
  return rows;
}

/** The GEMM section. */
export const gemmSection: BenchSection = {
  name: "gemm",
  description: "GEMM GFLOP/s at square and backbone shapes, against tfjs-webgpu matMul",
  run,
};
