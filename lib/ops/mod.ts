/**
 * One wrapper per kernel family. Every op validates shapes and dtypes before recording work.
 *
 * A layer barrel: every public module of the layer, for the kit's own scripts and tests;
 * internal `_name.ts` modules are imported from their files, and programs import the root
 * `mod.ts`, whose list is the public API (tests/api_test.ts checks both rules).
 *
 * @module
 */

export * from "./elementwise.ts";
export * from "./softmax.ts";
export {
  argmax,
  channelSum,
  colSum,
  FALLBACK_ROW_RULES,
  formatRowRule,
  GPU_ROW_RULES,
  prepareArgmax,
  prepareChannelSum,
  prepareColSum,
  prepareRowSum,
  prepareSumAll,
  reduceRowRule,
  ROW_RULE_TUNE_KEYS,
  type RowOptions,
  type RowRule,
  rowRuleCandidates,
  type RowStrategy,
  rowStrategy,
  rowSum,
  SUBGROUP_ROW_RULES,
  sumAll,
  type SumOptions,
} from "./reduce.ts";
export * from "./conv2d.ts";
export * from "./conv2d_grouped.ts";
export * from "./batchnorm.ts";
export * from "./pool.ts";
export * from "./shortcut.ts";
export * from "./optim.ts";
export * from "./gemm.ts";
export * from "./tune.ts";
export * from "./classifier.ts";
export * from "./augment.ts";
