/**
 * ltkit: long-tailed image recognition with decoupled representation and classifier
 * (Kang et al., ICLR 2020), computed in hand-written WGSL compute shaders on WebGPU.
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
export { dumpClassifier, extractFeatures } from "./lib/features/extract.ts";
export type { ExtractOptions, ExtractResult } from "./lib/features/extract.ts";
