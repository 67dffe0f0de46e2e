/**
 * ltkit: long-tailed image recognition with decoupled representation and classifier
 * (Kang et al., ICLR 2020), computed in hand-written WGSL compute shaders on WebGPU.
 *
 * @example Stage 2 on a feature folder (here a small synthetic one)
 * ```ts
 * import { formatMetricsTable, makeSyntheticFeatures, requestGpu, runStage2 } from "./mod.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [600, 60, 6],
 *   featureDim: 8,
 *   shotThresholds: { many: 100, few: 20 },
 * });
 * const { metrics } = await runStage2(features, { methods: ["joint", "crt", "tau"], gpu });
 * console.log(formatMetricsTable(metrics)); // test All / Many / Medium / Few per method
 * gpu.destroy();
 * ```
 *
 * @module
 */

export * from "./lib/gpu/mod.ts";
export * from "./lib/ops/mod.ts";
export * from "./lib/data/mod.ts";
export * from "./lib/features/mod.ts";
export * from "./lib/stage2/mod.ts";
export * from "./lib/eval/mod.ts";
export * from "./lib/nn/mod.ts";
export * from "./lib/train/mod.ts";
