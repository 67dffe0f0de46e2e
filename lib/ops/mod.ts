/**
 * One wrapper per kernel family. Every op validates shapes and dtypes before recording work.
 *
 * @module
 */

export * from "./elementwise.ts";
export * from "./softmax.ts";
export {
  argmax,
  channelSum,
  colSum,
  prepareArgmax,
  prepareChannelSum,
  prepareColSum,
  prepareRowSum,
  prepareSumAll,
  type RowOptions,
  type RowStrategy,
  rowStrategy,
  rowSum,
  sumAll,
  type SumOptions,
} from "./reduce.ts";
export * from "./conv2d.ts";
export * from "./batchnorm.ts";
export * from "./pool.ts";
export * from "./optim.ts";
export * from "./gemm.ts";
export * from "./tune.ts";
export * from "./classifier.ts";
