/**
 * Stage 1 and the whole experiment: training loop, feature extraction, schedule, checkpoints,
 * config and presets, command-line flags, image sources (in memory or packed), seeds.
 *
 * A layer barrel: every public module of the layer, for the kit's own scripts and tests;
 * internal `_name.ts` modules are imported from their files, and programs import the root
 * `mod.ts`, whose list is the public API (tests/api_test.ts checks both rules).
 *
 * @module
 */

export * from "./checkpoint.ts";
export * from "./config.ts";
export * from "./experiment.ts";
export * from "./extract.ts";
export * from "./flags.ts";
export * from "./image_loader.ts";
export * from "./image_source.ts";
export * from "./packed_data.ts";
export * from "./schedule.ts";
export * from "./seeds.ts";
export * from "./stage1.ts";
