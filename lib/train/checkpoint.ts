/**
 * Stage-1 checkpoints: parameters, SGD velocities, BN running statistics, the epoch reached,
 * the RNG state and the resolved config, in one file written atomically (write, sync, rename).
 *
 * Layout: the 8 bytes `LTKITCK1`, a u32 little-endian header length, a UTF-8 JSON header, zero
 * padding to a multiple of 4, then the f32 data of every tensor the header lists, in order.
 *
 * @module
 */

import { writeFileAtomic } from "../io/_atomic.ts";
import type { TuningRecord } from "../ops/tune.ts";

const MAGIC = "LTKITCK1";
const VERSION = 1;

/**
 * One tensor stored in a checkpoint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CheckpointTensor } from "./checkpoint.ts";
 * const bias: CheckpointTensor = { name: "fc.bias", shape: [2], data: Float32Array.of(0, 1) };
 * assert.equal(bias.data.length, 2);
 * ```
 */
export interface CheckpointTensor {
  /** Parameter or buffer name, e.g. `stem.conv.weight` or `stem.conv.weight.velocity`. */
  readonly name: string;
  /** Its shape. */
  readonly shape: readonly number[];
  /** Its values, row-major. */
  readonly data: Float32Array;
}

/**
 * What a checkpoint holds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
 * const checkpoint: Checkpoint = {
 *   epoch: 3,
 *   step: 300,
 *   rngState: [0, 3],
 *   config: { preset: "smoke" },
 *   history: [{ epoch: 3, loss: 0.5 }],
 *   tensors: [{ name: "fc.bias", shape: [2], data: Float32Array.of(0.25, -0.5) }],
 * };
 * const back = decodeCheckpoint(encodeCheckpoint(checkpoint), "in memory");
 * assert.deepEqual([back.epoch, back.tensors[0].data], [3, Float32Array.of(0.25, -0.5)]);
 * ```
 */
export interface Checkpoint {
  /** Epochs completed. */
  readonly epoch: number;
  /** Optimizer steps completed. */
  readonly step: number;
  /** RNG state words at the end of `epoch`. */
  readonly rngState: readonly number[];
  /** The resolved configuration of the run (JSON-serialisable). */
  readonly config: unknown;
  /** Per-epoch training history (loss, accuracy, ...). */
  readonly history: readonly Record<string, number>[];
  /** Parameters (`name`), velocities (`name.velocity`) and state buffers. */
  readonly tensors: readonly CheckpointTensor[];
  /**
   * The kernel variants the run used ({@link TuningRecord}); `--resume` and `--from-checkpoint`
   * use them again so that the numbers stay the same. Null in checkpoints that predate it.
   */
  readonly tuning?: TuningRecord | null;
  /**
   * How stage 1 split each batch (`count` micro-batches of `size`): `--resume` refuses a device
   * that would split it otherwise, since batch-norm statistics are per micro-batch. Null in
   * checkpoints that predate it (those ran their batch whole).
   */
  readonly microBatches?: { count: number; size: number } | null;
}

