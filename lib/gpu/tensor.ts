/**
 * GPU tensors: a shape, a dtype and a storage buffer from the device's pool.
 *
 * @module
 */

import type { Gpu } from "./device.ts";

/**
 * Element types the kernels use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DType } from "./tensor.ts";
 * const labels: DType = "i32";
 * assert.equal(labels, "i32");
 * ```
 */
export type DType = "f32" | "i32" | "u32";

/**
 * Typed array for each dtype.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TypedArrayFor } from "./tensor.ts";
 * const labels: TypedArrayFor<"i32"> = new Int32Array([3, 1, 4]);
 * assert.equal(labels.length, 3);
 * ```
 */
export type TypedArrayFor<D extends DType> = D extends "f32" ? Float32Array
  : D extends "i32" ? Int32Array
  : Uint32Array;

/**
 * Anything {@link Tensor.from} accepts as data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TensorData } from "./tensor.ts";
 * const data: TensorData[] = [[1, 2], new Float32Array(2), new Int32Array([7])];
 * assert.equal(data.length, 3);
 * ```
 */
export type TensorData = Float32Array | Int32Array | Uint32Array | ArrayLike<number>;

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * Number of elements in a shape; throws on negative or fractional dimensions.
 *
 * @param shape Dimensions, outermost first.
 * @param what Name used in the error message.
 * @returns The product of the dimensions (1 for a scalar shape `[]`).
 * @throws {RangeError} When a dimension is not a whole number >= 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shapeSize } from "./tensor.ts";
 * assert.equal(shapeSize([2, 3, 4]), 24);
 * assert.throws(() => shapeSize([2, -1], "logits"), RangeError);
 * ```
 */
export function shapeSize(shape: readonly number[], what = "tensor"): number {
  let size = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0) {
      throw new RangeError(
        `Cannot make ${what}: shape [${shape.join(", ")}] has dimension ${dim}; dimensions ` +
          `must be whole numbers >= 0`,
      );
    }
    size *= dim;
  }
  return size;
}

/**
 * Formats a shape for messages: `(3,1,28,28)`.
 *
 * @param shape Dimensions, outermost first.
 * @returns The dimensions in parentheses, without spaces.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatShape } from "./tensor.ts";
 * assert.equal(formatShape([3, 1, 28, 28]), "(3,1,28,28)");
 * ```
 */
export function formatShape(shape: readonly number[]): string {
  return `(${shape.join(",")})`;
}

/**
 * A tensor living in a GPU storage buffer. Buffers are padded to 16 bytes so vec4 kernels can
 * read whole vectors at the end of a row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { Tensor } from "./tensor.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const t = Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
 * assert.deepEqual(await t.read(), Float32Array.of(1, 2, 3, 4, 5, 6));
 * const flat = t.reshape([6]); // a view: same buffer
 * const labels = Tensor.from(gpu, new Int32Array([2, 0]));
 * assert.deepEqual([labels.dtype, flat.shape], ["i32", [6]]);
 * t.destroy();
 * labels.destroy();
 * gpu.destroy();
 * ```
 */
export class Tensor<D extends DType = DType> {
  /** The device the buffer lives on. */
  readonly gpu: Gpu;
  /** Dimensions, outermost first (frozen). */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: D;
  /** Number of elements. */
  readonly size: number;
  /** Name used in error messages and GPU debug tools. */
  readonly label: string;
  #buffer: GPUBuffer | null;
  readonly #isView: boolean;

  private constructor(
    gpu: Gpu,
    shape: readonly number[],
    dtype: D,
    label: string,
    viewOf?: GPUBuffer,
  ) {
    this.gpu = gpu;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.label = label;
    this.size = shapeSize(shape, label);
    this.#isView = viewOf !== undefined;
    if (viewOf) {
      this.#buffer = viewOf;
      return;
    }
    const bytes = Math.max(16, Math.ceil((this.size * 4) / 16) * 16);
    gpu.assertFits(`${label} ${formatShape(shape)} ${dtype}`, bytes);
    gpu.assertAlive(`allocate ${label}`);
    this.#buffer = gpu.pool.acquire(bytes, USAGE, label);
  }

