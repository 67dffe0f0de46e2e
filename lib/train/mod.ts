/**
 * Stage 1 and the whole experiment: training loop, feature extraction, schedule, checkpoints,
 * config and presets, command-line flags.
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
