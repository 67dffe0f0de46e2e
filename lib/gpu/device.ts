/**
 * The GPU context: adapter and device acquisition with clear errors, the limits the kit needs,
 * device-loss handling, and the shared command encoder that ops record into.
 *
 * Ops never submit on their own. They record dispatches into {@link Gpu.pass}; the caller decides
 * when one submit runs them all ({@link Gpu.submit}) and when to wait ({@link Gpu.sync}), so a
 * whole training step can be a single submit.
 *
 * @module
 */

import { GpuCache } from "./_cache.ts";
import { BufferPool } from "./_pool.ts";

/**
 * Options for {@link requestGpu}.
 *
 * @example
 * ```ts
 * import { type GpuOptions, requestGpu } from "./device.ts";
 * const options: GpuOptions = { powerPreference: "low-power", warnFallback: false };
 * const gpu = await requestGpu(options);
 * gpu.destroy();
 * ```
 */
export interface GpuOptions {
  /** `"high-performance"` (default) or `"low-power"`. */
  powerPreference?: GPUPowerPreference;
  /** Print the adapter once on stderr. */
  verbose?: boolean;
  /** Warn on stderr when the adapter is a software fallback (default true). */
  warnFallback?: boolean;
  /** Label used in error messages and GPU debug tools. */
  label?: string;
  /**
   * Where to find WebGPU (default `globalThis.navigator`); tests pass stubs to check the errors
   * for a missing API, no adapter or a too-small adapter.
   */
  navigator?: { gpu?: GPU };
  /**
   * How kernel families choose their configurations (default `"auto"`); see {@link Gpu.tune}.
   * The command-line tools read it from `LTKIT_TUNE` (lib/ops/tune.ts `tuneMode`).
   */
  tune?: TuneMode;
  /**
   * Names the driver behind the adapter ({@link AdapterSummary.driver}, part of the key under
   * which tuning choices are stored), since WebGPU reports no driver version. Finding it means
   * reading the host's Vulkan ICD files, which this module does not do: the command-line tools
   * and the tests pass lib/io/_driver.ts's `driverVersion` (lib/io/_gpu_host.ts). Default: none.
   */
  driver?: (adapter: { description: string; vendor: string }) => string;
  /**
   * Lower limits the kit obeys as if the device had them (each at most the adapter's), so that
   * tests can exercise the splitting of work past the limits on a small problem.
   */
  lowerLimits?: LowerLimits;
}

/**
 * Limits that {@link GpuOptions.lowerLimits} may lower.
 *
 * @example
 * ```ts
 * import type { LowerLimits } from "./device.ts";
 * const tiny: LowerLimits = { maxComputeWorkgroupsPerDimension: 3 };
 * console.log(tiny.maxComputeWorkgroupsPerDimension); // 3
 * ```
 */
export type LowerLimits = Partial<
  Record<
    "maxComputeWorkgroupsPerDimension" | "maxStorageBufferBindingSize" | "maxBufferSize",
    number
  >
>;

/**
 * `limits` with `lower` applied, as a plain object; each must be a positive integer at most the
 * real one.
 */
function lowered(limits: GPUSupportedLimits, lower: LowerLimits): GPUSupportedLimits {
  const out: Record<string, number> = {};
  for (const name in limits) out[name] = limits[name as keyof GPUSupportedLimits] as number;
  for (const [name, value] of Object.entries(lower)) {
    if (!Number.isInteger(value) || value! < 1 || value! > out[name]) {
      throw new RangeError(
        `Cannot lower ${name} to ${value}: it must be a positive integer at most the device's ` +
          `${out[name]}`,
      );
    }
    out[name] = value!;
  }
  return out as unknown as GPUSupportedLimits;
}

/**
 * How kernel families choose their configurations (tile shapes, workgroup sizes): `auto` times
 * the candidates once per adapter and keeps the winner, `off` uses each family's default
 * without timing, `force` ignores stored results and times again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TuneMode } from "./device.ts";
 * const modes: TuneMode[] = ["auto", "off", "force"];
 * assert.equal(modes.length, 3);
 * ```
 */
export type TuneMode = "auto" | "off" | "force";

