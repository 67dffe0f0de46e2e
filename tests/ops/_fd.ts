/**
 * Convolution test helpers: central differences (the CPU references are checked by them in
 * float64 before they judge a kernel), and the three GPU passes against the reference.
 */

import type { Gpu } from "../../lib/gpu/device.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  groupedConv2dBackwardInput,
  groupedConv2dBackwardWeight,
  groupedConv2dForward,
  groupedConv2dOutputShape,
} from "../../lib/ops/conv2d_grouped.ts";
import * as ref from "../../lib/ops/_reference_nn.ts";
import { assertClose, maxRelativeError, randomArray } from "../_gpu.ts";

/** d loss / d v[i] for every i, by central differences with step h. */
export function centralDifferences(
  v: Float64Array,
  loss: (v: Float64Array) => number,
  h = 1e-6,
): Float64Array {
  return v.map((_, i) => {
    const up = v.slice();
    const down = v.slice();
    up[i] += h;
    down[i] -= h;
    return (loss(up) - loss(down)) / (2 * h);
  });
}

/**
 * Largest errors of the reference convolution's input and weight gradients against central
 * differences of `sum(conv(x, w) * r)` on seeded random data.
 */
export function convReferenceErrors(
  xShape: readonly number[],
  wShape: readonly number[],
  geometry: ref.ConvGeometry,
): { dx: number; dw: number } {
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const { stride = 1, padding = 0, groups = 1 } = geometry;
  const yShape = groupedConv2dOutputShape(xShape, wShape, groups, stride, padding);
  const x = Float64Array.from(randomArray(size(xShape), 1));
  const w = Float64Array.from(randomArray(size(wShape), 2));
  const r = Float64Array.from(randomArray(size(yShape), 3));
  const loss = (xv: Float64Array, wv: Float64Array) =>
    ref.conv2dForward(xv, xShape, wv, wShape, geometry).reduce((s, v, i) => s + v * r[i], 0);
  return {
    dx: maxRelativeError(
      ref.conv2dBackwardInput(r, w, wShape, xShape, geometry),
      centralDifferences(x, (v) => loss(v, w)),
    ),
    dw: maxRelativeError(
      ref.conv2dBackwardWeight(x, xShape, r, wShape, geometry),
      centralDifferences(w, (v) => loss(x, v)),
    ),
  };
}

/**
 * Runs a convolution's three passes on the GPU (the grouped wrappers, which hand `groups` 1 to
 * the tiled kernels) on seeded data, compares each with the CPU reference and prints the errors.
 * Outputs start as garbage, so a pass that does not overwrite them fails.
 */
export async function checkConvPasses(
  gpu: Gpu,
  xShape: readonly number[],
  wShape: readonly number[],
  geometry: ref.ConvGeometry,
  tolerance: number,
): Promise<void> {
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const { stride = 1, padding = 0, groups = 1 } = geometry;
  const g = { stride, padding, groups };
  const yShape = groupedConv2dOutputShape(xShape, wShape, groups, stride, padding);
  const xs = randomArray(size(xShape), xShape[0] + xShape[1]);
  const ws = randomArray(size(wShape), wShape[0] + wShape[2]);
  const dys = randomArray(size(yShape), 5);
  const x = Tensor.from(gpu, xs, xShape);
  const w = Tensor.from(gpu, ws, wShape);
  const dy = Tensor.from(gpu, dys, yShape);
  const y = Tensor.from(gpu, randomArray(size(yShape), 6), yShape);
  const dx = Tensor.from(gpu, randomArray(size(xShape), 7), xShape);
  const dw = Tensor.from(gpu, randomArray(size(wShape), 8), wShape);
  try {
    await groupedConv2dForward(gpu, { x, w, y, ...g });
    await groupedConv2dBackwardInput(gpu, { dy, w, dx, ...g });
    await groupedConv2dBackwardWeight(gpu, { x, dy, dw, ...g });
    const ey = ref.conv2dForward(xs, xShape, ws, wShape, g);
    const edx = ref.conv2dBackwardInput(dys, ws, wShape, xShape, g);
    const edw = ref.conv2dBackwardWeight(xs, xShape, dys, wShape, g);
    const [gy, gdx, gdw] = [await y.read(), await dx.read(), await dw.read()];
    const label = `x${xShape} w${wShape} g${groups} s${stride} p${padding}`;
    console.log(
      `  ${label}: y ${maxRelativeError(gy, ey).toExponential(2)}, dx ` +
        `${maxRelativeError(gdx, edx).toExponential(2)}, dw ` +
        `${maxRelativeError(gdw, edw).toExponential(2)}`,
    );
    assertClose(gy, ey, tolerance, `forward ${label}`);
    assertClose(gdx, edx, tolerance, `backward input ${label}`);
    assertClose(gdw, edw, tolerance, `backward weight ${label}`);
  } finally {
    for (const t of [x, w, dy, y, dx, dw]) t.destroy();
  }
}
