/**
 * SGD with momentum (PyTorch semantics: `v = momentum v + (g + weightDecay p); p -= lr v`,
 * dampening 0, no Nesterov), fused into one pass, plus a non-finite gradient check.
 *
 * ```
 * prepareSgdFlat(gpu, { params, grads, velocity, count?, momentum, weightDecay, lr? | schedule? })
 * prepareSgd(gpu, { params: Tensor[], grads: Tensor[], velocities: Tensor[], ... })
 * prepareNonFiniteCheck(gpu, { tensors, flag })
 * ```
 *
 * The learning rate lives on the GPU: with `lr`, a one-value table the host rewrites with
 * `setLr` between submits (one small queue write); with `schedule`, the whole per-step table is
 * uploaded once and a GPU step counter advances after every update, so a training loop writes
 * nothing per step (`setStep` resumes mid-schedule).
 *
 * @module
 */

import source from "../../kernels/optim.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import {
  Dispatch,
  getPipeline,
  grid1d,
  type Recordable,
  recordOnce,
  type Sequence,
} from "../gpu/kernel.ts";
import { formatShape, Tensor } from "../gpu/tensor.ts";
import { checkDType } from "./_check.ts";
import { prepareSteps } from "./_prepare.ts";
import { family, OPTIM_ENTRIES } from "./_entries.ts";

const OPTIM = family("kernels/optim.wgsl", source, OPTIM_ENTRIES);
const WG = 64;
/** vec4s (or values, for the check) per invocation. */
const PER = 4;

/**
 * Hyper-parameters and learning-rate source shared by the SGD variants.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareSgdFlat, type SgdOptions } from "./optim.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const params = Tensor.from(gpu, [1]);
 * const grads = Tensor.from(gpu, [1]);
 * const velocity = Tensor.zeros(gpu, [1]);
 * const options: SgdOptions = { momentum: 0, weightDecay: 0, schedule: [0.5, 0.25] };
 * const sgd = await prepareSgdFlat(gpu, { params, grads, velocity, ...options });
 * sgd.record(); // lr 0.5
 * sgd.record(); // lr 0.25: the GPU step counter advanced
 * assert.deepEqual(Array.from(await params.read()), [0.25]);
 * assert.deepEqual(Array.from(await sgd.step.read()), [2]);
 * sgd.destroy();
 * gpu.destroy();
 * ```
 */
export interface SgdOptions {
  /** Momentum factor (0.9 in the recipe); 0 gives plain SGD. */
  momentum: number;
  /** L2 weight decay added to the gradient (5e-4 in the recipe). */
  weightDecay: number;
  /** Constant learning rate until {@link SgdOp.setLr} changes it (default 0). */
  lr?: number;
  /**
   * Per-step learning rates: update k uses `schedule[min(k, length - 1)]`, k counted on the GPU
   * from 0 (or from {@link SgdOp.setStep}). Exclusive with `lr`.
   */
  schedule?: ArrayLike<number>;
}

/**
 * Arguments of {@link prepareSgdFlat}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type SgdFlatArgs, sgdFlat } from "./optim.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: SgdFlatArgs = {
 *   params: Tensor.from(gpu, [1, 2, 3]),
 *   grads: Tensor.from(gpu, [1, 1, 1]),
 *   velocity: Tensor.zeros(gpu, [3]),
 *   count: 2, // leave the last element alone
 *   lr: 0.5,
 *   momentum: 0.9,
 *   weightDecay: 0,
 * };
 * await sgdFlat(gpu, args);
 * assert.deepEqual(Array.from(await args.params.read()), [0.5, 1.5, 3]);
 * gpu.destroy();
 * ```
 */
export interface SgdFlatArgs extends SgdOptions {
  /** All parameters in one flat buffer, updated in place. */
  params: Tensor;
  /** Their gradients, same layout. */
  grads: Tensor;
  /** Momentum buffer, same layout, updated in place (start from zeros). */
  velocity: Tensor;
  /** Elements to update from the start of each buffer (default params.size). */
  count?: number;
}

/**
 * Arguments of {@link prepareSgd}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareSgd, type SgdArgs } from "./optim.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: SgdArgs = {
 *   params: [Tensor.from(gpu, [1, 1]), Tensor.from(gpu, [2])],
 *   grads: [Tensor.from(gpu, [1, 1]), Tensor.from(gpu, [2])],
 *   velocities: [Tensor.zeros(gpu, [2]), Tensor.zeros(gpu, [1])],
 *   lr: 0.5,
 *   momentum: 0,
 *   weightDecay: 0,
 * };
 * const sgd = await prepareSgd(gpu, args);
 * sgd.record();
 * assert.deepEqual(Array.from(await args.params[1].read()), [1]);
 * sgd.destroy();
 * gpu.destroy();
 * ```
 */