/**
 * Summary of the adapter, for reports and logs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const { description, isFallbackAdapter } = gpu.adapter;
 * // e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" true: both depend on the adapter.
 * assert.ok(description.length > 0);
 * assert.equal(typeof isFallbackAdapter, "boolean");
 * gpu.destroy();
 * ```
 */
export interface AdapterSummary {
  /** Human-readable adapter name (falls back to the device name, then "unknown adapter"). */
  description: string;
  /** Vendor as the driver reports it; may be empty. */
  vendor: string;
  /** Architecture as the driver reports it; may be empty. */
  architecture: string;
  /** Device name as the driver reports it; may be empty. */
  device: string;
  /** True for software (CPU) adapters such as lavapipe. */
  isFallbackAdapter: boolean;
  /** The smallest subgroup size the adapter may use (0 when it does not say). */
  subgroupMinSize: number;
  /**
   * The driver behind the adapter, e.g. "Mesa 25.0.7-2~bpo12+1", as {@link GpuOptions.driver}
   * names it (WebGPU reports no driver version); "" when unknown.
   */
  driver: string;
}

/** Limits the kit asks for: the adapter's maximum for each, so big tensors fit where they can. */
const REQUESTED_LIMITS = [
  "maxStorageBuffersPerShaderStage",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupsPerDimension",
  "maxBindingsPerBindGroup",
] as const;

/** The kit cannot run below these (the largest kernels bind this many storage buffers). */
const MINIMUM_LIMITS: Partial<Record<(typeof REQUESTED_LIMITS)[number], number>> = {
  maxStorageBuffersPerShaderStage: 8,
  maxComputeInvocationsPerWorkgroup: 256,
};

/**
 * Thrown when no usable WebGPU device can be had; the message says how to get one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GpuUnavailableError, requestGpu } from "./device.ts";
 * // A navigator without `gpu`, as in a runtime that lacks WebGPU.
 * await assert.rejects(requestGpu({ navigator: {} }), GpuUnavailableError);
 * ```
 */
export class GpuUnavailableError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is missing and how to get it, "Cannot get a GPU: ...".
   */
  constructor(message: string) {
    super(message);
    this.name = "GpuUnavailableError";
  }
}

/**
 * Thrown when the device was lost; every later GPU call throws it too. A destroyed {@link Gpu}
 * throws it as well.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GpuLostError, requestGpu } from "./device.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * gpu.destroy();
 * assert.throws(() => gpu.assertAlive("record work"), GpuLostError);
 * ```
 */
export class GpuLostError extends Error {
  /**
   * Creates the error.
   *
   * @param message "Cannot <action>: the GPU device was lost (...)".
   */
  constructor(message: string) {
    super(message);
    this.name = "GpuLostError";
  }
}

/**
 * What a dispatch says about itself to timers: its kernel's name and its cost.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DispatchSource } from "./device.ts";
 * const source: DispatchSource = {
 *   pipeline: { name: "kernels/gemm.wgsl:gemm_main" },
 *   cost: { flops: 2e6, bytes: 1.2e4 },
 * };
 * assert.equal(source.pipeline.name.split(":")[1], "gemm_main");
 * ```
 */
export interface DispatchSource {
  /** The pipeline, named `file:entry`. */
  readonly pipeline: { readonly name: string };
  /** FLOPs and bytes moved per run (see `Cost` in kernel.ts). */
  readonly cost: { readonly flops: number; readonly bytes: number };
}

/**
 * A dispatch taken by {@link Gpu.capture} instead of being recorded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "./mod.ts";
 * import { prepareFill } from "../ops/elementwise.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const t = Tensor.empty(gpu, [8]);
 * const fill = await prepareFill(gpu, t, 3);
 * const [captured] = gpu.capture(() => fill.record()); // recorded nowhere yet
 * const encoder = gpu.device.createCommandEncoder();
 * const pass = encoder.beginComputePass();
 * gpu.encodeDispatch(captured, pass);
 * pass.end();
 * gpu.device.queue.submit([encoder.finish()]);
 * assert.equal(captured.source?.pipeline.name, "kernels/elementwise.wgsl:fill");
 * assert.equal((await t.read())[7], 3);
 * gpu.destroy();
 * ```
 */
