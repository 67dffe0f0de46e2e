/**
 * A training step whose batch is too large for the device, run as equal micro-batches on a
 * network built for one micro-batch (`planMicroBatches` of lib/nn/memory.ts picks the split).
 *
 * The whole batch waits in per-micro-batch input slots; the step records, for each micro-batch,
 * a copy of its slot into the network's input, the forward, loss and backward, and the sum of
 * its parameter gradients into accumulators, all in the caller's one command encoder, so a step
 * stays one submit. The network's loss gradient is scaled by size / batch (its `lossScale`
 * option), so the summed gradients are those of the whole batch's mean
 * loss. Batch-norm statistics are each micro-batch's own, and the running statistics are updated
 * once per micro-batch (as ghost batch norm, or per-GPU batch norm in data-parallel training).
 *
 * With one micro-batch the step is the network's own training step on its own input, gradient
 * and label buffers: nothing is copied or added.
 *
 * @module
 */

import { describeWork, type Recordable, Sequence } from "../gpu/kernel.ts";
import { Tensor } from "../gpu/tensor.ts";
import { prepareAccumulate } from "../ops/elementwise.ts";
import { prepareSgd, type SgdOp, type SgdOptions } from "../ops/optim.ts";
import type { ResNet } from "./resnet.ts";

/**
 * Forward and backward of one batch as `count` micro-batches of the network's batch, gradients
 * summed into {@link grads}. Record it, then the update that reads {@link grads}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../data/rng.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { MicroBatchStep } from "./microbatch.ts";
 * import { ResNet, resnet } from "./mod.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const spec = resnet("tiny", [1, 4, 4], 2, [2], 1, 2);
 * // A batch of 6 as 3 micro-batches of 2: each micro-batch's loss gradient is scaled by 2 / 6.
 * const net = await ResNet.create(gpu, spec, { batch: 2, lossScale: 2 / 6 });
 * net.initialize(new Rng(0));
 * const step = await MicroBatchStep.create(net, 3);
 * step.write(new Float32Array(6 * 16).fill(0.5), Int32Array.of(0, 1, 0, 1, 1, 0));
 * net.resetMetrics();
 * step.record();
 * await gpu.sync();
 * assert.equal(step.batch, 6);
 * assert.equal(step.grads.length, net.params.length);
 * assert.ok((await step.grads[0].read()).every(Number.isFinite));
 * step.destroy();
 * net.destroy();
 * gpu.destroy();
 * ```
 */
export class MicroBatchStep implements Recordable {
  /** The network, built for one micro-batch. */
  readonly net: ResNet;
  /** Micro-batches per step. */
  readonly count: number;
  /** Images per step: count x the network's batch. */
  readonly batch: number;
  /** The step's parameter gradients, in `net.params` order: the network's own when count is 1. */
  readonly grads: readonly Tensor[];
  readonly #inputs: readonly Tensor[];
  readonly #labels: readonly Tensor[];
  readonly #accumulate: Sequence;
  readonly #owned: Tensor[];
  readonly #steps: Sequence;

  private constructor(
    net: ResNet,
    count: number,
    parts: { grads: Tensor[]; inputs: Tensor[]; labels: Tensor[]; accumulate: Sequence },
    owned: Tensor[],
  ) {
    this.net = net;
    this.count = count;
    this.batch = count * net.batch;
    this.grads = parts.grads;
    this.#inputs = parts.inputs;
    this.#labels = parts.labels;
    this.#accumulate = parts.accumulate;
    this.#owned = owned;
    this.#steps = this.#build();
  }

