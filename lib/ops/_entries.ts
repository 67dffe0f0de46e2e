/**
 * Entry tables of the kernel families: the compute entry points each `kernels/*.wgsl` file
 * declares, by the name its wrapper uses. A family's {@link KernelSource} carries its table, so
 * `getPipeline` accepts only those entry points (a typo fails type checking); and
 * `tests/gpu/entries_test.ts` checks every table against the entry points reflected from the
 * WGSL, both ways.
 *
 * @module
 */

import type { KernelSource } from "../gpu/kernel.ts";

/** `kernels/augment.wgsl`. */
export const AUGMENT_ENTRIES = { augment: "augment" } as const;

/** `kernels/batchnorm.wgsl` (and its subgroup variant); `_vec4` entries need H*W % 4 == 0. */
export const BATCHNORM_ENTRIES = {
  stats: "bn_stats",
  stats_vec4: "bn_stats_vec4",
  eval_coef: "bn_eval_coef",
  apply: "bn_apply",
  apply_vec4: "bn_apply_vec4",
  backward_reduce: "bn_backward_reduce",
  backward_reduce_vec4: "bn_backward_reduce_vec4",
  backward_apply: "bn_backward_apply",
  backward_apply_vec4: "bn_backward_apply_vec4",
} as const;

/** `kernels/classifier.wgsl`: the stage-2 classifier family. */
export const CLASSIFIER_ENTRIES = {
  logits: "logits",
  sweep: "sweep",
  tau_weights: "tau_weights",
  normalize_rows: "normalize_rows",
  column_mean: "column_mean",
  class_mean: "class_mean",
  ncm_weights: "ncm_weights",
  train_forward: "train_forward",
  train_update: "train_update",
  train_finish: "train_finish",
  sweep_base: "sweep_base",
  weight_norms: "weight_norms",
  gather_batch: "gather_batch",
} as const;

/** `kernels/conv2d.wgsl`. */
export const CONV2D_ENTRIES = {
  pack_forward: "pack_weight_forward",
  pack_backward: "pack_weight_backward",
  forward: "conv2d_forward",
  backward_input: "conv2d_backward_input",
  backward_weight: "conv2d_backward_weight",
  backward_weight_channels: "conv2d_backward_weight_channels",
  reduce_weight: "conv2d_reduce_weight",
} as const;

/** `kernels/conv2d_tiled.wgsl`: one entry, its pass picked by the MODE constant. */
export const CONV2D_TILED_ENTRIES = { tiled: "conv2d_tiled" } as const;

/** `kernels/conv2d_grouped.wgsl`: plain and register-tiled (`_tile`) passes. */
export const GROUPED_ENTRIES = {
  forward: "conv2d_grouped_forward",
  backward_input: "conv2d_grouped_backward_input",
  backward_weight: "conv2d_grouped_backward_weight",
  reduce_weight: "conv2d_grouped_reduce_weight",
  pack_forward: "conv2d_grouped_pack_forward",
  pack_backward: "conv2d_grouped_pack_backward",
  forward_tile: "conv2d_grouped_forward_tile",
  backward_input_tile: "conv2d_grouped_backward_input_tile",
  backward_weight_tile: "conv2d_grouped_backward_weight_tile",
} as const;

/** `kernels/elementwise.wgsl`. */
export const ELEMENTWISE_ENTRIES = {
  fill: "fill",
  scale: "scale",
  add: "add",
  accumulate: "accumulate",
  add_relu: "add_relu",
  relu_forward: "relu_forward",
  relu_backward: "relu_backward",
} as const;

/** `kernels/gemm.wgsl`. */
export const GEMM_ENTRIES = {
  rb: "gemm_rb",
  lanes: "gemm_lanes",
  tiled: "gemm_tiled",
  pad: "pad_rows",
  epilogue: "gemm_epilogue",
  epilogue_vec4: "gemm_epilogue_vec4",
} as const;

/** `kernels/optim.wgsl`. */
export const OPTIM_ENTRIES = {
  sgd_update: "sgd_update",
  sgd_advance: "sgd_advance",
  nonfinite_clear: "nonfinite_clear",
  nonfinite_check: "nonfinite_check",
} as const;

/** `kernels/pool.wgsl`; `_vec4` entries need H*W % 4 == 0. */
export const POOL_ENTRIES = {
  avg_forward: "avgpool_forward",
  avg_forward_vec4: "avgpool_forward_vec4",
  avg_backward: "avgpool_backward",
  avg_backward_vec4: "avgpool_backward_vec4",
  max_forward: "maxpool_forward",
  max_backward: "maxpool_backward",
} as const;

/** `kernels/reduce.wgsl` (and its subgroup variant). */
export const REDUCE_ENTRIES = {
  row_sum: "row_sum",
  argmax_rows: "argmax_rows",
  col_sum: "col_sum",
  channel_sum: "channel_sum",
  sum_partial: "sum_partial",
} as const;

/** `kernels/shortcut.wgsl`. */
export const SHORTCUT_ENTRIES = {
  pad_forward: "shortcut_pad_forward",
  pad_backward: "shortcut_pad_backward",
} as const;

/** `kernels/softmax.wgsl` (and its subgroup variant); `_vec4` entries need cols % 4 == 0. */
export const SOFTMAX_ENTRIES = {
  softmax: "softmax_forward",
  log_softmax: "log_softmax_forward",
  softmax_vec4: "softmax_forward_vec4",
  log_softmax_vec4: "log_softmax_forward_vec4",
  cross_entropy_forward: "cross_entropy_forward",
  cross_entropy_backward: "cross_entropy_backward",
  finalize: "cross_entropy_finalize",
} as const;

/** Every family's file and table, for the reflection test. */
export const ENTRY_TABLES: readonly { file: string; entries: Readonly<Record<string, string>> }[] =
  [
    { file: "kernels/augment.wgsl", entries: AUGMENT_ENTRIES },
    { file: "kernels/batchnorm.wgsl", entries: BATCHNORM_ENTRIES },
    { file: "kernels/classifier.wgsl", entries: CLASSIFIER_ENTRIES },
    { file: "kernels/conv2d.wgsl", entries: CONV2D_ENTRIES },
    { file: "kernels/conv2d_tiled.wgsl", entries: CONV2D_TILED_ENTRIES },
    { file: "kernels/conv2d_grouped.wgsl", entries: GROUPED_ENTRIES },
    { file: "kernels/elementwise.wgsl", entries: ELEMENTWISE_ENTRIES },
    { file: "kernels/gemm.wgsl", entries: GEMM_ENTRIES },
    { file: "kernels/optim.wgsl", entries: OPTIM_ENTRIES },
    { file: "kernels/pool.wgsl", entries: POOL_ENTRIES },
    { file: "kernels/reduce.wgsl", entries: REDUCE_ENTRIES },
    { file: "kernels/shortcut.wgsl", entries: SHORTCUT_ENTRIES },
    { file: "kernels/softmax.wgsl", entries: SOFTMAX_ENTRIES },
  ];

/**
 * A family's kernel source typed by its entry table.
 *
 * @param file Repository-relative path of the WGSL file.
 * @param source Its text.
 * @param entries The family's entry table.
 * @returns The source for `getPipeline`.
 */
export function family<E extends string>(
  file: string,
  source: string,
  entries: Readonly<Record<string, E>>,
): KernelSource<E> {
  return { file, source, entries };
}
