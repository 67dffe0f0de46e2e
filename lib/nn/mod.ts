/**
 * Networks: ResNet descriptions and their plans, the backbone table, step memory, and the GPU
 * ResNet with its explicit backward.
 *
 * A layer barrel: every public module of the layer, for the kit's own scripts and tests;
 * internal `_name.ts` modules are imported from their files, and programs import the root
 * `mod.ts`, whose list is the public API (tests/api_test.ts checks both rules).
 *
 * @module
 */

export * from "./resnet.ts";
export * from "./spec.ts";
export * from "./backbones.ts";
export * from "./memory.ts";
export * from "./microbatch.ts";
