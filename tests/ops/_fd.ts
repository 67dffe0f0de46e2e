/**
 * Finite-difference helpers: the CPU references are checked by central differences in float64
 * before they judge a kernel.
 */

import { groupedConv2dOutputShape } from "../../lib/ops/conv2d_grouped.ts";
import * as ref from "../../lib/ops/reference_nn.ts";
import { maxRelativeError, randomArray } from "../_gpu.ts";

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
