/**
 * GPU runtime: device, tensors and the reflected kernel loader (the buffer pool, the typed
 * device cache and per-dispatch timing are internal: `_pool.ts`, `_cache.ts`, `_timing.ts`).
 *
 * A layer barrel: every public module of the layer, for the kit's own scripts and tests;
 * internal `_name.ts` modules are imported from their files, and programs import the root
 * `mod.ts`, whose list is the public API (tests/api_test.ts checks both rules).
 *
 * @module
 */

export * from "./device.ts";
export * from "./kernel.ts";
export * from "./tensor.ts";
