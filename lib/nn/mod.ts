/**
 * Networks: ResNet descriptions and their plans, the backbone table, step memory, and the GPU
 * ResNet with its explicit backward.
 *
 * @module
 */

export * from "./resnet.ts";
export * from "./spec.ts";
export * from "./backbones.ts";
export * from "./memory.ts";
export * from "./microbatch.ts";