  /** A tensor with unspecified contents (zeroed on first allocation, reused data afterwards). */
  static empty<D extends DType = "f32">(
    gpu: Gpu,
    shape: readonly number[],
    dtype: D = "f32" as D,
    label = "tensor",
  ): Tensor<D> {
    checkDType(dtype);
    return new Tensor(gpu, shape, dtype, label);
  }

  /** A zero-filled tensor. */
  static zeros<D extends DType = "f32">(
    gpu: Gpu,
    shape: readonly number[],
    dtype: D = "f32" as D,
    label = "tensor",
  ): Tensor<D> {
    const t = Tensor.empty(gpu, shape, dtype, label);
    t.write(new (arrayType(dtype))(t.size) as TypedArrayFor<D>);
    return t;
  }

  /** Uploads host data. `shape` defaults to a vector of the data's length. */
  static from<D extends DType = "f32">(
    gpu: Gpu,
    data: TensorData,
    shape: readonly number[] = [data.length],
    dtype?: D,
    label = "tensor",
  ): Tensor<D> {
    const resolved = (dtype ?? dtypeOf(data)) as D;
    checkDType(resolved);
    const t = new Tensor(gpu, shape, resolved, label);
    if (data.length !== t.size) {
      t.destroy();
      throw new RangeError(
        `Cannot make ${label}: ${data.length} values do not fill shape ${formatShape(shape)} ` +
          `(${t.size} elements)`,
      );
    }
    t.write(data);
    return t;
  }

  /** The storage buffer; throws after {@link destroy}. */
  get buffer(): GPUBuffer {
    if (this.#buffer === null) {
      throw new Error(`Cannot use ${this.label} ${formatShape(this.shape)}: it was destroyed`);
    }
    return this.#buffer;
  }

  /** Bytes of actual data (without padding). */
  get byteLength(): number {
    return this.size * 4;
  }

  /** True once destroyed. */
  get destroyed(): boolean {
    return this.#buffer === null;
  }

  /** Replaces the contents from host data of the same length (queued before the next submit). */
  write(data: TensorData, elementOffset = 0): void {
    if (data.length + elementOffset > this.size) {
      throw new RangeError(
        `Cannot write ${data.length} values at offset ${elementOffset} into ${this.label} ` +
          `${formatShape(this.shape)} of ${this.size} elements`,
      );
    }
    const typed = toTyped(data, this.dtype);
    // Deno 2.9's writeBuffer panics (aborting the process) on zero bytes; there is nothing to do.
    if (typed.byteLength === 0) return;
    // Work recorded earlier must see the old contents: flush it before the queue write.
    this.gpu.submit();
    this.gpu.device.queue.writeBuffer(
      this.buffer,
      elementOffset * 4,
      typed.buffer as ArrayBuffer,
      typed.byteOffset,
      typed.byteLength,
    );
  }

  /** Submits pending work and reads the tensor back to the host. */
  async read(): Promise<TypedArrayFor<D>> {
    const gpu = this.gpu;
    const source = this.buffer; // throws for a destroyed tensor before anything is taken
    const bytes = Math.max(16, Math.ceil(this.byteLength / 16) * 16);
    const staging = gpu.pool.acquire(
      bytes,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      "readback",
    );
    gpu.copy(source, 0, staging, 0, bytes);
    gpu.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      const copy = staging.getMappedRange(0, bytes).slice(0, this.byteLength);
      staging.unmap();
      gpu.throwIfFailed();
      return new (arrayType(this.dtype))(copy) as TypedArrayFor<D>;
    } finally {
      gpu.pool.release(staging);
    }
  }

  /** A view of the same buffer with another shape of the same size; destroying it is a no-op. */
  reshape(shape: readonly number[]): Tensor<D> {
    const size = shapeSize(shape, this.label);
    if (size !== this.size) {
      throw new RangeError(
        `Cannot reshape ${this.label} ${formatShape(this.shape)} to ${formatShape(shape)}: ` +
          `${this.size} elements against ${size}`,
      );
    }
    return new Tensor(this.gpu, shape, this.dtype, this.label, this.buffer);
  }

  /** Returns the buffer to the pool. Work already recorded still sees it. */
  destroy(): void {
    const buffer = this.#buffer;
    if (buffer === null) return;
    this.#buffer = null;
    if (this.#isView) return;
    // The pool may hand the buffer out again; that is safe only once recorded work is submitted.
    this.gpu.afterSubmit(() => this.gpu.pool.release(buffer));
  }
}

