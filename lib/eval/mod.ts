/**
 * Evaluation: long-tail metrics (All as the mean of per-class accuracies, Many / Medium / Few,
 * per-class accuracy, confusion matrix, weight norms, tau curves) and `metrics.json`.
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
