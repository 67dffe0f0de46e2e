/**
 * What the convolution families' tuners share: the self-check of a kernel variant against the
 * CPU reference, and its timing on one layer. Each family (conv2d.ts, conv2d_grouped.ts) passes
 * its prepare functions and what a call adds to force the variant (and groups).
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { type Recordable, recordOnce } from "../gpu/kernel.ts";
import { shapeSize, Tensor } from "../gpu/tensor.ts";
import * as reference from "./_reference_nn.ts";
import { timeRecorded, tuneData } from "./tune.ts";
import type {
  Conv2dBackwardInputArgs,
  Conv2dBackwardWeightArgs,
  Conv2dForwardArgs,
  Conv2dPass,
} from "./conv2d.ts";

/** A family's prepare functions; `E` is what a call adds (a forced variant, groups). */
export interface ConvFamily<E> {
  forward(gpu: Gpu, args: Conv2dForwardArgs & E): Promise<Recordable>;
  backwardInput(gpu: Gpu, args: Conv2dBackwardInputArgs & E): Promise<Recordable>;
  backwardWeight(gpu: Gpu, args: Conv2dBackwardWeightArgs & E): Promise<Recordable>;
}

/** One convolution: input (N,C,H,W), weight (F,C/groups,KH,KW), stride, padding, groups. */
export interface ConvCase {
  readonly x: readonly number[];
  readonly w: readonly number[];
  readonly stride: number;
  readonly padding: number;
  readonly groups?: number;
}

function outputShape(c: ConvCase): number[] {
  const [n, , h, w] = c.x;
  const [f, , kh, kw] = c.w;
  const out = (v: number, k: number) => reference.convOutputSize(v, k, c.stride, c.padding);
  return [n, f, out(h, kh), out(w, kw)];
}

/**
 * Runs one pass of `family` with `extra` on `c` (the backward passes accumulating onto seeded
 * values) and throws when it differs from the CPU reference by more than 1e-4 relative;
 * `label` names the variant in the error.
 */
export async function checkConvPass<E>(
  gpu: Gpu,
  family: ConvFamily<E>,
  pass: Conv2dPass,
  c: ConvCase,
  extra: E,
  label: string,
): Promise<void> {
  const xShape = [...c.x];
  const wShape = [...c.w];
  const yShape = outputShape(c);
  const [xs, ws, dys] = [
    tuneData(shapeSize(xShape), 11),
    tuneData(shapeSize(wShape), 12),
    tuneData(shapeSize(yShape), 13),
  ];
  const start = tuneData(Math.max(shapeSize(xShape), shapeSize(wShape)), 14);
  const t = (data: Float32Array, shape: number[]) =>
    Tensor.from(gpu, data.subarray(0, shapeSize(shape)), shape, "f32", "conv2d check");
  const [x, w, dy] = [t(xs, xShape), t(ws, wShape), t(dys, yShape)];
  const g = { stride: c.stride, padding: c.padding, groups: c.groups ?? 1 };
  const args = { ...extra, stride: c.stride, padding: c.padding };
  let out: Tensor;
  let want: Float64Array;
  if (pass === "forward") {
    out = Tensor.empty(gpu, yShape, "f32", "conv2d check");
    recordOnce(await family.forward(gpu, { ...args, x, w, y: out }));
    want = reference.conv2dForward(xs, xShape, ws, wShape, g);
  } else if (pass === "backward_input") {
    out = t(start, xShape);
    recordOnce(await family.backwardInput(gpu, { ...args, dy, w, dx: out, accumulate: true }));
    want = reference.conv2dBackwardInput(dys, ws, wShape, xShape, g).map((d, i) => d + start[i]);
  } else {
    out = t(start, wShape);
    recordOnce(await family.backwardWeight(gpu, { ...args, x, dy, dw: out, accumulate: true }));
    want = reference.conv2dBackwardWeight(xs, xShape, dys, wShape, g).map((d, i) => d + start[i]);
  }
  try {
    const got = await out.read();
    for (let i = 0; i < want.length; i++) {
      if (!(Math.abs(got[i] - want[i]) <= 1e-4 * Math.max(1, Math.abs(want[i])))) {
        throw new Error(`${label} ${pass} computes ${got[i]} instead of ${want[i]} at ${i}`);
      }
    }
  } finally {
    for (const tensor of [x, w, dy, out]) tensor.destroy();
    gpu.submit();
  }
}

/**
 * Times one pass of `family` with `extra` on `c` (seeded data); returns ms per call (submits
 * and waits). `flop` sizes the repetitions ({@link timeRecorded}).
 */
export async function timeConvPass<E>(
  gpu: Gpu,
  family: ConvFamily<E>,
  pass: Conv2dPass,
  c: ConvCase,
  extra: E,
  flop: number,
): Promise<number> {
  const xShape = [...c.x];
  const wShape = [...c.w];
  const yShape = outputShape(c);
  const args = { ...extra, stride: c.stride, padding: c.padding };
  const x = Tensor.from(gpu, tuneData(shapeSize(xShape), 21), xShape, "f32", "conv2d tune");
  const dy = Tensor.from(gpu, tuneData(shapeSize(yShape), 22), yShape, "f32", "conv2d tune");
  const w = Tensor.from(gpu, tuneData(shapeSize(wShape), 23), wShape, "f32", "conv2d tune");
  const out = Tensor.empty(
    gpu,
    pass === "forward" ? yShape : pass === "backward_input" ? xShape : wShape,
    "f32",
    "conv2d tune",
  );
  const op = pass === "forward"
    ? await family.forward(gpu, { ...args, x, w, y: out })
    : pass === "backward_input"
    ? await family.backwardInput(gpu, { ...args, dy, w, dx: out })
    : await family.backwardWeight(gpu, { ...args, x, dy, dw: out });
  try {
    return await timeRecorded(gpu, () => op.record(), flop);
  } finally {
    op.destroy();
    for (const t of [x, dy, w, out]) t.destroy();
    gpu.submit();
  }
}
