/**
 * Softmax benchmark: ltkit's row softmax (and log-softmax) at 4096x1000 in GB/s, against
 * tfjs-webgpu's `tf.softmax` on the same adapter, with the ratio.
 *
 * GB/s counts bytes read and written once (rows * cols * 4 * 2) over the time per call. Each
 * run records a number of calls chosen so the run lasts about 300 ms ({@link timeRuns}), then
 * reads the last output back (tfjs: as many calls of `tf.softmax`, then `await t.data()` on the
 * last), so both sides pay one submit, one wait and one 16 MB readback per run, small against
 * the calls. Every run uses a fresh input, uploaded before the clock starts; the median over runs
 * after a warm-up is reported. Both outputs are checked against a float64 CPU softmax.
 *
 * Usage: `deno run -A scripts/bench/softmax.ts [--rows 4096] [--cols 1000] [--runs 5]
 * [--no-tfjs]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { lcgUniform } from "../../lib/data/rng.ts";
import { type Gpu, requestGpu } from "../../lib/gpu/device.ts";
import { hostGpuOptions } from "../../lib/io/_gpu_host.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import { softmaxRef } from "../../lib/ops/_reference_softmax.ts";
import { rowStrategy } from "../../lib/ops/reduce.ts";
import { prepareLogSoftmax, prepareSoftmax, softmaxRowRule } from "../../lib/ops/softmax.ts";
import { timeRuns } from "./common.ts";
import { loadTfjs, type Tfjs } from "./tfjs.ts";

/** One figure of the benchmark. */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
}

/** Options of {@link benchSoftmax}. */
export interface SoftmaxBenchOptions {
  rows?: number;
  cols?: number;
  /** Timed runs (median reported; default 5). */
  runs?: number;
  /** Also time tfjs-webgpu (default true). */
  tfjs?: boolean;
}

/** Deterministic logits in [-4, 4) for repetition `seed`. */
function logits(n: number, seed: number): Float32Array {
  return lcgUniform(n, seed, -4, 4);
}

/** Max |a - b| over the first `rowsChecked` rows (a full float64 check of 4M values is slow). */
function maxError(got: Float32Array, x: Float32Array, cols: number, rowsChecked: number): number {
  const n = rowsChecked * cols;
  const want = softmaxRef(x.subarray(0, n), rowsChecked, cols);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/** The run length both sides are timed at: long enough that one wait and readback are small. */
const TARGET_MS = 300;
const MAX_REPS = 50;

async function timeLtkit(
  gpu: Gpu,
  log: boolean,
  rows: number,
  cols: number,
  runs: number,
): Promise<{ ms: number; error: number }> {
  const x = Tensor.empty(gpu, [rows, cols]);
  const out = Tensor.empty(gpu, [rows, cols]);
  const op = await (log ? prepareLogSoftmax : prepareSoftmax)(gpu, x, out);
  let error = -1;
  let seed = 2;
  const timing = await timeRuns(async (reps) => {
    const data = logits(rows * cols, seed++);
    x.write(data);
    await gpu.sync();
    const start = performance.now();
    for (let r = 0; r < reps; r++) op.record();
    const result = await out.read();
    const elapsed = performance.now() - start;
    if (error < 0) {
      const check = log ? result.map(Math.exp) : result;
      error = maxError(check, data, cols, Math.min(rows, 256));
    }
    return elapsed;
  }, { runs, targetMs: TARGET_MS, maxReps: MAX_REPS });
  op.destroy();
  x.destroy();
  out.destroy();
  return { ms: timing.ms, error };
}

async function timeTfjs(
  tf: Tfjs["tf"],
  rows: number,
  cols: number,
  runs: number,
): Promise<{ ms: number; error: number; vendor: string }> {
  // tfjs asks for the "high-performance" adapter, as requestGpu does; its vendor says which.
  const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string } }).adapterInfo;
  let error = -1;
  let seed = 2;
  const timing = await timeRuns(async (reps) => {
    const data = logits(rows * cols, seed++);
    const x = tf.tensor2d(data, [rows, cols]);
    // Uploads x (and compiles on the first run) before the clock starts.
    const warm = tf.softmax(x);
    await warm.data();
    warm.dispose();
    const start = performance.now();
    const outs = [];
    for (let r = 0; r < reps; r++) outs.push(tf.softmax(x));
    // In-order queue: the last result being readable means every call has run.
    const result = (await outs[reps - 1].data()) as Float32Array;
    const elapsed = performance.now() - start;
    for (const t of outs) t.dispose();
    x.dispose();
    if (error < 0) error = maxError(result, data, cols, Math.min(rows, 256));
    return elapsed;
  }, { runs, targetMs: TARGET_MS, maxReps: MAX_REPS });
  return { ms: timing.ms, error, vendor: String(info?.vendor ?? "?") };
}

