/**
 * The report's input from stage 2's `metrics.json`: {@link fromMetrics} maps the file and what
 * the run knows ({@link RunInfo}) into a {@link RunReport}.
 *
 * @module
 */

import { methodRow } from "../stage2/registry.ts";
import type { MetricsFile } from "./metrics.ts";
import type { PublishedProtocol } from "./published.ts";
import { formatTau } from "./_report_format.ts";
import type { EpochRecord } from "../train/stage1.ts";
import type { MethodReport, RunReport, StageTiming } from "./_report_model.ts";

/**
 * What the run knows that `metrics.json` does not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RunInfo } from "./_report_from_metrics.ts";
 * const run: RunInfo = {
 *   name: "cpu-20250101-120000",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "cpu",
 *   presetReason: "software adapter",
 *   config: { seed: 0 },
 *   classes: ["shirt", "bag", "boot"],
 * };
 * assert.deepEqual(run.timings ?? [], []);
 * ```
 */
export interface RunInfo {
  /** Run name (the folder under runs/). */
  name: string;
  /** Default: the metrics' `created`. */
  createdAt?: string;
  /** The WebGPU adapter, saying whether it is a software fallback. */
  adapter: string;
  /** Preset name. */
  preset: string;
  /** Why this preset was used. */
  presetReason: string;
  /** The resolved configuration (any JSON value). */
  config: unknown;
  /** Wall time of each stage (default none). */
  timings?: StageTiming[];
  /** Stage-1 epochs (default none). */
  stage1History?: EpochRecord[];
  /** Class names; default the profile's `classNames`, else the class index. */
  classes?: readonly string[];
  /** Free-form remarks. */
  notes?: string[];
  /** The published protocol the run follows (lib/eval/published.ts), if any. */
  published?: PublishedProtocol | null;
}

/**
 * Maps stage 2's `metrics.json` (lib/eval/metrics.ts) and what the run knows into a
 * {@link RunReport}. Methods keep the file's order; a method whose row in the stage-2 table has
 * a tau curve (tau-norm, logit adjustment) gets the chosen tau in its label.
 *
 * @param metrics The parsed metrics file.
 * @param run Name, adapter, preset, config, timings and stage-1 history of the run.
 * @returns The report input.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleMetricsFile } from "./_example.ts";
 * import { fromMetrics } from "./_report_from_metrics.ts";
 * const file = exampleMetricsFile();
 * const report = fromMetrics(file, {
 *   name: "example",
 *   adapter: "llvmpipe",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: {},
 * });
 * assert.deepEqual(report.classes, ["class 0", "class 1", "class 2"]);
 * assert.equal(report.methods[0].all.toFixed(4), "0.6667");
 * ```
 */
export function fromMetrics(metrics: MetricsFile, run: RunInfo): RunReport {
  const counts = [...metrics.train_class_counts];
  const profileNames = metrics.source?.profile?.classNames;
  const classes = run.classes
    ? [...run.classes]
    : Array.isArray(profileNames) && profileNames.length === counts.length &&
        profileNames.every((n) => typeof n === "string")
    ? profileNames as string[]
    : counts.map((_, c) => `class ${c}`);
  const methods = Object.entries(metrics.methods).map(([name, m]): MethodReport => {
    const tau = m.tau ?? null;
    const row = methodRow(name);
    let label = row?.style.label ?? m.label;
    if (row?.tauCurve && tau !== null) label = `${label} (τ=${formatTau(tau)})`;
    return {
      name,
      label,
      all: m.test.all,
      many: m.test.many,
      medium: m.test.medium,
      few: m.test.few,
      perClass: [...m.test.per_class],
      weightNorms: m.weight_norms && m.weight_norms.length > 0 ? [...m.weight_norms] : null,
      chosenTau: tau,
      tauCurve: m.tau_curve && m.tau_curve.length > 0
        ? { tau: m.tau_curve.map((p) => p.tau), valAccuracy: m.tau_curve.map((p) => p.val_all) }
        : null,
      seconds: m.wall_ms / 1000,
      calibration: m.calibration ?? null,
    };
  });
  return {
    name: run.name,
    createdAt: run.createdAt ?? metrics.created,
    adapter: run.adapter,
    preset: run.preset,
    presetReason: run.presetReason,
    config: run.config,
    timings: run.timings ?? [],
    stage1History: run.stage1History ?? [],
    classes,
    trainCounts: counts,
    groups: [...metrics.shot_groups],
    thresholds: { ...metrics.shot_thresholds },
    methods,
    published: run.published ?? null,
    notes: metrics.skipped
      ? [
        ...(run.notes ?? []),
        ...Object.entries(metrics.skipped).map(([m, why]) => `Skipped ${m}: ${why}.`),
      ]
      : run.notes,
  };
}
