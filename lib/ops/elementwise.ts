/**
 * Element-wise ops: fill, scale, add (residual add), in-place accumulate, ReLU forward and
 * backward.
 *
 * Each op has a `prepare*` form returning a reusable {@link Dispatch} (for training steps that
 * record the same work every step) and a one-shot form that records it into the shared encoder.
 *
 * @module
 */

import source from "../../kernels/elementwise.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import { type Dispatch, type EntryOf, grid1d, recordOnce } from "../gpu/kernel.ts";
import { formatShape, type Tensor } from "../gpu/tensor.ts";
import { checkF32 } from "./_check.ts";
import { prepareDispatch } from "./_prepare.ts";
import { ELEMENTWISE_ENTRIES, family } from "./_entries.ts";

const ELEMENTWISE = family("kernels/elementwise.wgsl", source, ELEMENTWISE_ENTRIES);
const WG = 64;
const PER = 4;

async function prepare(
  gpu: Gpu,
  entry: EntryOf<typeof ELEMENTWISE_ENTRIES>,
  n: number,
  resources: Record<string, Tensor>,
  alpha = 0,
  beta = 0,
): Promise<Dispatch> {
  checkF32(entry, resources);
  const quads = Math.ceil(n / 4);
  const { workgroups, row } = grid1d(gpu, Math.ceil(quads / PER), WG);
  const uniforms = { n: quads, row, alpha, beta };
  return await prepareDispatch(
    gpu,
    ELEMENTWISE,
    entry,
    { WG, PER },
    resources,
    uniforms,
    workgroups,
  );
}

function sameSize(op: string, a: Tensor, b: Tensor): void {
  if (a.size !== b.size) {
    throw new RangeError(
      `Cannot run ${op}: ${a.label} ${formatShape(a.shape)} and ${b.label} ` +
        `${formatShape(b.shape)} differ in size (${a.size} against ${b.size})`,
    );
  }
}

/**
 * Prepares `out = value`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareFill } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const t = Tensor.empty(gpu, [3]);
 * const clear = await prepareFill(gpu, t, 0);
 * clear.record(); // e.g. at the start of every step
 * assert.deepEqual(Array.from(await t.read()), [0, 0, 0]);
 * clear.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareFill(gpu: Gpu, out: Tensor, value: number): Promise<Dispatch> {
  return prepare(gpu, "fill", out.size, { out }, value);
}

/**
 * Records `out = value` into the shared encoder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { fill } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const t = Tensor.empty(gpu, [3]);
 * await fill(gpu, t, 1.5);
 * assert.deepEqual(Array.from(await t.read()), [1.5, 1.5, 1.5]);
 * gpu.destroy();
 * ```
 */
export async function fill(gpu: Gpu, out: Tensor, value: number): Promise<void> {
  recordOnce(await prepareFill(gpu, out, value));
}

/**
 * Prepares `out = alpha * x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareScale } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3]);
 * const out = Tensor.empty(gpu, [3]);
 * const work = await prepareScale(gpu, x, out, 2);
 * work.record();
 * assert.deepEqual(Array.from(await out.read()), [2, 4, 6]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareScale(gpu: Gpu, x: Tensor, out: Tensor, alpha: number): Promise<Dispatch> {
  sameSize("scale", x, out);
  return prepare(gpu, "scale", x.size, { x, out }, alpha);
}

/**
 * Records `out = alpha * x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { scale } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3]);
 * const out = Tensor.empty(gpu, [3]);
 * await scale(gpu, x, out, -1);
 * assert.deepEqual(Array.from(await out.read()), [-1, -2, -3]);
 * gpu.destroy();
 * ```
 */
export async function scale(gpu: Gpu, x: Tensor, out: Tensor, alpha: number): Promise<void> {
  recordOnce(await prepareScale(gpu, x, out, alpha));
}

/**
 * Prepares `out = alpha * x + beta * y`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareAdd } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2]);
 * const y = Tensor.from(gpu, [10, 20]);
 * const out = Tensor.empty(gpu, [2]);
 * const work = await prepareAdd(gpu, x, y, out, 1, 0.5);
 * work.record();
 * assert.deepEqual(Array.from(await out.read()), [6, 12]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareAdd(
  gpu: Gpu,
  x: Tensor,
  y: Tensor,
  out: Tensor,
  alpha = 1,
  beta = 1,
): Promise<Dispatch> {
  sameSize("add", x, y);
  sameSize("add", x, out);
  return prepare(gpu, "add", x.size, { x, y, out }, alpha, beta);
}

/**
 * Records `out = alpha * x + beta * y`; the residual add is the default `alpha = beta = 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { add } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const a = Tensor.from(gpu, [1, 2]);
 * const b = Tensor.from(gpu, [10, 20]);
 * const sum = Tensor.empty(gpu, [2]);
 * await add(gpu, a, b, sum);
 * assert.deepEqual(Array.from(await sum.read()), [11, 22]);
 * gpu.destroy();
 * ```
 */
export async function add(
  gpu: Gpu,
  x: Tensor,
  y: Tensor,
  out: Tensor,
  alpha = 1,
  beta = 1,
): Promise<void> {
  recordOnce(await prepareAdd(gpu, x, y, out, alpha, beta));
}

