/**
 * Per-kernel time of recorded work (one training step): every dispatch runs on its own, timed by
 * the GPU's timestamps (`timestamp-query`) where the device has them, else by the CPU around a
 * submit of that dispatch alone (less an empty submit's round trip). {@link summarizeTimings}
 * folds the times into a table per kernel family or per layer with each row's share of the step,
 * GFLOP/s and GB/s; it is pure, so the table code is tested with made-up times.
 *
 * Layers and FLOP counts come from {@link describeWork} labels (the ResNet labels its ops);
 * bytes from each dispatch's {@link Cost}.
 *
 * @module
 */

import type { CapturedDispatch, Gpu } from "./device.ts";
import { type Recordable, Sequence, workInfoOf } from "./kernel.ts";

/**
 * The time of one dispatch and what it did.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DispatchTiming } from "./_timing.ts";
 * const t: DispatchTiming = {
 *   family: "gemm",
 *   kernel: "gemm.gemm_main",
 *   layer: "head",
 *   ms: 0.5,
 *   flops: 1e6,
 *   bytes: 4e5,
 * };
 * assert.equal(t.flops / (t.ms * 1e6), 2); // GFLOP/s
 * ```
 */
export interface DispatchTiming {
  /** The kernel file's name without folder and `.wgsl`, e.g. `conv2d`. */
  family: string;
  /** `family.entry`, e.g. `conv2d.conv_forward`. */
  kernel: string;
  /** The layer from the op's label, or `(unlabelled)`. */
  layer: string;
  /** Milliseconds of GPU time. */
  ms: number;
  /** FLOPs of this dispatch (an op's count goes to its slowest dispatch). */
  flops: number;
  /** Bytes read and written. */
  bytes: number;
}

/**
 * How a step was timed and the time of each dispatch, in recording order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepTimings } from "./_timing.ts";
 * const result: StepTimings = { method: "cpu", dispatches: [], wallMs: 0 };
 * assert.equal(result.method, "cpu");
 * ```
 */
export interface StepTimings {
  /** `timestamp-query`: GPU timestamps; `cpu`: wall time around one submit per dispatch. */
  method: "timestamp-query" | "cpu";
  dispatches: DispatchTiming[];
  /** Wall time of the timed step as it was run (one dispatch at a time). */
  wallMs: number;
}

/**
 * One row of a timing table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TimingRow } from "./_timing.ts";
 * const row: TimingRow = { name: "gemm", dispatches: 3, ms: 2, share: 0.25, gflops: 5, gbps: 1 };
 * assert.equal(row.share * 100, 25);
 * ```
 */
export interface TimingRow {
  /** The family or layer. */
  name: string;
  /** Dispatches in the row. */
  dispatches: number;
  ms: number;
  /** Fraction of the step's summed dispatch time, 0..1. */
  share: number;
  /** GFLOP/s, or null when the row's kernels count no FLOPs. */
  gflops: number | null;
  /** GB/s (10^9 bytes) of compulsory traffic. */
  gbps: number;
}

/** Queries per query set; a step with more dispatches is timed in chunks. */
const MAX_QUERIES = 4096;

/**
 * Times every dispatch of `work` once, in order (so each sees the results of the ones before,
 * as in a normal step; a training step therefore updates the parameters once).
 *
 * @param gpu The device `work` records into.
 * @param work The step: sequences are opened, anything else is one op.
 * @param options `method` forces CPU timing even where timestamps exist.
 * @returns The method used and each dispatch's time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "./mod.ts";
 * import { prepareScale } from "../ops/elementwise.ts";
 * import { timeDispatches } from "./_timing.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(1024).fill(1));
 * const y = Tensor.empty(gpu, [1024]);
 * const result = await timeDispatches(gpu, await prepareScale(gpu, x, y, 2));
 * assert.deepEqual(result.dispatches.map((d) => d.family), ["elementwise"]);
 * assert.equal(result.dispatches[0].bytes, 8192);
 * assert.equal((await y.read())[0], 2);
 * gpu.destroy();
 * ```
 */