/**
 * Runs the softmax benchmark and returns its figures.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * const figures = await benchSoftmax(gpu);
 * assert.ok(figures.every((f) => f.name.length > 0 && Number.isFinite(f.value)));
 * ```
 */
export async function benchSoftmax(
  gpu: Gpu,
  options: SoftmaxBenchOptions = {},
): Promise<BenchFigure[]> {
  const rows = options.rows ?? 4096;
  const cols = options.cols ?? 1000;
  const runs = options.runs ?? 5;
  const shape = `${rows}x${cols}`;
  const gbps = (ms: number) => (rows * cols * 4 * 2) / ms / 1e6;
  const strategy = rowStrategy(gpu, rows, cols, (await softmaxRowRule(gpu)).config);
  const ours = await timeLtkit(gpu, false, rows, cols, runs);
  const ourLog = await timeLtkit(gpu, true, rows, cols, runs);
  const launch = `wg ${strategy.workgroupSize}, ${strategy.threadsPerRow} thread/row`;
  const figures: BenchFigure[] = [
    { name: `softmax ${shape} ltkit (${launch})`, value: gbps(ours.ms), unit: "GB/s" },
    { name: `softmax ${shape} ltkit time`, value: ours.ms, unit: "ms" },
    { name: `softmax ${shape} ltkit max error`, value: ours.error, unit: "abs" },
    { name: `log_softmax ${shape} ltkit`, value: gbps(ourLog.ms), unit: "GB/s" },
  ];
  // Loaded on demand (absent where the packages are not cached: no comparison then).
  const tfjs = options.tfjs ?? true ? await loadTfjs((m) => console.error(m)) : null;
  if (tfjs) {
    const tf = await timeTfjs(tfjs.tf, rows, cols, runs);
    const adapter = tf.vendor === gpu.adapter.vendor
      ? "same adapter"
      : `adapter vendor ${tf.vendor}, ltkit's is ${gpu.adapter.vendor}`;
    figures.push(
      {
        name: `softmax ${shape} tfjs-webgpu 4.22.0 (${adapter})`,
        value: gbps(tf.ms),
        unit: "GB/s",
      },
      { name: `softmax ${shape} tfjs-webgpu time`, value: tf.ms, unit: "ms" },
      { name: `softmax ${shape} tfjs-webgpu max error`, value: tf.error, unit: "abs" },
      { name: `softmax ${shape} ltkit / tfjs-webgpu`, value: tf.ms / ours.ms, unit: "x" },
    );
  }
  return figures;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rows: { type: "string", default: "4096" },
      cols: { type: "string", default: "1000" },
      runs: { type: "string", default: "5" },
      "no-tfjs": { type: "boolean", default: false },
    },
  });
  const gpu = await requestGpu({ warnFallback: false, ...hostGpuOptions() });
  console.log(`adapter: ${gpu.adapter.description}`);
  const figures = await benchSoftmax(gpu, {
    rows: Number(values.rows),
    cols: Number(values.cols),
    runs: Number(values.runs),
    tfjs: !values["no-tfjs"],
  });
  for (const f of figures) {
    const v = f.unit === "abs" ? f.value.toExponential(2) : f.value.toFixed(2);
    console.log(`${f.name.padEnd(60)} ${v.padStart(10)} ${f.unit}`);
  }
  gpu.destroy();
}
