/**
 * Evaluation: long-tail metrics (All as the mean of per-class accuracies, Many / Medium / Few,
 * per-class accuracy, confusion matrix, weight norms, tau curves), `metrics.json`, predictions,
 * published figures, seed summaries, the run report and SVG charts.
 *
 * A layer barrel: every public module of the layer, for the kit's own scripts and tests;
 * internal `_name.ts` modules are imported from their files, and programs import the root
 * `mod.ts`, whose list is the public API (tests/api_test.ts checks both rules).
 *
 * @module
 */

export * from "./metrics.ts";
export * from "./write_metrics.ts";
export * from "./predictions.ts";
export * from "./report.ts";
export * from "./figures.ts";
export * from "./published.ts";
export * from "./seeds.ts";