  /**
   * Allocates the input slots and gradient accumulators (none when `count` is 1) and prepares
   * the additions. The network's `lossScale` should be 1 / count.
   *
   * @param net The network, built for one micro-batch.
   * @param count Micro-batches per step, an integer >= 1.
   * @returns The step.
   */
  static async create(net: ResNet, count: number): Promise<MicroBatchStep> {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(
        `Cannot split a step into micro-batches: count is ${count}; it must be an integer >= 1`,
      );
    }
    if (count === 1) {
      return new MicroBatchStep(net, 1, {
        grads: net.params.map((p) => p.grad),
        inputs: [net.input],
        labels: [net.labels],
        accumulate: new Sequence([]),
      }, []);
    }
    const owned: Tensor[] = [];
    const tensor = (shape: readonly number[], label: string, dtype: "f32" | "i32" = "f32") => {
      const t = Tensor.zeros(net.gpu, shape, dtype, label);
      owned.push(t);
      return t;
    };
    try {
      const inputs = Array.from(
        { length: count },
        (_, j) => tensor(net.input.shape, `micro-batch ${j} input`),
      );
      const labels = Array.from(
        { length: count },
        (_, j) => tensor(net.labels.shape, `micro-batch ${j} labels`, "i32"),
      );
      const grads = net.params.map((p) => tensor(p.grad.shape, `${p.name}.grad sum`));
      const accumulate = describeWork(
        new Sequence(
          await Promise.all(net.params.map((p, i) => prepareAccumulate(net.gpu, p.grad, grads[i]))),
        ),
        { layer: "gradient sums" },
      );
      return new MicroBatchStep(net, count, { grads, inputs, labels, accumulate }, owned);
    } catch (error) {
      for (const t of owned) t.destroy();
      throw error;
    }
  }

  /**
   * Prepares the step's update: SGD of the network's parameters and velocities from the
   * step's gradients ({@link grads}). Record it after the step.
   *
   * @param options Momentum, weight decay and the learning rate or schedule.
   * @returns The update; the caller destroys it.
   */
  prepareSgd(options: SgdOptions): Promise<SgdOp> {
    return prepareSgd(this.net.gpu, {
      params: this.net.params.map((p) => p.value),
      grads: [...this.grads],
      velocities: this.net.params.map((p) => p.velocity),
      ...options,
    });
  }

  /**
   * Queues the whole batch's images (batch x C x H x W) and labels for the next recorded step.
   *
   * @param images The batch, micro-batch after micro-batch.
   * @param labels One per image.
   */
  write(images: Float32Array, labels: Int32Array): void {
    this.#checkLabels(labels);
    const per = this.net.input.size;
    if (images.length !== per * this.count) {
      throw new RangeError(
        `Cannot write a batch of ${this.batch} images: got ${images.length} values, expected ` +
          `${per * this.count}`,
      );
    }
    for (let j = 0; j < this.count; j++) {
      this.#inputs[j].write(images.subarray(j * per, (j + 1) * per));
    }
    this.#writeLabels(labels);
  }

  /**
   * Records a copy of `count` images from `src` (from offset 0) to the batch's images `first`
   * to `first + count - 1`, across slots as needed: a batch can arrive in chunks smaller than a
   * micro-batch (each chunk's buffer then fits the device where the whole batch's would not).
   * Queue the labels with {@link writeLabels}.
   *
   * @param src A buffer holding the images.
   * @param first The batch position of the first image.
   * @param count Images to copy.
   */
  copyImagesFrom(src: GPUBuffer, first: number, count: number): void {
    if (
      !(Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count >= 0) ||
      first + count > this.batch
    ) {
      throw new RangeError(
        `Cannot copy images ${first} to ${first + count - 1} into a batch of ${this.batch}`,
      );
    }
    const size = this.net.batch;
    const image = (this.net.input.size / size) * 4;
    for (let i = first; i < first + count;) {
      const slot = Math.floor(i / size);
      const n = Math.min(first + count - i, (slot + 1) * size - i);
      this.net.gpu.copy(
        src,
        (i - first) * image,
        this.#inputs[slot].buffer,
        (i - slot * size) * image,
        n * image,
      );
      i += n;
    }
  }

  /**
   * Queues the whole batch's labels for the next recorded step.
   *
   * @param labels One per image.
   */
  writeLabels(labels: Int32Array): void {
    this.#checkLabels(labels);
    this.#writeLabels(labels);
  }

  /**
   * The input slot of micro-batch `j` (the network's own input when the step is whole).
   *
   * @param j The micro-batch, from 0.
   * @returns Its images, in the network's input shape.
   */
  input(j: number): Tensor {
    const slot = this.#inputs[j];
    if (!slot) {
      throw new RangeError(`Cannot read micro-batch ${j}: the step has ${this.count}`);
    }
    return slot;
  }

  /** Records every micro-batch's forward and backward and the gradient sums. */
  record(): void {
    this.#steps.record();
  }

  /**
   * The step as the sequence it records: per micro-batch a copy of its slot into the network's
   * input, the network's training step, then a copy (first) or a sum (others) of its gradients.
   * Per-kernel timings walk it to keep each kernel's layer. It holds the network's step: free
   * the step with {@link destroy}, never the sequence.
   */
  asSequence(): Sequence {
    return this.#steps;
  }

  /** The sequence {@link record} runs; built once, since it only names buffers. */
  #build(): Sequence {
    const { net, count } = this;
    if (count === 1) return new Sequence([net.trainStep]);
    const gpu = net.gpu;
    const copies = (fn: () => void): Recordable => ({ record: fn, destroy: () => {} });
    const items: Recordable[] = [];
    for (let j = 0; j < count; j++) {
      items.push(copies(() => {
        gpu.copy(this.#inputs[j].buffer, 0, net.input.buffer, 0, net.input.size * 4);
        gpu.copy(this.#labels[j].buffer, 0, net.labels.buffer, 0, net.labels.size * 4);
      }));
      items.push(net.trainStep);
      items.push(
        j === 0
          ? copies(() =>
            net.params.forEach((p, i) =>
              gpu.copy(p.grad.buffer, 0, this.grads[i].buffer, 0, p.grad.size * 4)
            )
          )
          : this.#accumulate,
      );
    }
    return new Sequence(items);
  }

  /** Frees the slots, accumulators and additions (not the network). */
  destroy(): void {
    this.#accumulate.destroy();
    for (const t of this.#owned) t.destroy();
  }

  #checkLabels(labels: Int32Array): void {
    if (labels.length !== this.batch) {
      throw new RangeError(
        `Cannot write a batch of ${this.batch} images: got ${labels.length} labels`,
      );
    }
  }

  #writeLabels(labels: Int32Array): void {
    const m = this.net.batch;
    for (let j = 0; j < this.count; j++) this.#labels[j].write(labels.subarray(j * m, (j + 1) * m));
  }
}
