/**
 * What benchmark sections share: the row format, the context a section runs in, and timing.
 *
 * A section is a module under `scripts/bench/` exporting a {@link BenchSection}; list it in
 * `scripts/bench/registry.ts` and `deno task bench --only <name>` runs it.
 *
 * @module
 */

import { lcgUniform } from "../../lib/data/rng.ts";
import type { Gpu } from "../../lib/gpu/device.ts";
import type { TuneResult } from "../../lib/ops/tune.ts";

/** One measured figure. */
export interface BenchRow {
  /** The section that produced it (filled in by the runner). */
  section?: string;
  /** What was measured, e.g. `gemm 1024x1024x1024`. */
  name: string;
  /** The figure, e.g. GFLOP/s or images/s. */
  value: number;
  unit: string;
  /** The same figure for a reference implementation (tfjs-webgpu), when there is one. */
  peer?: number;
  /** Name of the reference implementation. */
  peerName?: string;
  /** value / peer, for figures where higher is better. */
  ratio?: number;
  /** Anything else worth printing: time per op, configuration, checks. */
  note?: string;
  /** False when a result check failed; the runner exits non-zero. */
  ok?: boolean;
}

/** What a section gets from the runner. */
export interface BenchContext {
  readonly gpu: Gpu;
  /** Fewer sizes and repetitions (smoke runs). */
  readonly quick: boolean;
  /** Progress on stderr (stdout carries the table or JSON). */
  log(message: string): void;
  /** The stage-2 section's feature shape and epochs (`--stage2-scale`, `--stage2-epochs`). */
  readonly stage2?: { scale?: string; epochs?: number };
}

/** A benchmark section: other sections (softmax, conv, training, stage 2) follow this shape. */
export interface BenchSection {
  readonly name: string;
  readonly description: string;
  /** Runs only when named (`--only`, or its own flag such as `--timings`). */
  readonly optional?: boolean;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

/** Per-operation time of repeated work. */
export interface Timing {
  /** Median ms per operation over the runs. */
  readonly ms: number;
  /** Operations per run (work queued before one wait). */
  readonly reps: number;
  /** ms per operation of every run. */
  readonly samples: readonly number[];
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times asynchronous work that `run(reps)` queues and waits for: one warm-up, then a repetition
 * count chosen so a run lasts about `targetMs` (the fixed cost of waiting, ~11 ms on lavapipe,
 * is then small against the work), then `runs` timed runs. Returns the median per operation.
 * `run` may return its own elapsed ms, to leave set-up (fresh inputs) out of the time.
 */
export async function timeRuns(
  run: (reps: number) => Promise<number | void>,
  options: { runs?: number; targetMs?: number; maxReps?: number } = {},
): Promise<Timing> {
  const runs = options.runs ?? 5;
  const targetMs = options.targetMs ?? 150;
  const maxReps = options.maxReps ?? 200;
  const timed = async (reps: number) => {
    const start = performance.now();
    const own = await run(reps);
    return typeof own === "number" ? own : performance.now() - start;
  };
  await timed(1);
  // Two points separate the per-operation cost from the fixed cost of one wait.
  const one = await timed(1);
  const perOp = one > targetMs ? one : Math.max((await timed(3) - one) / 2, one / 50, 0.005);
  const reps = Math.max(1, Math.min(maxReps, Math.ceil(targetMs / perOp)));
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await timed(reps) / reps);
  return { ms: median(samples), reps, samples };
}

/** Times recorded GPU work: `record()` once per operation, then `gpu.sync()` per run. */
export function timeGpu(
  gpu: Gpu,
  record: () => void,
  options?: { runs?: number; targetMs?: number; maxReps?: number },
): Promise<Timing> {
  return timeRuns(async (reps) => {
    for (let r = 0; r < reps; r++) record();
    await gpu.sync();
  }, options);
}

/** Seeded uniform values in [-1, 1). */
export function seeded(n: number, seed: number): Float32Array {
  return lcgUniform(n, seed);
}

/** Largest |x - y| / max(1, |y|) over two arrays. */
export function maxRelativeDifference(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < y.length; i++) {
    const d = Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i]));
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

/**
 * One row per tuning candidate of `op`: its median time over the interleaved rounds, GFLOP/s
 * when the work per call is known, and which candidate won.
 */
export function tuningRows<C>(
  op: string,
  result: TuneResult<C>,
  format: (config: C) => string,
  flop?: number,
): BenchRow[] {
  const winner = format(result.config);
  if (!result.timings) {
    return [{
      name: `${op} variant ${winner}`,
      value: NaN,
      unit: "ms",
      note: `winner (${result.source}; not timed in this run)`,
    }];
  }
  const best = Math.min(...result.timings.map((t) => t.ms ?? Infinity));
  return result.timings.map((t) => {
    const name = format(t.config);
    const won = name === winner;
    const gflops = flop !== undefined && t.ms !== null
      ? `${(flop / t.ms / 1e6).toFixed(2)} GFLOP/s, `
      : "";
    return {
      name: `${op} variant ${name}`,
      value: t.ms ?? NaN,
      unit: "ms",
      note: t.error !== undefined
        ? `rejected: ${t.error}`
        : `${won ? "WINNER, " : ""}${gflops}${(t.ms! / best).toFixed(2)}x the best, rounds ${
          t.samples.map((s) => s.toFixed(2)).join("/")
        }`,
      ok: won || t.error === undefined,
    };
  });
}
