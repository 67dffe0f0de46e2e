/**
 * Global average pooling: (N,C,H,W) -> (N,C), and its backward pass `dx = dy / (H W)`
 * broadcast over each plane.
 *
 * ```
 * prepareGlobalAvgPoolForward(gpu, { x, y })     y[n,c] = mean(x[n,c,:,:])     (overwrites y)
 * prepareGlobalAvgPoolBackward(gpu, { dy, dx })  dx[n,c,h,w] = dy[n,c] / (H W) (overwrites dx)
 * ```
 *
 * @module
 */

import source from "../../kernels/pool.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import { Dispatch, getPipeline, grid1d, type KernelSource, recordOnce } from "../gpu/kernel.ts";
import { formatShape, type Tensor } from "../gpu/tensor.ts";

const POOL: KernelSource = { file: "kernels/pool.wgsl", source };
const WG = 64;

/**
 * Arguments of {@link prepareGlobalAvgPoolForward}.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { globalAvgPoolForward, type GlobalAvgPoolForwardArgs } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: GlobalAvgPoolForwardArgs = {
 *   x: Tensor.from(gpu, [1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]),
 *   y: Tensor.empty(gpu, [1, 2]),
 * };
 * await globalAvgPoolForward(gpu, args);
 * console.log(await args.y.read()); // Float32Array(2) [2.5, 25]
 * gpu.destroy();
 * ```
 */
export interface GlobalAvgPoolForwardArgs {
  /** Input (N,C,H,W). */
  x: Tensor;
  /** Output (N,C), overwritten. */
  y: Tensor;
}

/**
 * Arguments of {@link prepareGlobalAvgPoolBackward}.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { globalAvgPoolBackward, type GlobalAvgPoolBackwardArgs } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: GlobalAvgPoolBackwardArgs = {
 *   dy: Tensor.from(gpu, [4, 8], [1, 2]),
 *   dx: Tensor.empty(gpu, [1, 2, 2, 2]),
 * };
 * await globalAvgPoolBackward(gpu, args);
 * console.log(await args.dx.read()); // Float32Array(8) [1, 1, 1, 1, 2, 2, 2, 2]
 * gpu.destroy();
 * ```
 */
export interface GlobalAvgPoolBackwardArgs {
  /** Gradient of the output (N,C). */
  dy: Tensor;
  /** Gradient of the input (N,C,H,W), overwritten; its shape fixes H and W. */
  dx: Tensor;
}

function check(op: string, big: Tensor, bigName: string, small: Tensor, smallName: string) {
  for (const [name, t] of [[bigName, big], [smallName, small]] as const) {
    if (t.dtype !== "f32") {
      throw new TypeError(`Cannot run ${op}: ${name} must be f32 but is ${t.dtype}`);
    }
  }
  if (big.shape.length !== 4) {
    throw new RangeError(
      `Cannot run ${op}: ${bigName} must be (N,C,H,W), got ${formatShape(big.shape)}`,
    );
  }
  const [n, c, h, w] = big.shape;
  if (small.shape.length !== 2 || small.shape[0] !== n || small.shape[1] !== c) {
    throw new RangeError(
      `Cannot run ${op}: ${smallName} has shape ${formatShape(small.shape)} but ` +
        `${formatShape([n, c])} is expected for ${bigName} ${formatShape(big.shape)}`,
    );
  }
  if (h * w === 0) throw new RangeError(`Cannot run ${op}: ${bigName} has an empty plane`);
  return { planes: n * c, hw: h * w };
}

async function prepare(
  gpu: Gpu,
  entry: string,
  planes: number,
  hw: number,
  resources: Record<string, Tensor>,
): Promise<Dispatch> {
  gpu.assertAlive(`run ${entry}`);
  const vec4 = hw % 4 === 0;
  const pipeline = await getPipeline(gpu, POOL, vec4 ? `${entry}_vec4` : entry, { WG });
  const { workgroups, row } = grid1d(gpu, planes, WG);
  return new Dispatch(
    gpu,
    pipeline,
    resources,
    { planes, v: vec4 ? hw / 4 : hw, row, inv_hw: 1 / hw },
    workgroups,
  );
}

/**
 * Prepares `y = mean of x over (H, W)`; reusable every step.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareGlobalAvgPoolForward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4, 10, 20, 30, 40], [2, 1, 2, 2]);
 * const y = Tensor.empty(gpu, [2, 1]);
 * const pool = await prepareGlobalAvgPoolForward(gpu, { x, y });
 * pool.record();
 * console.log(await y.read()); // Float32Array(2) [2.5, 25]
 * pool.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareGlobalAvgPoolForward(
  gpu: Gpu,
  args: GlobalAvgPoolForwardArgs,
): Promise<Dispatch> {
  const { planes, hw } = check("global average pool", args.x, "x", args.y, "y");
  if (args.x.buffer === args.y.buffer) {
    throw new RangeError("Cannot run global average pool: x and y share a buffer");
  }
  const x: Record<string, Tensor> = { [hw % 4 === 0 ? "x4" : "x"]: args.x };
  return prepare(gpu, "avgpool_forward", planes, hw, { ...x, y: args.y });
}

/**
 * Records the global average pool once.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { globalAvgPoolForward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 6], [1, 1, 2, 2]);
 * const y = Tensor.empty(gpu, [1, 1]);
 * await globalAvgPoolForward(gpu, { x, y });
 * console.log(await y.read()); // Float32Array(1) [3]
 * gpu.destroy();
 * ```
 */
export async function globalAvgPoolForward(
  gpu: Gpu,
  args: GlobalAvgPoolForwardArgs,
): Promise<void> {
  recordOnce(await prepareGlobalAvgPoolForward(gpu, args));
}

/**
 * Prepares `dx[n,c,:,:] = dy[n,c] / (H W)`; reusable every step.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareGlobalAvgPoolBackward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [4, 8], [2, 1]);
 * const dx = Tensor.empty(gpu, [2, 1, 2, 2]);
 * const back = await prepareGlobalAvgPoolBackward(gpu, { dy, dx });
 * back.record();
 * console.log(await dx.read()); // Float32Array(8) [1, 1, 1, 1, 2, 2, 2, 2]
 * back.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareGlobalAvgPoolBackward(
  gpu: Gpu,
  args: GlobalAvgPoolBackwardArgs,
): Promise<Dispatch> {
  const { planes, hw } = check("global average pool backward", args.dx, "dx", args.dy, "dy");
  if (args.dx.buffer === args.dy.buffer) {
    throw new RangeError("Cannot run global average pool backward: dy and dx share a buffer");
  }
  const dx: Record<string, Tensor> = { [hw % 4 === 0 ? "dx4" : "dx"]: args.dx };
  return prepare(gpu, "avgpool_backward", planes, hw, { dy: args.dy, ...dx });
}

/**
 * Records the global average pool backward pass once.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { globalAvgPoolBackward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [8], [1, 1]);
 * const dx = Tensor.empty(gpu, [1, 1, 2, 2]);
 * await globalAvgPoolBackward(gpu, { dy, dx });
 * console.log(await dx.read()); // Float32Array(4) [2, 2, 2, 2]
 * gpu.destroy();
 * ```
 */
export async function globalAvgPoolBackward(
  gpu: Gpu,
  args: GlobalAvgPoolBackwardArgs,
): Promise<void> {
  recordOnce(await prepareGlobalAvgPoolBackward(gpu, args));
}
