/**
 * Where a run finds the kernel choices of the run it continues or repeats. A run records its
 * tuned choices ({@link TuningRecord}) in every checkpoint and in run.json; `--resume` reads
 * them from the run's checkpoint (else its run.json), `--from-checkpoint` from that checkpoint,
 * `--config FILE` from the run.json (else checkpoint.bin) beside FILE, and `--stage2-only` from
 * the run.json beside the feature folder. Using them again keeps the numbers of the same seed,
 * adapter and driver identical even when timing would now pick other kernels.
 *
 * @module
 */

import { dirname } from "node:path";
import type { TuningRecord } from "../ops/tune.ts";
import { loadCheckpoint } from "./checkpoint.ts";

/**
 * The flags that say which earlier run a run continues or repeats.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TuningSourceArgs } from "./_tuning.ts";
 * const args: TuningSourceArgs = { resume: false, config: "runs/a/config.json" };
 * assert.equal(args.config, "runs/a/config.json");
 * ```
 */
export interface TuningSourceArgs {
  /** `--resume`: the run folder's own checkpoint and run.json. */
  resume?: boolean;
  /** `--config FILE`. */
  config?: string | null;
  /** `--from-checkpoint FILE`. */
  fromCheckpoint?: string | null;
  /** `--stage2-only` with `--features DIR`. */
  stage2Only?: boolean;
  /** `--features DIR`. */
  features?: string | null;
}

/**
 * Finds the recorded kernel choices a run should reuse, or null when it starts afresh or the
 * earlier run recorded none (older files). A file that exists but holds a malformed record is
 * an error, so that a run never silently tunes anew.
 *
 * @param args Which earlier run this one continues or repeats.
 * @param dir This run's folder.
 * @returns The record and the file it came from, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findRecordedTuning } from "./_tuning.ts";
 * const dir = await Deno.makeTempDir();
 * const record = { adapter: "a|b", choices: { "gemm.v2": { kernel: "rb" } } };
 * await Deno.writeTextFile(`${dir}/run.json`, JSON.stringify({ tuning: record }));
 * const found = await findRecordedTuning({ config: `${dir}/config.json` }, "runs/new");
 * assert.deepEqual([found?.record.choices["gemm.v2"], found?.from === `${dir}/run.json`], [
 *   { kernel: "rb" },
 *   true,
 * ]);
 * assert.equal(await findRecordedTuning({}, dir), null); // a fresh run tunes
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function findRecordedTuning(
  args: TuningSourceArgs,
  dir: string,
): Promise<{ record: TuningRecord; from: string } | null> {
  const sources: string[] = [];
  if (args.resume) sources.push(`${dir}/checkpoint.bin`, `${dir}/run.json`);
  else if (args.fromCheckpoint) sources.push(args.fromCheckpoint);
  else if (args.config) {
    const parent = dirname(args.config);
    sources.push(`${parent}/run.json`, `${parent}/checkpoint.bin`);
  } else if (args.stage2Only && args.features) sources.push(`${dirname(args.features)}/run.json`);
  for (const path of sources) {
    const record = await readRecord(path);
    if (record) return { record, from: path };
  }
  return null;
}

async function readRecord(path: string): Promise<TuningRecord | null> {
  let value: unknown;
  try {
    value = path.endsWith(".json")
      ? JSON.parse(await Deno.readTextFile(path)).tuning
      : (await loadCheckpoint(path)).tuning;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  if (value === undefined || value === null) return null;
  const record = value as TuningRecord;
  if (
    typeof record !== "object" || typeof record.adapter !== "string" ||
    typeof record.choices !== "object" || record.choices === null
  ) {
    throw new TypeError(
      `Cannot reuse the kernel choices in ${path}: "tuning" must be { adapter, choices }, got ` +
        `${JSON.stringify(value).slice(0, 80)}; delete the field to tune afresh`,
    );
  }
  return record;
}