/**
 * Prepares `out += alpha * x` in place (a running sum, e.g. of gradients over micro-batches).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareAccumulate } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2]);
 * const sum = Tensor.from(gpu, [10, 20]);
 * const work = await prepareAccumulate(gpu, x, sum);
 * work.record();
 * work.record();
 * assert.deepEqual(Array.from(await sum.read()), [12, 24]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareAccumulate(gpu: Gpu, x: Tensor, out: Tensor, alpha = 1): Promise<Dispatch> {
  sameSize("accumulate", x, out);
  return prepare(gpu, "accumulate", x.size, { x, out }, alpha);
}

/**
 * Records `out += alpha * x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { accumulate } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const sum = Tensor.from(gpu, [1, 1]);
 * await accumulate(gpu, Tensor.from(gpu, [2, 3]), sum, 0.5);
 * assert.deepEqual(Array.from(await sum.read()), [2, 2.5]);
 * gpu.destroy();
 * ```
 */
export async function accumulate(gpu: Gpu, x: Tensor, out: Tensor, alpha = 1): Promise<void> {
  recordOnce(await prepareAccumulate(gpu, x, out, alpha));
}

/**
 * Prepares `out = max(alpha * x + beta * y, 0)`: a residual add with its ReLU.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareAddRelu } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, -5]);
 * const shortcut = Tensor.from(gpu, [1, 2]);
 * const out = Tensor.empty(gpu, [2]);
 * const work = await prepareAddRelu(gpu, x, shortcut, out);
 * work.record();
 * assert.deepEqual(Array.from(await out.read()), [2, 0]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareAddRelu(
  gpu: Gpu,
  x: Tensor,
  y: Tensor,
  out: Tensor,
  alpha = 1,
  beta = 1,
): Promise<Dispatch> {
  sameSize("add_relu", x, y);
  sameSize("add_relu", x, out);
  return prepare(gpu, "add_relu", x.size, { x, y, out }, alpha, beta);
}

/**
 * Records `out = max(alpha * x + beta * y, 0)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { addRelu } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, -5]);
 * const y = Tensor.from(gpu, [1, 2]);
 * const out = Tensor.empty(gpu, [2]);
 * await addRelu(gpu, x, y, out);
 * assert.deepEqual(Array.from(await out.read()), [2, 0]);
 * gpu.destroy();
 * ```
 */
export async function addRelu(
  gpu: Gpu,
  x: Tensor,
  y: Tensor,
  out: Tensor,
  alpha = 1,
  beta = 1,
): Promise<void> {
  recordOnce(await prepareAddRelu(gpu, x, y, out, alpha, beta));
}

/**
 * Prepares `out = max(x, 0)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareReluForward } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [-1, 0, 2]);
 * const out = Tensor.empty(gpu, [3]);
 * const work = await prepareReluForward(gpu, x, out);
 * work.record();
 * assert.deepEqual(Array.from(await out.read()), [0, 0, 2]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareReluForward(gpu: Gpu, x: Tensor, out: Tensor): Promise<Dispatch> {
  sameSize("relu_forward", x, out);
  return prepare(gpu, "relu_forward", x.size, { x, out });
}

/**
 * Records `out = max(x, 0)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { reluForward } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [-1, 0, 2]);
 * const out = Tensor.empty(gpu, [3]);
 * await reluForward(gpu, x, out);
 * assert.deepEqual(Array.from(await out.read()), [0, 0, 2]);
 * gpu.destroy();
 * ```
 */
export async function reluForward(gpu: Gpu, x: Tensor, out: Tensor): Promise<void> {
  recordOnce(await prepareReluForward(gpu, x, out));
}

/**
 * Prepares `dx = dy * (x > 0)`; overwrites dx. `x` may be the forward input or output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareReluBackward } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const y = Tensor.from(gpu, [0, 0, 2]); // the forward output
 * const dy = Tensor.from(gpu, [5, 6, 7]);
 * const dx = Tensor.empty(gpu, [3]);
 * const work = await prepareReluBackward(gpu, y, dy, dx);
 * work.record();
 * assert.deepEqual(Array.from(await dx.read()), [0, 0, 7]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareReluBackward(
  gpu: Gpu,
  x: Tensor,
  dy: Tensor,
  dx: Tensor,
): Promise<Dispatch> {
  sameSize("relu_backward", x, dy);
  sameSize("relu_backward", x, dx);
  return prepare(gpu, "relu_backward", x.size, { x, y: dy, out: dx });
}

/**
 * Records `dx = dy * (x > 0)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { reluBackward } from "./elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [-1, 3]);
 * const dy = Tensor.from(gpu, [5, 6]);
 * const dx = Tensor.empty(gpu, [2]);
 * await reluBackward(gpu, x, dy, dx);
 * assert.deepEqual(Array.from(await dx.read()), [0, 6]);
 * gpu.destroy();
 * ```
 */
export async function reluBackward(gpu: Gpu, x: Tensor, dy: Tensor, dx: Tensor): Promise<void> {
  recordOnce(await prepareReluBackward(gpu, x, dy, dx));
}