/**
 * Serialises a checkpoint to bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Checkpoint, encodeCheckpoint } from "./checkpoint.ts";
 * const checkpoint: Checkpoint = {
 *   epoch: 3,
 *   step: 300,
 *   rngState: [0, 3],
 *   config: { preset: "smoke" },
 *   history: [{ epoch: 3, loss: 0.5 }],
 *   tensors: [{ name: "fc.bias", shape: [2], data: Float32Array.of(0.25, -0.5) }],
 * };
 * const bytes = encodeCheckpoint(checkpoint);
 * assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), "LTKITCK1");
 * ```
 */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const header = {
    version: VERSION,
    epoch: checkpoint.epoch,
    step: checkpoint.step,
    rngState: checkpoint.rngState,
    config: checkpoint.config,
    history: checkpoint.history,
    tuning: checkpoint.tuning ?? null,
    microBatches: checkpoint.microBatches ?? null,
    tensors: checkpoint.tensors.map((t) => ({
      name: t.name,
      shape: t.shape,
      length: t.data.length,
    })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = 12 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const floats = checkpoint.tensors.reduce((n, t) => n + t.data.length, 0);
  const bytes = new Uint8Array(dataStart + floats * 4);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(8, json.length, true);
  bytes.set(json, 12);
  const data = new Float32Array(bytes.buffer, dataStart, floats);
  let offset = 0;
  for (const t of checkpoint.tensors) {
    data.set(t.data, offset);
    offset += t.data.length;
  }
  return bytes;
}

/**
 * Parses checkpoint bytes; `name` is used in error messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
 * const checkpoint: Checkpoint = {
 *   epoch: 3,
 *   step: 300,
 *   rngState: [0, 3],
 *   config: { preset: "smoke" },
 *   history: [{ epoch: 3, loss: 0.5 }],
 *   tensors: [{ name: "fc.bias", shape: [2], data: Float32Array.of(0.25, -0.5) }],
 * };
 * const bytes = encodeCheckpoint(checkpoint);
 * assert.deepEqual(decodeCheckpoint(bytes, "a.bin").history, [{ epoch: 3, loss: 0.5 }]);
 * assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), "a.bin"), SyntaxError);
 * ```
 */
export function decodeCheckpoint(bytes: Uint8Array, name: string): Checkpoint {
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot read checkpoint ${name}: ${why}`);
  };
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    fail(`it does not start with ${MAGIC}; is it an ltkit checkpoint?`);
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + length > bytes.length) fail(`the header claims ${length} bytes but the file is shorter`);
  // deno-lint-ignore no-explicit-any
  let header: any;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length)));
  } catch (error) {
    fail(`the header is not valid JSON (${(error as Error).message}); the file is corrupt`);
  }
  if (header.version !== VERSION) {
    fail(`version ${header.version} is not supported (this ltkit reads version ${VERSION})`);
  }
  const dataStart = Math.ceil((12 + length) / 4) * 4;
  const total = header.tensors.reduce((n: number, t: { length: number }) => n + t.length, 0);
  if (bytes.length !== dataStart + total * 4) {
    fail(
      `expected ${dataStart + total * 4} bytes for ${header.tensors.length} tensors but the ` +
        `file has ${bytes.length}; it is truncated or corrupt`,
    );
  }
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const data = new Float32Array(aligned.buffer, aligned.byteOffset + dataStart, total);
  let offset = 0;
  const tensors = header.tensors.map((t: { name: string; shape: number[]; length: number }) => {
    const slice = data.slice(offset, offset + t.length);
    offset += t.length;
    return { name: t.name, shape: t.shape, data: slice };
  });
  return {
    epoch: header.epoch,
    step: header.step,
    rngState: header.rngState,
    config: header.config,
    history: header.history ?? [],
    tensors,
    tuning: header.tuning ?? null,
    microBatches: header.microBatches ?? null,
  };
}

/**
 * Saves a checkpoint atomically ({@link writeFileAtomic}): a failed save keeps the previous
 * checkpoint and leaves no temporary, and its error names the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Checkpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
 * const dir = await Deno.makeTempDir();
 * const checkpoint: Checkpoint = {
 *   epoch: 3,
 *   step: 300,
 *   rngState: [0, 3],
 *   config: { preset: "smoke" },
 *   history: [{ epoch: 3, loss: 0.5 }],
 *   tensors: [{ name: "fc.bias", shape: [2], data: Float32Array.of(0.25, -0.5) }],
 * };
 * await saveCheckpoint(`${dir}/checkpoint.bin`, checkpoint);
 * assert.equal((await loadCheckpoint(`${dir}/checkpoint.bin`)).step, 300);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(checkpoint), "checkpoint");
}

/**
 * Loads a checkpoint, with a clear error for a missing or corrupt file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/checkpoint.bin`;
 * await assert.rejects(loadCheckpoint(path), /no such file; check the path or run stage 1 first/);
 * await saveCheckpoint(path, {
 *   epoch: 1,
 *   step: 10,
 *   rngState: [0, 1],
 *   config: null,
 *   history: [],
 *   tensors: [],
 * });
 * assert.equal((await loadCheckpoint(path)).epoch, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot read checkpoint ${path}: no such file; check the path or run stage 1 first`,
      );
    }
    throw error;
  }
  return decodeCheckpoint(bytes, path);
}

/**
 * Hex SHA-256 of a file (recorded in feature dumps to tie them to their checkpoint).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Hex } from "./checkpoint.ts";
 * assert.equal(
 *   await sha256Hex(new TextEncoder().encode("abc")),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