export interface SgdArgs extends SgdOptions {
  /** Parameter tensors, updated in place. */
  params: readonly Tensor[];
  /** Their gradients, one per parameter and of the same size. */
  grads: readonly Tensor[];
  /** Momentum buffers, one per parameter and of the same size (start from zeros). */
  velocities: readonly Tensor[];
}

/**
 * A prepared SGD step: record it every step; change the learning rate without rebuilding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareSgdFlat, type SgdOp } from "./optim.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const params = Tensor.from(gpu, [1, 2]);
 * const grads = Tensor.from(gpu, [1, 2]);
 * const velocity = Tensor.zeros(gpu, [2]);
 * const sgd: SgdOp = await prepareSgdFlat(gpu, {
 *   params,
 *   grads,
 *   velocity,
 *   momentum: 0.5,
 *   weightDecay: 0,
 * });
 * sgd.setLr(0.5);
 * sgd.record(); // v = g, p -= 0.5 v
 * assert.deepEqual(Array.from(await params.read()), [0.5, 1]);
 * sgd.record(); // v = 0.5 v + g
 * assert.deepEqual(Array.from(await params.read()), [-0.25, -0.5]);
 * sgd.destroy();
 * gpu.destroy();
 * ```
 */
export interface SgdOp extends Recordable {
  /**
   * Sets the constant learning rate used by the next recordings (not with `schedule`). Work
   * already recorded but not submitted is submitted first, so it keeps the old rate.
   */
  setLr(lr: number): void;
  /** Sets the GPU step counter (the index into `schedule`), e.g. when resuming. */
  setStep(step: number): void;
  /** The learning-rate table on the GPU (one value without a schedule). */
  readonly lrs: Tensor;
  /** The step counter on the GPU, (1) u32. */
  readonly step: Tensor;
}

function checkHyper(op: string, o: SgdOptions): Float32Array {
  for (const [name, v] of [["momentum", o.momentum], ["weightDecay", o.weightDecay]] as const) {
    if (!(Number.isFinite(v) && v >= 0)) {
      throw new RangeError(`Cannot run ${op}: ${name} must be a finite number >= 0, got ${v}`);
    }
  }
  if (o.schedule !== undefined && o.lr !== undefined) {
    throw new RangeError(`Cannot run ${op}: give either lr or schedule, not both`);
  }
  const table = Float32Array.from(o.schedule ?? [o.lr ?? 0]);
  if (table.length === 0) throw new RangeError(`Cannot run ${op}: the schedule is empty`);
  table.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      throw new RangeError(`Cannot run ${op}: learning rate ${v} at step ${i} is not finite`);
    }
  });
  return table;
}

function checkTriple(op: string, params: Tensor, grads: Tensor, velocity: Tensor, count: number) {
  const all = { params, grads, velocity };
  for (const [name, t] of Object.entries(all)) {
    checkDType(op, name, t, "f32");
    if (t.size < count) {
      throw new RangeError(
        `Cannot run ${op}: ${name} ${t.label} ${formatShape(t.shape)} has ${t.size} elements, ` +
          `fewer than the ${count} to update`,
      );
    }
  }
  if (params.buffer === grads.buffer || params.buffer === velocity.buffer) {
    throw new RangeError(`Cannot run ${op}: params must not share a buffer with grads or velocity`);
  }
  if (grads.buffer === velocity.buffer) {
    throw new RangeError(`Cannot run ${op}: grads and velocity share a buffer`);
  }
}

class Sgd implements SgdOp {
  readonly lrs: Tensor;
  readonly step: Tensor;
  readonly #steps: Sequence;
  readonly #scheduled: boolean;

  /** Takes ownership of `steps`, which owns `lrs` and `step` as scratch. */
  constructor(lrs: Tensor, step: Tensor, steps: Sequence, scheduled: boolean) {
    this.lrs = lrs;
    this.step = step;
    this.#steps = steps;
    this.#scheduled = scheduled;
  }

  record(): void {
    this.#steps.record();
  }

  setLr(lr: number): void {
    if (this.#scheduled) {
      throw new RangeError("Cannot set the learning rate: this SGD step follows a schedule");
    }
    if (!Number.isFinite(lr)) throw new RangeError(`Cannot set the learning rate to ${lr}`);
    this.lrs.write(Float32Array.of(lr));
  }

