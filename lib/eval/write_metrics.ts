/**
 * Writing `metrics.json`: the file access of the metrics, kept apart from metrics.ts so that
 * computing and validating metrics needs no file system.
 *
 * @module
 */

import { writeFileAtomic } from "../io/_atomic.ts";
import type { MetricsFile } from "./metrics.ts";

/**
 * Writes `metrics.json` (two-space indented) atomically ({@link writeFileAtomic}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   groupsFor,
 *   METRICS_SCHEMA,
 *   METRICS_VERSION,
 *   type MetricsFile,
 *   splitMetrics,
 *   validateMetricsFile,
 * } from "./metrics.ts";
 * import { writeMetricsFile } from "./write_metrics.ts";
 * const { thresholds, groups } = groupsFor([500, 50, 5]);
 * const test = splitMetrics(Int32Array.of(0, 1, 0), Int32Array.of(0, 1, 2), groups);
 * const file: MetricsFile = {
 *   schema: METRICS_SCHEMA,
 *   version: METRICS_VERSION,
 *   created: "2025-01-01T12:00:00Z",
 *   kit_version: "0.1.0",
 *   source: {
 *     features: "runs/example/features",
 *     checkpoint_sha256: "0".repeat(64),
 *     profile: {},
 *     backbone: "resnet8",
 *     feature_dim: 64,
 *     class_count: 3,
 *   },
 *   train_class_counts: [500, 50, 5],
 *   shot_thresholds: thresholds,
 *   shot_groups: groups,
 *   seed: 0,
 *   settings: {},
 *   methods: {
 *     joint: { label: "Joint", wall_ms: 12, val: test, test, weight_norms: [1.2, 1, 0.8] },
 *   },
 * };
 * const dir = await Deno.makeTempDir();
 * await writeMetricsFile(`${dir}/metrics.json`, file);
 * const back = validateMetricsFile(JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`)));
 * assert.deepEqual(back, file);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeMetricsFile(path: string, file: MetricsFile): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(file, null, 2) + "\n", "metrics");
}
