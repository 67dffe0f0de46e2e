/**
 * GPU runtime: device, tensors, buffer pool and the reflected kernel loader.
 *
 * @module
 */

export * from "./cache.ts";
export * from "./device.ts";
export * from "./kernel.ts";
export * from "./pool.ts";
export * from "./tensor.ts";
export * from "./timing.ts";