export interface CapturedDispatch {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
  readonly source?: DispatchSource;
}

/**
 * A WebGPU device plus the state ops share: a buffer pool, a lazily opened command encoder and
 * compute pass, and buffers to free once the current submit is done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { Tensor } from "./tensor.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const t = Tensor.from(gpu, [1, 2, 3]);
 * gpu.submit(); // runs everything recorded so far (here: nothing but the upload)
 * await gpu.sync(); // and waits for it
 * assert.deepEqual([gpu.hasPending, gpu.dispatchCount], [false, 0]);
 * t.destroy();
 * gpu.destroy();
 * ```
 */
export class Gpu {
  /** The WebGPU device. */
  readonly device: GPUDevice;
  /** What the adapter says about itself. */
  readonly adapter: AdapterSummary;
  /** The device's limits (the adapter's maxima for the limits the kit asks for). */
  readonly limits: GPUSupportedLimits;
  /** Storage and readback buffers, reused across steps. */
  readonly pool: BufferPool;
  /** Per-device cache with typed keys, used by ops for pipelines, tuned tile shapes and the like. */
  readonly cache: GpuCache = new GpuCache();
  /**
   * How kernel families choose their configurations ({@link TuneMode}); set from
   * {@link GpuOptions.tune}, and settable so that a test can switch it.
   */
  tune: TuneMode = "auto";
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #afterSubmit: (() => void)[] = [];
  #lost: string | null = null;
  #uncaptured: string | null = null;
  #destroyed = false;
  #dispatches = 0;
  #submits = 0;
  #captured: CapturedDispatch[] | null = null;