  setStep(step: number): void {
    if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) {
      throw new RangeError(`Cannot set the SGD step to ${step}: use a whole number >= 0`);
    }
    this.step.write(Uint32Array.of(step));
  }

  destroy(): void {
    this.#steps.destroy();
  }
}

async function build(
  gpu: Gpu,
  op: string,
  options: SgdOptions,
  triples: { params: Tensor; grads: Tensor; velocity: Tensor; count: number }[],
): Promise<SgdOp> {
  const table = checkHyper(op, options);
  for (const t of triples) checkTriple(op, t.params, t.grads, t.velocity, t.count);
  const scheduled = options.schedule !== undefined;
  gpu.assertAlive(`run ${op}`);
  // The op keeps the learning-rate table and step counter to rewrite them; the steps own them.
  const lrs = Tensor.from(gpu, table, [table.length], "f32", "sgd learning rates");
  const step = Tensor.from(gpu, Uint32Array.of(0), [1], "u32", "sgd step");
  const steps = await prepareSteps(gpu, op, {
    scratch: [lrs, step],
    pipelines: () => [
      getPipeline(gpu, OPTIM, "sgd_update", { WG }),
      getPipeline(gpu, OPTIM, "sgd_advance"),
    ],
    steps: ([update, advance]) => {
      const dispatches: Dispatch[] = [];
      for (const t of triples) {
        if (t.count === 0) continue;
        const quads = Math.ceil(t.count / 4);
        const { workgroups, row } = grid1d(gpu, Math.ceil(quads / PER), WG);
        dispatches.push(
          new Dispatch(
            gpu,
            update,
            { grads: t.grads, lrs, step, params: t.params, velocity: t.velocity },
            {
              count: t.count,
              quads,
              per: PER,
              row,
              lrs_len: table.length,
              momentum: options.momentum,
              weight_decay: options.weightDecay,
            },
            workgroups,
          ),
        );
      }
      if (scheduled) dispatches.push(new Dispatch(gpu, advance, { step_out: step }));
      return dispatches;
    },
  });
  return new Sgd(lrs, step, steps, scheduled);
}

/**
 * Prepares one fused SGD update over flat buffers (a single dispatch, plus one to advance the
 * step counter when a schedule is given). Record it after the backward pass every step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareSgdFlat } from "./optim.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const params = Tensor.from(gpu, [1, 2]);
 * const grads = Tensor.from(gpu, [1, 2]);
 * const velocity = Tensor.zeros(gpu, [2]);
 * const sgd = await prepareSgdFlat(gpu, {
 *   params,
 *   grads,
 *   velocity,
 *   momentum: 0.9,
 *   weightDecay: 0,
 *   schedule: [0.5, 0.25, 0.125],
 * });
 * sgd.record();
 * gpu.submit();
 * assert.deepEqual(Array.from(await params.read()), [0.5, 1]);
 * sgd.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareSgdFlat(gpu: Gpu, args: SgdFlatArgs): Promise<SgdOp> {
  const count = args.count ?? args.params.size;
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`Cannot run sgd: count must be a whole number >= 0, got ${count}`);
  }
  return await build(gpu, "sgd", args, [{ ...args, count }]);
}

/**
 * Records one SGD update over flat buffers once, with learning rate `args.lr`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { sgdFlat } from "./optim.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const params = Tensor.from(gpu, [1, 2]);
 * const grads = Tensor.from(gpu, [0, 0]);
 * const velocity = Tensor.zeros(gpu, [2]);
 * // With a zero gradient only the weight decay acts: p -= lr * weightDecay * p.
 * await sgdFlat(gpu, { params, grads, velocity, lr: 0.5, momentum: 0.9, weightDecay: 0.5 });
 * assert.deepEqual(Array.from(await params.read()), [0.75, 1.5]);
 * gpu.destroy();
 * ```
 */
export async function sgdFlat(gpu: Gpu, args: SgdFlatArgs): Promise<void> {
  recordOnce(await prepareSgdFlat(gpu, args));
}