export async function timeDispatches(
  gpu: Gpu,
  work: Recordable,
  options: { method?: "auto" | "cpu" } = {},
): Promise<StepTimings> {
  const ops = captureOps(gpu, work);
  const flat = ops.flatMap((op) => op.dispatches);
  await gpu.sync();
  const useTimestamps = options.method !== "cpu" && gpu.device.features.has("timestamp-query");
  const started = performance.now();
  const ms = useTimestamps ? await timeWithTimestamps(gpu, flat) : await timeOnCpu(gpu, flat);
  const wallMs = performance.now() - started;
  gpu.throwIfFailed();
  const dispatches: DispatchTiming[] = [];
  let i = 0;
  for (const op of ops) {
    const rows = op.dispatches.map((d) => {
      const name = d.source?.pipeline.name ?? "unknown:unknown";
      const [file, entry] = name.split(":");
      const base = file.replace(/^.*\//, "").replace(/\.wgsl$/, "");
      // A variant's file (softmax_subgroup, conv2d_tiled) counts to its family; the kernel
      // column keeps the variant.
      const family = base.replace(/_(subgroup|tiled)$/, "");
      return {
        family,
        kernel: `${base}.${entry}`,
        layer: op.layer,
        ms: ms[i++],
        flops: d.source?.cost.flops ?? 0,
        bytes: d.source?.cost.bytes ?? 0,
      };
    });
    // An op's FLOP count belongs to its main kernel, the slowest of its dispatches.
    if (op.flops > 0 && rows.length > 0 && rows.every((r) => r.flops === 0)) {
      rows.reduce((a, b) => (b.ms > a.ms ? b : a)).flops = op.flops;
    }
    dispatches.push(...rows);
  }
  return { method: useTimestamps ? "timestamp-query" : "cpu", dispatches, wallMs };
}

interface CapturedOp {
  layer: string;
  flops: number;
  dispatches: CapturedDispatch[];
}

/** Opens sequences that carry no FLOP count of their own; captures everything else whole. */
function captureOps(gpu: Gpu, work: Recordable, layer = "(unlabelled)"): CapturedOp[] {
  const info = workInfoOf(work);
  const here = info?.layer ?? layer;
  if (work instanceof Sequence && !info?.flops) {
    return work.items.flatMap((item) => captureOps(gpu, item, here));
  }
  return [{ layer: here, flops: info?.flops ?? 0, dispatches: gpu.capture(() => work.record()) }];
}

/** Each dispatch in a pass of its own whose start and end the GPU stamps; one submit. */
async function timeWithTimestamps(gpu: Gpu, dispatches: CapturedDispatch[]): Promise<number[]> {
  const out: number[] = [];
  const perChunk = MAX_QUERIES / 2;
  for (let start = 0; start < dispatches.length; start += perChunk) {
    const chunk = dispatches.slice(start, start + perChunk);
    const count = 2 * chunk.length;
    const device = gpu.device;
    const querySet = device.createQuerySet({ type: "timestamp", count });
    const resolve = device.createBuffer({
      size: 8 * count,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const readback = device.createBuffer({
      size: 8 * count,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const encoder = device.createCommandEncoder({ label: "ltkit timings" });
      chunk.forEach((d, i) => {
        const pass = encoder.beginComputePass({
          timestampWrites: {
            querySet,
            beginningOfPassWriteIndex: 2 * i,
            endOfPassWriteIndex: 2 * i + 1,
          },
        });
        gpu.encodeDispatch(d, pass);
        pass.end();
      });
      encoder.resolveQuerySet(querySet, 0, count, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, readback, 0, 8 * count);
      device.queue.submit([encoder.finish()]);
      await readback.mapAsync(GPUMapMode.READ);
      const stamps = new BigInt64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      for (let i = 0; i < chunk.length; i++) {
        out.push(Math.max(0, Number(stamps[2 * i + 1] - stamps[2 * i])) / 1e6);
      }
    } finally {
      querySet.destroy();
      resolve.destroy();
      readback.destroy();
    }
  }
  return out;
}

/**
 * Wall time of a submit of each dispatch alone, less the median round trip of empty submits; a
 * kernel shorter than that round trip's noise reads 0.
 */
async function timeOnCpu(gpu: Gpu, dispatches: CapturedDispatch[]): Promise<number[]> {
  const device = gpu.device;
  const roundTrip = async (d?: CapturedDispatch) => {
    const encoder = device.createCommandEncoder({ label: "ltkit timings" });
    const pass = encoder.beginComputePass();
    if (d) gpu.encodeDispatch(d, pass);
    pass.end();
    const t0 = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  const empty: number[] = [];
  for (let i = 0; i < 5; i++) empty.push(await roundTrip());
  empty.sort((a, b) => a - b);
  const overhead = empty[2];
  const out: number[] = [];
  for (const d of dispatches) out.push(Math.max(0, (await roundTrip(d)) - overhead));
  return out;
}

/**
 * Folds dispatch times into one row per kernel family or per layer.
 *
 * @param dispatches Times of one step's dispatches.
 * @param by Group by kernel `family` or by `layer`.
 * @param order `time`: slowest first (default); `step`: in the order the step first runs them.
 * @returns Rows whose shares sum to 1 (when any time was measured).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeTimings } from "./_timing.ts";
 * const rows = summarizeTimings([
 *   { family: "conv2d", kernel: "conv2d.f", layer: "stem", ms: 3, flops: 6e6, bytes: 3e5 },
 *   { family: "batchnorm", kernel: "batchnorm.f", layer: "stem", ms: 1, flops: 0, bytes: 1e6 },
 * ], "family");
 * assert.deepEqual(rows.map((r) => [r.name, r.share, r.gflops, r.gbps]), [
 *   ["conv2d", 0.75, 2, 0.1],
 *   ["batchnorm", 0.25, null, 1],
 * ]);
 * ```
 */
export function summarizeTimings(
  dispatches: readonly DispatchTiming[],
  by: "family" | "layer",
  order: "time" | "step" = "time",
): TimingRow[] {
  const groups = new Map<
    string,
    { dispatches: number; ms: number; flops: number; bytes: number }
  >();
  let total = 0;
  for (const d of dispatches) {
    const key = d[by];
    const g = groups.get(key) ?? { dispatches: 0, ms: 0, flops: 0, bytes: 0 };
    g.dispatches++;
    g.ms += d.ms;
    g.flops += d.flops;
    g.bytes += d.bytes;
    groups.set(key, g);
    total += d.ms;
  }
  const rows = [...groups.entries()]
    .map(([name, g]) => ({
      name,
      dispatches: g.dispatches,
      ms: g.ms,
      share: total > 0 ? g.ms / total : 0,
      gflops: g.flops > 0 && g.ms > 0 ? g.flops / (g.ms * 1e6) : null,
      gbps: g.ms > 0 ? g.bytes / (g.ms * 1e6) : 0,
    }));
  return order === "step" ? rows : rows.sort((a, b) => b.ms - a.ms || (a.name < b.name ? -1 : 1));
}

/**
 * The two tables (per kernel family, slowest first; per layer, in step order) as text, with a title line saying how the step
 * was timed.
 *
 * @param timings From {@link timeDispatches}.
 * @param title What was timed, e.g. `ResNet-8 training step, batch 128`.
 * @returns Lines ready to print.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTimings } from "./_timing.ts";
 * const text = formatTimings({
 *   method: "cpu",
 *   wallMs: 5,
 *   dispatches: [{ family: "gemm", kernel: "gemm.m", layer: "fc", ms: 2, flops: 4e6, bytes: 2e6 }],
 * }, "one GEMM");
 * assert.equal(
 *   text.split("\n")[0],
 *   "one GEMM: 1 dispatches, 2.00 ms of kernel time (cpu timing; 5.0 ms wall)",
 * );
 * assert.ok(text.includes("100.0%"));
 * ```
 */
export function formatTimings(timings: StepTimings, title: string): string {
  const total = timings.dispatches.reduce((n, d) => n + d.ms, 0);
  const lines = [
    `${title}: ${timings.dispatches.length} dispatches, ${total.toFixed(2)} ms of kernel time ` +
    `(${timings.method} timing; ${timings.wallMs.toFixed(1)} ms wall)`,
  ];
  for (const by of ["family", "layer"] as const) {
    const rows = summarizeTimings(timings.dispatches, by, by === "layer" ? "step" : "time");
    const cells = rows.map((r) => [
      r.name,
      String(r.dispatches),
      r.ms.toFixed(3),
      `${(r.share * 100).toFixed(1)}%`,
      r.gflops === null ? "-" : r.gflops.toFixed(2),
      r.gbps.toFixed(2),
    ]);
    const header = [by, "dispatches", "ms", "share", "GFLOP/s", "GB/s"];
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) =>
      c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
    lines.push("", line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line));
  }
  return lines.join("\n");
}