function checkDType(dtype: string): void {
  if (dtype !== "f32" && dtype !== "i32" && dtype !== "u32") {
    throw new TypeError(`Cannot make a tensor of dtype "${dtype}": use "f32", "i32" or "u32"`);
  }
}

function dtypeOf(data: TensorData): DType {
  if (data instanceof Int32Array) return "i32";
  if (data instanceof Uint32Array) return "u32";
  return "f32";
}

/**
 * The typed-array constructor for a dtype.
 *
 * @param dtype An element type.
 * @returns `Float32Array`, `Int32Array` or `Uint32Array`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { arrayType } from "./tensor.ts";
 * const Ctor = arrayType("u32");
 * assert.deepEqual(new Ctor(2), Uint32Array.of(0, 0));
 * ```
 */
export function arrayType(
  dtype: DType,
): Float32ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor {
  return dtype === "f32" ? Float32Array : dtype === "i32" ? Int32Array : Uint32Array;
}

function toTyped(data: TensorData, dtype: DType): Float32Array | Int32Array | Uint32Array {
  const Ctor = arrayType(dtype);
  if (data instanceof Ctor) return data;
  if (dtype !== "f32") {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isInteger(v)) {
        throw new TypeError(
          `Cannot write ${v} at index ${i} into a ${dtype} tensor: not an integer`,
        );
      }
    }
  }
  return Ctor.from(data as ArrayLike<number>);
}

/**
 * Reads several tensors back with one submit and one map, for checkpoints and logs.
 *
 * @param tensors Tensors on one device.
 * @returns One typed array per tensor, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { readAll, Tensor } from "./tensor.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const loss = Tensor.from(gpu, [0.5]);
 * const correct = Tensor.from(gpu, new Int32Array([7]));
 * const [l, c] = await readAll([loss, correct]);
 * assert.deepEqual([l, c], [Float32Array.of(0.5), Int32Array.of(7)]);
 * gpu.destroy();
 * ```
 */
export async function readAll(tensors: readonly Tensor[]): Promise<TypedArrayFor<DType>[]> {
  if (tensors.length === 0) return [];
  const gpu = tensors[0].gpu;
  const offsets: number[] = [];
  let total = 0;
  for (const t of tensors) {
    offsets.push(total);
    total += Math.ceil(t.byteLength / 16) * 16;
  }
  total = Math.max(16, total);
  const staging = gpu.device.createBuffer({
    size: total,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    label: "readback (many)",
  });
  try {
    tensors.forEach((t, i) => {
      if (t.byteLength > 0) {
        gpu.copy(t.buffer, 0, staging, offsets[i], Math.ceil(t.byteLength / 4) * 4);
      }
    });
    gpu.submit();
    await staging.mapAsync(GPUMapMode.READ);
    const mapped = staging.getMappedRange();
    const out = tensors.map((t, i) =>
      new (arrayType(t.dtype))(mapped.slice(offsets[i], offsets[i] + t.byteLength))
    );
    staging.unmap();
    gpu.throwIfFailed();
    return out;
  } finally {
    staging.destroy();
  }
}