/**
 * Prepares SGD over separate tensors: one update dispatch per parameter, all reading the same
 * learning-rate table and step counter, so one `setLr` (or one schedule) drives them all.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareSgd } from "./optim.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const [w1, b1] = [Tensor.from(gpu, [1, 1, 1]), Tensor.from(gpu, [1])];
 * const [dw1, db1] = [Tensor.from(gpu, [2, 2, 2]), Tensor.from(gpu, [4])];
 * const [v1, vb1] = [Tensor.zeros(gpu, [3]), Tensor.zeros(gpu, [1])];
 * const sgd = await prepareSgd(gpu, {
 *   params: [w1, b1],
 *   grads: [dw1, db1],
 *   velocities: [v1, vb1],
 *   lr: 0.25,
 *   momentum: 0.9,
 *   weightDecay: 0,
 * });
 * sgd.record();
 * assert.deepEqual(Array.from(await w1.read()), [0.5, 0.5, 0.5]);
 * assert.deepEqual(Array.from(await b1.read()), [0]);
 * sgd.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareSgd(gpu: Gpu, args: SgdArgs): Promise<SgdOp> {
  const { params, grads, velocities } = args;
  if (grads.length !== params.length || velocities.length !== params.length) {
    throw new RangeError(
      `Cannot run sgd: ${params.length} params, ${grads.length} grads and ` +
        `${velocities.length} velocities must match`,
    );
  }
  const triples = params.map((p, i) => {
    for (const [name, t] of [["grads", grads[i]], ["velocities", velocities[i]]] as const) {
      if (t.size !== p.size) {
        throw new RangeError(
          `Cannot run sgd: ${name}[${i}] ${formatShape(t.shape)} does not match params[${i}] ` +
            formatShape(p.shape),
        );
      }
    }
    return { params: p, grads: grads[i], velocity: velocities[i], count: p.size };
  });
  const seen = new Set<GPUBuffer>();
  for (const t of params) {
    if (seen.has(t.buffer)) throw new RangeError("Cannot run sgd: two params share a buffer");
    seen.add(t.buffer);
  }
  return await build(gpu, "sgd", args, triples);
}

/**
 * Arguments of {@link prepareNonFiniteCheck}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type NonFiniteCheckArgs, prepareNonFiniteCheck } from "./optim.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: NonFiniteCheckArgs = {
 *   tensors: [Tensor.from(gpu, [1, 2]), Tensor.from(gpu, [3, Infinity])],
 *   flag: Tensor.empty(gpu, [1], "u32"),
 * };
 * const check = await prepareNonFiniteCheck(gpu, args);
 * check.record();
 * assert.deepEqual(Array.from(await args.flag.read()), [1]);
 * check.destroy();
 * gpu.destroy();
 * ```
 */
export interface NonFiniteCheckArgs {
  /** Tensors to scan (f32), e.g. the gradients. */
  tensors: readonly Tensor[];
  /** (1) u32 tensor: set to 0, then to 1 if any value is NaN or infinite. */
  flag: Tensor;
}

/**
 * Prepares a scan for NaN or infinite values: clears `flag`, then sets it to 1 if any tensor
 * holds one. Costs one read of each tensor; read `flag` whenever the loop syncs anyway.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareNonFiniteCheck } from "./optim.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const grads = Tensor.from(gpu, [0.1, -0.2, NaN]);
 * const flag = Tensor.zeros(gpu, [1], "u32");
 * const check = await prepareNonFiniteCheck(gpu, { tensors: [grads], flag });
 * check.record();
 * assert.equal((await flag.read())[0] !== 0 ? "gradients diverged" : "fine", "gradients diverged");
 * check.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareNonFiniteCheck(
  gpu: Gpu,
  args: NonFiniteCheckArgs,
): Promise<Recordable> {
  const op = "non-finite check";
  if (args.flag.dtype !== "u32" || args.flag.size < 1) {
    throw new TypeError(
      `Cannot run ${op}: flag must be a u32 tensor of at least 1 element, got ` +
        `${args.flag.dtype} ${formatShape(args.flag.shape)}`,
    );
  }
  for (const [i, t] of args.tensors.entries()) {
    checkDType(op, `tensors[${i}]`, t, "f32");
    if (t.buffer === args.flag.buffer) {
      throw new RangeError(`Cannot run ${op}: the flag is one of the scanned tensors`);
    }
  }
  return await prepareSteps(gpu, op, {
    pipelines: () => [
      getPipeline(gpu, OPTIM, "nonfinite_clear"),
      getPipeline(gpu, OPTIM, "nonfinite_check", { WG }),
    ],
    steps: ([clear, check]) => [
      new Dispatch(gpu, clear, { flag: args.flag }),
      ...args.tensors.filter((t) => t.size > 0).map((t) => {
        const { workgroups, row } = grid1d(gpu, Math.ceil(t.size / PER), WG);
        return new Dispatch(gpu, check, { values: t, flag: args.flag }, {
          count: t.size,
          quads: Math.ceil(t.size / 4),
          per: PER,
          row,
          lrs_len: 1,
          momentum: 0,
          weight_decay: 0,
        }, workgroups);
      }),
    ],
  });
}
