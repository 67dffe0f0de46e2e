/**
 * A small run for the report modules' JSDoc examples: three classes (one per shot group), one
 * stage-1 epoch and one stage-2 method with a tau sweep. Not part of the public API.
 *
 * @module
 */

import type { RunReport } from "./report_model.ts";

/**
 * A fresh copy of the example run, so an example may change it freely.
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
