/**
 * GPU runtime: device, tensors, buffer pool and the reflected kernel loader.
 *
 * @module
 */

export * from "./device.ts";
export * from "./kernel.ts";
export * from "./tensor.ts";
