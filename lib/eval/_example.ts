/**
 * Small inputs for the JSDoc examples of lib/eval: a run report and a metrics file, each of three
 * classes (one per shot group). Not part of the public API.
 *
 * @module
 */

import {
  groupsFor,
  METRICS_SCHEMA,
  METRICS_VERSION,
  type MetricsFile,
  splitMetrics,
} from "./metrics.ts";
import type { RunReport } from "./_report_model.ts";

/**
 * A fresh copy of the example run (one stage-1 epoch, one stage-2 method with a tau sweep), so an
 * example may change it freely.
 *
 * @returns A valid {@link RunReport} named "example".
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * const report = exampleRunReport();
 * assert.equal(report.classes.length, report.trainCounts.length);
 * ```
 */
export function exampleRunReport(): RunReport {
  return {
    name: "example",
    createdAt: "2025-01-01T12:00:00Z",
    adapter: "llvmpipe (software fallback)",
    preset: "smoke",
    presetReason: "chosen with --preset",
    config: { seed: 0 },
    timings: [{ stage: "total", seconds: 42 }],
    stage1History: [{
      epoch: 1,
      loss: 1.1,
      accuracy: 0.6,
      lr: 0.05,
      seconds: 20,
      imagesPerSecond: 400,
    }],
    classes: ["shirt", "bag", "boot"],
    trainCounts: [500, 50, 5],
    groups: ["many", "medium", "few"],
    thresholds: { many: 100, few: 20 },
    methods: [{
      name: "tau",
      label: "τ-norm (τ=1.0)",
      all: 0.7,
      many: 0.9,
      medium: 0.7,
      few: 0.5,
      perClass: [0.9, 0.7, 0.5],
      weightNorms: [1, 1, 1],
      chosenTau: 1,
      tauCurve: { tau: [0, 1, 2], valAccuracy: [0.6, 0.7, 0.65] },
      seconds: 0.2,
    }],
  };
}

/**
 * A fresh copy of an example `metrics.json`: 500, 50 and 5 training images per class, one method
 * (Joint) that gets two of three test images right.
 *
 * @returns A valid {@link MetricsFile}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleMetricsFile } from "./_example.ts";
 * assert.deepEqual(exampleMetricsFile().methods.joint.test.per_class, [1, 1, 0]);
 * ```
 */
export function exampleMetricsFile(): MetricsFile {
  const { thresholds, groups } = groupsFor([500, 50, 5]);
  const test = splitMetrics(Int32Array.of(0, 1, 0), Int32Array.of(0, 1, 2), groups);
  return {
    schema: METRICS_SCHEMA,
    version: METRICS_VERSION,
    created: "2025-01-01T12:00:00Z",
    kit_version: "0.1.0",
    source: {
      features: "runs/example/features",
      checkpoint_sha256: "0".repeat(64),
      profile: {},
      backbone: "resnet8",
      feature_dim: 64,
      class_count: 3,
    },
    train_class_counts: [500, 50, 5],
    shot_thresholds: thresholds,
    shot_groups: groups,
    seed: 0,
    settings: {},
    methods: {
      joint: { label: "Joint", wall_ms: 12, val: test, test, weight_norms: [1.2, 1, 0.8] },
    },
  };
}