  /**
   * Wraps a device; prefer {@link requestGpu}, which also checks the limits the kit needs.
   *
   * @param device A WebGPU device.
   * @param adapter The adapter summary to report.
   * @param lower Limits to obey below the device's (see {@link GpuOptions.lowerLimits}).
   */
  constructor(device: GPUDevice, adapter: AdapterSummary, lower: LowerLimits = {}) {
    this.device = device;
    this.adapter = adapter;
    this.limits = Object.keys(lower).length === 0 ? device.limits : lowered(device.limits, lower);
    this.pool = new BufferPool(device);
    device.lost.then((info) => {
      if (this.#destroyed) return;
      this.#lost = `${info.reason ?? "unknown"}: ${info.message || "no message"}`;
      console.error(
        `ltkit: the GPU device was lost (${this.#lost}); restart the program, or resume from ` +
          `the last checkpoint with --resume`,
      );
    });
    device.addEventListener("uncapturederror", (event) => {
      const message = (event as GPUUncapturedErrorEvent).error?.message ?? String(event);
      this.#uncaptured ??= message;
    });
  }

  /** True when the adapter is a software (CPU) implementation such as lavapipe. */
  get isFallback(): boolean {
    return this.adapter.isFallbackAdapter;
  }

  /**
   * True when the device has subgroup operations (the `subgroups` feature), which the subgroup
   * variants of row reductions need.
   */
  get hasSubgroups(): boolean {
    return this.device.features.has("subgroups");
  }

  /** Number of dispatches recorded since the device was created (for tests and profiling). */
  get dispatchCount(): number {
    return this.#dispatches;
  }

  /** Throws if the device is lost or destroyed; call before recording work. */
  assertAlive(action = "use the GPU"): void {
    if (this.#destroyed) throw new GpuLostError(`Cannot ${action}: the Gpu was destroyed`);
    if (this.#lost !== null) {
      throw new GpuLostError(
        `Cannot ${action}: the GPU device was lost (${this.#lost}); restart, or resume from ` +
          `the last checkpoint with --resume`,
      );
    }
  }

  /** Number of submits so far; work recorded now goes into submit number `submitCount`. */
  get submitCount(): number {
    return this.#submits;
  }

  /** True when work has been recorded but not yet submitted. */
  get hasPending(): boolean {
    return this.#encoder !== null;
  }

  /** The shared command encoder, opened on first use. */
  get encoder(): GPUCommandEncoder {
    this.assertAlive("record GPU work");
    this.#encoder ??= this.device.createCommandEncoder({ label: "ltkit" });
    return this.#encoder;
  }

  /** The shared compute pass; successive dispatches share it until a copy or submit closes it. */
  get pass(): GPUComputePassEncoder {
    this.#pass ??= this.encoder.beginComputePass();
    return this.#pass;
  }

  /**
   * Records one dispatch into the shared pass (into the capture list inside {@link capture}).
   * `source` names the kernel and its cost, for timing tables.
   */
  dispatch(
    pipeline: GPUComputePipeline,
    bindGroup: GPUBindGroup,
    workgroups: readonly [number, number, number],
    source?: DispatchSource,
  ): void {
    const [x, y, z] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new RangeError(
        `Cannot dispatch: ${x}x${y}x${z} workgroups exceeds the device limit of ${max} per ` +
          `dimension; split the work or use larger tiles`,
      );
    }
    if (this.#captured) {
      this.#captured.push({ pipeline, bindGroup, workgroups: [x, y, z], source });
      return;
    }
    this.encodeDispatch({ pipeline, bindGroup, workgroups: [x, y, z] }, this.pass);
  }

  /**
   * Runs `fn` and returns the dispatches it records instead of recording them, so that a timer
   * can run each one on its own ({@link encodeDispatch}).
   */
  capture(fn: () => void): CapturedDispatch[] {
    const captured: CapturedDispatch[] = [];
    const outer = this.#captured;
    this.#captured = captured;
    try {
      fn();
    } finally {
      this.#captured = outer;
    }
    return captured;
  }

  /** Encodes a captured dispatch into `pass` (a pass of the caller's own encoder). */
  encodeDispatch(d: CapturedDispatch, pass: GPUComputePassEncoder): void {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(...d.workgroups);
    this.#dispatches++;
  }

  /** Records a buffer copy (closes the open compute pass first). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.#endPass();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Runs `fn` once the current batch of work has been submitted (frees transient buffers). */
  afterSubmit(fn: () => void): void {
    this.#afterSubmit.push(fn);
  }

  /** Submits everything recorded so far as one command buffer. Cheap when nothing is pending. */
  submit(): void {
    this.assertAlive("submit GPU work");
    this.#endPass();
    if (this.#encoder !== null) {
      this.device.queue.submit([this.#encoder.finish()]);
      this.#encoder = null;
      this.#submits++;
    }
    const pending = this.#afterSubmit;
    this.#afterSubmit = [];
    for (const fn of pending) fn();
  }

  /** Submits pending work and waits for the GPU to finish it; surfaces validation errors. */
  async sync(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfFailed();
  }

  /** Throws the first uncaptured GPU error since the last check, if any. */
  throwIfFailed(): void {
    this.assertAlive("use the GPU");
    if (this.#uncaptured !== null) {
      const message = this.#uncaptured;
      this.#uncaptured = null;
      throw new Error(`GPU error: ${message}`);
    }
  }

  /** The largest buffer that can be both created and bound whole as storage, in bytes. */
  get maxTensorBytes(): number {
    return Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
  }

  /** Checks that a buffer of `bytes` can be created and bound; throws before any dispatch. */
  assertFits(what: string, bytes: number): void {
    const max = this.maxTensorBytes;
    if (bytes > max) {
      throw new RangeError(
        `Cannot allocate ${what}: ${formatBytes(bytes)} exceeds this device's limit of ` +
          `${formatBytes(max)} per storage buffer (adapter "${this.adapter.description}"); ` +
          `use a smaller batch or split the tensor`,
      );
    }
  }

  /** Releases the pool and the device. The Gpu is unusable afterwards. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#pass = null;
    this.#encoder = null;
    this.pool.clear();
    this.device.destroy();
  }

  #endPass(): void {
    if (this.#pass !== null) {
      this.#pass.end();
      this.#pass = null;
    }
  }
}

/**
 * Gets an adapter and a device, with errors that say how to fix a missing WebGPU or adapter.
 *
 * @param options Power preference, logging, and a navigator stub for tests.
 * @returns A ready {@link Gpu}; call {@link Gpu.destroy} when done.
 * @throws {GpuUnavailableError} When WebGPU, an adapter or the needed limits are missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.ok(gpu.limits.maxStorageBuffersPerShaderStage >= 8);
 * gpu.destroy();
 * ```
 */
export async function requestGpu(options: GpuOptions = {}): Promise<Gpu> {
  const nav = options.navigator ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (!nav?.gpu) {
    // A capability probe, for the message only: a browser has no Deno global.
    const deno = globalThis.Deno?.version?.deno;
    const runtime = deno ? `Deno ${deno}` : "this runtime";
    throw new GpuUnavailableError(
      `Cannot get a GPU: navigator.gpu is missing in ${runtime}. ltkit needs WebGPU: use ` +
        `Deno 2.x (WebGPU is built in; on Deno 1.x pass --unstable-webgpu)`,
    );
  }
  const adapter = await nav.gpu.requestAdapter({
    powerPreference: options.powerPreference ?? "high-performance",
  });
  if (!adapter) {
    throw new GpuUnavailableError(
      "Cannot get a GPU: WebGPU found no adapter. Install a GPU driver with Vulkan support, or " +
        "for a (slow) CPU fallback run `apt-get install mesa-vulkan-drivers`. " +
        "DENO_WEBGPU_BACKEND=vulkan|gl selects the backend",
    );
  }
  const summary = summarizeAdapter(adapter, options.driver);
  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) {
    const have = adapter.limits[name] as number;
    const need = MINIMUM_LIMITS[name];
    if (need !== undefined && have < need) {
      throw new GpuUnavailableError(
        `Cannot use adapter "${summary.description}": its ${name} is ${have}, ltkit needs at ` +
          `least ${need}`,
      );
    }
    requiredLimits[name] = have;
  }
  // Timestamps cost nothing until a pass asks for them; per-kernel timings use them.
  const base: GPUFeatureName[] = adapter.features?.has("timestamp-query")
    ? ["timestamp-query"]
    : [];
  const request = (extra: GPUFeatureName[]) =>
    adapter.requestDevice({
      label: options.label ?? "ltkit",
      requiredLimits,
      requiredFeatures: [...base, ...extra],
    });
  // Subgroup operations feed the subgroup variants of row reductions. Deno 2.9.6 grants
  // "subgroups" on lavapipe without listing it in adapter.features, so it is asked for whenever
  // the adapter does not refuse it; a refusal rejects before the adapter is used up.
  let device: GPUDevice;
  try {
    device = await request(["subgroups" as GPUFeatureName]);
  } catch {
    device = await request([]);
  }
  if (options.verbose) {
    console.error(
      `ltkit: adapter "${summary.description}" (vendor ${summary.vendor || "?"}, ` +
        `architecture ${summary.architecture || "?"}, driver ${summary.driver || "?"})${
          summary.isFallbackAdapter ? ", software fallback" : ""
        }`,
    );
  }
  if (summary.isFallbackAdapter && (options.warnFallback ?? true)) {
    console.error(
      `ltkit: warning: "${summary.description}" is a software fallback adapter; everything ` +
        `runs on the CPU and is far slower than on a GPU`,
    );
  }
  const gpu = new Gpu(device, summary, options.lowerLimits);
  gpu.tune = options.tune ?? "auto";
  return gpu;
}

function summarizeAdapter(
  adapter: GPUAdapter,
  driver: GpuOptions["driver"],
): AdapterSummary {
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  const record = (info ?? {}) as unknown as Record<string, unknown>;
  const fallback = record.isFallbackAdapter ??
    (adapter as unknown as Record<string, unknown>).isFallbackAdapter ?? false;
  const description = String(record.description || record.device || "unknown adapter");
  const vendor = String(record.vendor ?? "");
  return {
    description,
    vendor,
    architecture: String(record.architecture ?? ""),
    device: String(record.device ?? ""),
    isFallbackAdapter: Boolean(fallback),
    subgroupMinSize: Number(record.subgroupMinSize ?? 0) || 0,
    driver: driver?.({ description, vendor }) ?? "",
  };
}

/**
 * Formats a byte count for messages: `128 MiB`.
 *
 * @param bytes A byte count.
 * @returns The count in the largest binary unit (up to GiB) that keeps it at least 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "./device.ts";
 * assert.equal(formatBytes(134217728), "128 MiB");
 * assert.equal(formatBytes(1536), "1.5 KiB");
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
