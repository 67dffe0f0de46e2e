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
