/**
 * A free list of GPU buffers by size and usage, so that repeated work (a training step, a stage-2
 * epoch) allocates nothing new once warm. It also tracks what is allocated, for memory figures.
 *
 * @module
 */

/** Sizes are rounded up to this many bytes, so near-equal requests share buffers. */
const GRANULE = 256;

/**
 * Buffer pool keyed by (rounded size, usage).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const a = gpu.pool.acquire(1000, GPUBufferUsage.STORAGE);
 * gpu.pool.release(a);
 * const b = gpu.pool.acquire(1024, GPUBufferUsage.STORAGE); // same rounded size: reused
 * assert.deepEqual([a === b, b.size], [true, 1024]);
 * gpu.destroy();
 * ```
 */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #free = new Map<string, GPUBuffer[]>();
  #allocatedBytes = 0;
  #peakBytes = 0;

  /**
   * Creates an empty pool; every `Gpu` has one as `gpu.pool`.
   *
   * @param device The device that creates the buffers.
   */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Bytes in live buffers created through the pool (in use or free). */
  get allocatedBytes(): number {
    return this.#allocatedBytes;
  }

  /** The most bytes ever allocated at once. */
  get peakBytes(): number {
    return this.#peakBytes;
  }

  /** Returns a buffer of at least `bytes` bytes with exactly `usage`. */
  acquire(bytes: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer {
    const size = roundSize(bytes);
    const list = this.#free.get(key(size, usage));
    const reused = list?.pop();
    if (reused) return reused;
    const buffer = this.#device.createBuffer({ size, usage, label });
    this.#allocatedBytes += size;
    this.#peakBytes = Math.max(this.#peakBytes, this.#allocatedBytes);
    return buffer;
  }

  /** Gives a buffer back for reuse. It must not be used by the caller afterwards. */
  release(buffer: GPUBuffer): void {
    const k = key(buffer.size, buffer.usage);
    let list = this.#free.get(k);
    if (!list) {
      list = [];
      this.#free.set(k, list);
    }
    list.push(buffer);
  }

  /** Destroys a buffer that came from this pool instead of keeping it. */
  discard(buffer: GPUBuffer): void {
    this.#allocatedBytes -= buffer.size;
    buffer.destroy();
  }

  /** Destroys every free buffer. */
  clear(): void {
    for (const list of this.#free.values()) {
      for (const buffer of list) this.discard(buffer);
    }
    this.#free.clear();
  }
}

function roundSize(bytes: number): number {
  return Math.max(GRANULE, Math.ceil(bytes / GRANULE) * GRANULE);
}

function key(size: number, usage: GPUBufferUsageFlags): string {
  return `${size}:${usage}`;
}
