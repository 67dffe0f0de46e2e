/**
 * One training step of a freshly built network on seeded data, for the tests that compare the
 * same step on two devices (a lowered limit against none).
 */

import { Rng } from "../../lib/data/rng.ts";
import type { Gpu } from "../../lib/gpu/device.ts";
import { readAll } from "../../lib/gpu/tensor.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import type { ResNetSpec } from "../../lib/nn/spec.ts";

/** What {@link stepOnce} ran: the loss sum and every parameter's gradient. */
export interface StepResult<T> {
  loss: Float32Array;
  grads: Float32Array[];
  /** What `inspect` returned. */
  seen: T;
}

/**
 * Builds `spec` at `batch` on `gpu`, initialises it and fills its input (normal values) and
 * labels (i mod classes) from `Rng(seed)`, then runs one training step; `inspect` sees the
 * network before the step runs.
 */
export async function stepOnce<T = undefined>(
  gpu: Gpu,
  spec: ResNetSpec,
  batch: number,
  seed: number,
  inspect: (net: ResNet) => T = () => undefined as T,
): Promise<StepResult<T>> {
  const net = await ResNet.create(gpu, spec, { batch });
  try {
    const rng = new Rng(seed);
    net.initialize(rng);
    net.input.write(Float32Array.from({ length: net.input.size }, () => rng.normal(0, 1)));
    net.labels.write(Int32Array.from({ length: batch }, (_, i) => i % spec.classes));
    const seen = inspect(net);
    net.resetMetrics();
    net.trainStep.record();
    const loss = await net.lossSum.read() as Float32Array;
    const grads = await readAll(net.params.map((p) => p.grad)) as Float32Array[];
    return { loss, grads, seen };
  } finally {
    net.destroy();
  }
}
