/**
 * The kernel loader: WGSL sources arrive with the module graph (static text imports), are
 * reflected with wgsl_reflect to derive bind-group layouts and uniform layouts, and compile into
 * pipelines cached by (source, entry point, override constants).
 *
 * A {@link Dispatch} is one prepared kernel invocation: pipeline, bind group, its own uniform
 * buffer and workgroup count. Build it once, record it every step.
 *
 * @module
 */

import { WgslReflect } from "../_deps.ts";
import { cacheKey } from "./_cache.ts";
import type { Gpu } from "./device.ts";
import { type DType, formatShape, Tensor } from "./tensor.ts";

/**
 * A WGSL source and the repository path it came from (for error messages). Kernels in
 * `kernels/` arrive as text imports; a literal works too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { KernelSource } from "./kernel.ts";
 * const SCALE: KernelSource = {
 *   file: "example/scale.wgsl",
 *   source: `
 * struct Params { n: u32, alpha: f32 }
 * @group(0) @binding(0) var<storage, read> x: array<f32>;
 * @group(0) @binding(1) var<storage, read_write> y: array<f32>;
 * @group(0) @binding(2) var<uniform> p: Params;
 * @compute @workgroup_size(64)
 * fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
 *   if (gid.x < p.n) { y[gid.x] = p.alpha * x[gid.x]; }
 * }`,
 * };
 * assert.equal(SCALE.file, "example/scale.wgsl");
 * ```
 */
export interface KernelSource<E extends string = string> {
  /** Repository-relative path, e.g. `kernels/gemm.wgsl`. */
  readonly file: string;
  /** The WGSL text. */
  readonly source: string;
  /**
   * The family's entry table (name to entry point). With it, {@link getPipeline} accepts only
   * those entry points, so a misspelt entry fails type checking instead of on the device.
   */
  readonly entries?: Readonly<Record<string, E>>;
}

/**
 * The entry-point names of an entry table, e.g. `EntryOf<typeof GEMM_ENTRIES>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EntryOf, KernelSource } from "./kernel.ts";
 * const ENTRIES = { forward: "scale", backward: "scale_backward" } as const;
 * const entry: EntryOf<typeof ENTRIES> = ENTRIES.backward;
 * const src: KernelSource<EntryOf<typeof ENTRIES>> = { file: "x.wgsl", source: "", entries: ENTRIES };
 * assert.equal(entry, "scale_backward");
 * assert.deepEqual(Object.values(src.entries!), ["scale", "scale_backward"]);
 * ```
 */
export type EntryOf<T extends Readonly<Record<string, string>>> = T[keyof T];

/**
 * A kernel variant made from a base source by swapping its marked region (the lines from
 * `// BEGIN <region>` to `// END <region>`) for another file: the subgroup variants replace the
 * reductions of softmax.wgsl and batchnorm.wgsl this way, since a module that so much as names
 * a subgroup builtin fails to compile on a device without the feature.
 *
 * @param base The source with the marked region.
 * @param region The marker name, e.g. `row reductions`.
 * @param part What goes in its place.
 * @returns The combined source, named `base.file with part.file`.
 * @throws {SyntaxError} When `base` lacks the markers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spliceKernel } from "./kernel.ts";
 * const base = { file: "a.wgsl", source: "x\n// BEGIN r (note)\nold\n// END r\ny\n" };
 * const part = { file: "b.wgsl", source: "new\n" };
 * const v = spliceKernel(base, "r", part);
 * assert.deepEqual([v.file, v.source], ["a.wgsl with b.wgsl", "x\nnew\ny\n"]);
 * ```
 */
export function spliceKernel<E extends string>(
  base: KernelSource<E>,
  region: string,
  part: KernelSource,
): KernelSource<E> {
  const begin = base.source.indexOf(`// BEGIN ${region}`);
  const endMarker = `// END ${region}\n`;
  const end = base.source.indexOf(endMarker, begin);
  if (begin < 0 || end < 0) {
    throw new SyntaxError(
      `Cannot build a variant of ${base.file}: it has no "// BEGIN ${region}" ... ` +
        `"// END ${region}" markers`,
    );
  }
  return {
    file: `${base.file} with ${part.file}`,
    source: base.source.slice(0, begin) + part.source + base.source.slice(end + endMarker.length),
    ...(base.entries ? { entries: base.entries } : {}),
  };
}

/**
 * How an entry point uses one binding, from reflection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { type BindingInfo, getPipeline, type KernelSource } from "./kernel.ts";
 * const SCALE: KernelSource = {
 *   file: "example/scale.wgsl",
 *   source: `
 * struct Params { n: u32, alpha: f32 }
 * @group(0) @binding(0) var<storage, read> x: array<f32>;
 * @group(0) @binding(1) var<storage, read_write> y: array<f32>;
 * @group(0) @binding(2) var<uniform> p: Params;
 * @compute @workgroup_size(64)
 * fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
 *   if (gid.x < p.n) { y[gid.x] = p.alpha * x[gid.x]; }
 * }`,
 * };
 * const gpu = await requestGpu({ warnFallback: false });
 * const pipeline = await getPipeline(gpu, SCALE, "scale");
 * const y: BindingInfo = pipeline.bindings[1];
 * assert.deepEqual([y.name, y.binding, y.kind, y.scalar], ["y", 1, "read_write", "f32"]);
 * gpu.destroy();
 * ```
 */
export interface BindingInfo {
  /** The variable's name in the WGSL source. */
  readonly name: string;
  /** The `@binding` index in group 0. */
  readonly binding: number;
  /** Read-only storage, read-write storage, or uniform. */
  readonly kind: "read" | "read_write" | "uniform";
  /** The smallest buffer the declaration accepts, in bytes. */
  readonly minBytes: number;
  /** Scalar element type of the array or struct (`f32`, `i32`, `u32`), if known. */
  readonly scalar: DType | null;
  /** For uniform structs: each member's byte offset and scalar type. */
  readonly members: readonly UniformMember[];
}

/**
 * One scalar member of a uniform struct.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { getPipeline, type KernelSource, type UniformMember } from "./kernel.ts";
 * const SCALE: KernelSource = {
 *   file: "example/scale.wgsl",
 *   source: `
 * struct Params { n: u32, alpha: f32 }
 * @group(0) @binding(0) var<storage, read> x: array<f32>;
 * @group(0) @binding(1) var<storage, read_write> y: array<f32>;
 * @group(0) @binding(2) var<uniform> p: Params;
 * @compute @workgroup_size(64)
 * fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
 *   if (gid.x < p.n) { y[gid.x] = p.alpha * x[gid.x]; }
 * }`,
 * };
 * const gpu = await requestGpu({ warnFallback: false });
 * const pipeline = await getPipeline(gpu, SCALE, "scale");
 * const members: readonly UniformMember[] = pipeline.uniform!.members;
 * assert.deepEqual(members.map((m) => `${m.name}@${m.offset}:${m.type}`), ["n@0:u32", "alpha@4:f32"]);
 * gpu.destroy();
 * ```
 */
export interface UniformMember {
  /** Member name in the WGSL struct; {@link Dispatch.setUniforms} takes values by this name. */
  readonly name: string;
  /** Byte offset within the struct. */
  readonly offset: number;
  /** Scalar type the value is written as. */
  readonly type: "f32" | "i32" | "u32";
}

/**
 * Values for a kernel's override constants.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Constants } from "./kernel.ts";
 * const tiles: Constants = { WG: 64, PER: 4 };
 * assert.deepEqual(Object.keys(tiles), ["WG", "PER"]);
 * ```
 */
export type Constants = Readonly<Record<string, number>>;

/**
 * What a dispatch binds by name: tensors or raw buffers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import type { Resources } from "./kernel.ts";
 * import { Tensor } from "./tensor.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const resources: Resources = { x: Tensor.from(gpu, [1, 2]), y: Tensor.zeros(gpu, [2]) };
 * assert.deepEqual(Object.keys(resources), ["x", "y"]);
 * gpu.destroy();
 * ```
 */
export type Resources = Readonly<Record<string, Tensor | GPUBuffer>>;

interface Reflected {
  reflect: WgslReflect;
  overrides: Set<string>;
}

const reflections = new Map<string, Reflected>();

function reflectSource(src: KernelSource): Reflected {
  let found = reflections.get(src.source);
  if (!found) {
    let reflect: WgslReflect;
    try {
      reflect = new WgslReflect(src.source);
    } catch (error) {
      throw new SyntaxError(`Cannot parse ${src.file}: ${(error as Error).message}`);
    }
    found = { reflect, overrides: new Set(reflect.overrides.map((o: { name: string }) => o.name)) };
    reflections.set(src.source, found);
  }
  return found;
}

/**
 * A compiled compute pipeline for one entry point with its reflected bindings. Get one from
 * {@link getPipeline}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { getPipeline, type KernelSource } from "./kernel.ts";
 * const SCALE: KernelSource = {
 *   file: "example/scale.wgsl",
 *   source: `
 * struct Params { n: u32, alpha: f32 }
 * @group(0) @binding(0) var<storage, read> x: array<f32>;
 * @group(0) @binding(1) var<storage, read_write> y: array<f32>;
 * @group(0) @binding(2) var<uniform> p: Params;
 * @compute @workgroup_size(64)
 * fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
 *   if (gid.x < p.n) { y[gid.x] = p.alpha * x[gid.x]; }
 * }`,
 * };
 * const gpu = await requestGpu({ warnFallback: false });
 * const pipeline = await getPipeline(gpu, SCALE, "scale");
 * assert.equal(pipeline.name, "example/scale.wgsl:scale");
 * assert.deepEqual(pipeline.bindings.map((b) => b.name), ["x", "y", "p"]);
 * assert.equal(pipeline.uniform?.name, "p");
 * gpu.destroy();
 * ```
 */
export class Pipeline {
  /** `file:entry`, used in error messages. */
  readonly name: string;
  /** The WebGPU pipeline. */
  readonly pipeline: GPUComputePipeline;
  /** The bind-group layout derived from reflection (group 0). */
  readonly layout: GPUBindGroupLayout;
  /** Bindings the entry point uses, by binding index. */
  readonly bindings: readonly BindingInfo[];
  /** The override constants it was compiled with (sorted by name). */
  readonly constants: Constants;

  /**
   * Wraps compiled parts; {@link getPipeline} is the way to make one.
   *
   * @param name `file:entry`.
   * @param pipeline The WebGPU pipeline.
   * @param layout Its bind-group layout.
   * @param bindings The reflected bindings.
   * @param constants The override constants.
   */
  constructor(
    name: string,
    pipeline: GPUComputePipeline,
    layout: GPUBindGroupLayout,
    bindings: readonly BindingInfo[],
    constants: Constants,
  ) {
    this.name = name;
    this.pipeline = pipeline;
    this.layout = layout;
    this.bindings = bindings;
    this.constants = constants;
  }

  /** The uniform binding, if the entry point has one. */
  get uniform(): BindingInfo | undefined {
    return this.bindings.find((b) => b.kind === "uniform");
  }
}

/**
 * Compiles (or fetches from the device's cache) the pipeline for `entry` in `src`.
 * Concurrent requests for the same pipeline share one compile.
 *
 * @param gpu The device whose cache holds the pipeline.
 * @param src The WGSL source.
 * @param entry A compute entry point in `src`.
 * @param constants Values for override constants; unknown names throw.
 * @returns The pipeline, shared by every caller with the same source, entry and constants.
 * @throws {SyntaxError} On WGSL errors, as `file:line:col message` lines.
 * @throws {RangeError} On an unknown entry point or override constant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { getPipeline, type KernelSource } from "./kernel.ts";
 * const SCALE: KernelSource = {
 *   file: "example/scale.wgsl",
 *   source: `
 * struct Params { n: u32, alpha: f32 }
 * @group(0) @binding(0) var<storage, read> x: array<f32>;
 * @group(0) @binding(1) var<storage, read_write> y: array<f32>;
 * @group(0) @binding(2) var<uniform> p: Params;
 * @compute @workgroup_size(64)
 * fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
 *   if (gid.x < p.n) { y[gid.x] = p.alpha * x[gid.x]; }
 * }`,
 * };
 * const gpu = await requestGpu({ warnFallback: false });
 * const [a, b] = await Promise.all([
 *   getPipeline(gpu, SCALE, "scale"),
 *   getPipeline(gpu, SCALE, "scale"),
 * ]);
 * assert.equal(a, b); // compiled once
 * gpu.destroy();
 * ```
 */
export function getPipeline<E extends string>(
  gpu: Gpu,
  src: KernelSource<E>,
  entry: NoInfer<E>,
  constants: Constants = {},
): Promise<Pipeline> {
  let reflected: Reflected;
  try {
    reflected = reflectSource(src);
  } catch (error) {
    // wgsl_reflect reports a line but no column; the device compiler says exactly where.
    return compileModule(gpu, src, `${src.file}:${entry}`).then(() => Promise.reject(error));
  }
  const { reflect, overrides } = reflected;
  for (const name of Object.keys(constants)) {
    if (!overrides.has(name)) {
      throw new RangeError(
        `Cannot compile ${src.file}:${entry}: it has no override constant "${name}" ` +
          `(it has: ${[...overrides].join(", ") || "none"})`,
      );
    }
  }
  const sorted = Object.fromEntries(
    Object.entries(constants).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  let bySource = pipelineCache(gpu).get(src.source);
  if (!bySource) {
    bySource = new Map();
    pipelineCache(gpu).set(src.source, bySource);
  }
  const key = JSON.stringify([entry, sorted]);
  let pending = bySource.get(key);
  if (!pending) {
    pending = compile(gpu, src, reflect, entry, sorted);
    bySource.set(key, pending);
    pending.catch(() => bySource!.delete(key));
  }
  return pending;
}

/** Compiles by source text, then by `[entry, sorted constants]`. */
const PIPELINES = cacheKey<Map<string, Map<string, Promise<Pipeline>>>>("kernel:pipelines");

function pipelineCache(gpu: Gpu): Map<string, Map<string, Promise<Pipeline>>> {
  return gpu.cache.getOrCreate(PIPELINES, () => new Map());
}

async function compile(
  gpu: Gpu,
  src: KernelSource,
  reflect: WgslReflect,
  entry: string,
  constants: Constants,
): Promise<Pipeline> {
  const name = `${src.file}:${entry}`;
  const fn = reflect.entry.compute.find((e: { name: string }) => e.name === entry);
  if (!fn) {
    const names = reflect.entry.compute.map((e: { name: string }) => e.name).join(", ");
    throw new RangeError(
      `Cannot compile ${name}: no compute entry point "${entry}" (has: ${names})`,
    );
  }
  const used = new Set(fn.resources.map((r: ReflectedVariable) => `${r.group}:${r.binding}`));
  const bindings: BindingInfo[] = [];
  for (const group of reflect.getBindGroups()) {
    for (const variable of group) {
      if (!variable || !used.has(`${variable.group}:${variable.binding}`)) continue;
      if (variable.group !== 0) {
        throw new RangeError(
          `Cannot compile ${name}: binding "${variable.name}" is not in group 0`,
        );
      }
      bindings.push(describeBinding(variable));
    }
  }
  bindings.sort((a, b) => a.binding - b.binding);

  const device = gpu.device;
  const module = await compileModule(gpu, src, name);

  device.pushErrorScope("validation");
  const layout = device.createBindGroupLayout({
    label: name,
    entries: bindings.map((b) => ({
      binding: b.binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: {
        type: b.kind === "uniform"
          ? "uniform"
          : b.kind === "read"
          ? "read-only-storage"
          : "storage",
      },
    })),
  });
  const pipeline = device.createComputePipeline({
    label: name,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: entry, constants: constants as Record<string, number> },
  });
  const pipelineError = await device.popErrorScope();
  if (pipelineError) {
    throw new SyntaxError(
      `Cannot create pipeline ${name} with constants ${JSON.stringify(constants)}: ` +
        pipelineError.message,
    );
  }
  return new Pipeline(name, pipeline, layout, bindings, constants);
}

/**
 * Tint (Chromium's WebGPU) compiles subgroup builtins only after `enable subgroups;`, which Naga
 * (Deno 2.9.6) rejects; the kernels leave it out and it is added here, on line 1 so that
 * compiler messages keep their line numbers. The other way round, a kernel's
 * `@diagnostic(off, subgroup_uniformity)` (Tint checks subgroup uniformity, and a kernel that
 * guarantees it by construction turns the check off) is an unknown rule to Naga, which reports
 * it on every compile: for Naga it is blanked, columns kept.
 */
function withEnables(source: string): string {
  const naga = globalThis.navigator?.userAgent?.startsWith("Deno/") ?? false;
  if (naga) return source.replace(SUBGROUP_FILTER, (m) => " ".repeat(m.length));
  // A directive, not the kernels' comments that mention it.
  const enabled = /^\s*enable\s+subgroups\s*;/m.test(source);
  if (enabled || !/\bsubgroup[A-Z]\w*\s*\(/.test(source)) return source;
  return `enable subgroups; ${source}`;
}

const SUBGROUP_FILTER = /@diagnostic\(off, subgroup_uniformity\)/g;

/** Creates the shader module; throws `file:line:col message` lines for compile errors. */
async function compileModule(gpu: Gpu, src: KernelSource, name: string): Promise<GPUShaderModule> {
  const device = gpu.device;
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code: withEnables(src.source), label: src.file });
  const info = await module.getCompilationInfo();
  const moduleError = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === "error");
  if (errors.length > 0 || moduleError) {
    const lines = errors.map((m) => formatCompilationMessage(src.file, m));
    if (lines.length === 0) lines.push(`${src.file}: ${moduleError!.message.trim()}`);
    throw new SyntaxError(`Cannot compile ${name}:\n${lines.join("\n")}`);
  }
  return module;
}

/**
 * `kernels/x.wgsl:5:14 parsing error: ...` then the compiler's own excerpt, indented. wgpu's
 * message starts with a blank line and "Shader '<label>'", which the location makes redundant.
 */
function formatCompilationMessage(file: string, m: GPUCompilationMessage): string {
  const [first, ...rest] = m.message.trim().replace(/^Shader '[^']*' /, "").split("\n");
  const where = m.lineNum > 0 ? `${file}:${m.lineNum}:${m.linePos}` : `${file}:`;
  return [`${where} ${first}`, ...rest.map((line) => `  ${line}`)].join("\n");
}

// deno-lint-ignore no-explicit-any
type ReflectedVariable = any;

function describeBinding(variable: ReflectedVariable): BindingInfo {
  const type = variable.type;
  const isUniform = variable.resourceType === 0;
  const kind = isUniform ? "uniform" : variable.access === "read" ? "read" : "read_write";
  let minBytes = variable.size as number;
  let scalar: DType | null = null;
  const members: UniformMember[] = [];
  if (type?.name === "array") {
    const stride = (type.stride as number) || 4;
    minBytes = type.count ? type.count * stride : stride;
    scalar = scalarOf(type.format);
  } else if (type?.members) {
    for (const member of type.members) {
      const t = member.type?.name;
      if (t === "f32" || t === "i32" || t === "u32") {
        members.push({ name: member.name, offset: member.offset, type: t });
      }
    }
    scalar = members[0]?.type ?? null;
  } else {
    scalar = scalarOf(type);
  }
  return { name: variable.name, binding: variable.binding, kind, minBytes, scalar, members };
}

// deno-lint-ignore no-explicit-any
function scalarOf(type: any): DType | null {
  let t = type;
  while (t) {
    if (t.name === "f32" || t.name === "i32" || t.name === "u32") return t.name;
    t = t.format;
  }
  return null;
}

/**
 * What one run of a dispatch (or of a whole op) costs: arithmetic and memory traffic, from
 * which timing tables compute GFLOP/s and GB/s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Cost } from "./kernel.ts";
 * const gemm: Cost = { flops: 2 * 64 * 64 * 64, bytes: 3 * 64 * 64 * 4 };
 * assert.equal(gemm.flops / gemm.bytes, 10.666666666666666);
 * ```
 */
export interface Cost {
  /** Floating-point operations (a multiply-add counts two). */
  flops: number;
  /** Bytes read plus bytes written. */
  bytes: number;
}

/**
 * What timing tables group an op by: the layer it belongs to and its FLOP count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { WorkInfo } from "./kernel.ts";
 * const info: WorkInfo = { layer: "stem", flops: 1e6 };
 * assert.equal(info.layer, "stem");
 * ```
 */
export interface WorkInfo {
  /** Layer name, e.g. `stage1.block1.1`; inherited by everything inside a sequence. */
  readonly layer?: string;
  /** FLOPs of one run of the whole op (all its dispatches). */
  readonly flops?: number;
}

const workInfo = new WeakMap<Recordable, WorkInfo>();

/**
 * Labels recorded work for timing tables; returns it, so it can wrap a `prepare*` call.
 *
 * @param work Any recordable: a dispatch, a prepared op, a sequence.
 * @param info Its layer and FLOP count (merged with an earlier label).
 * @returns `work`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeWork, Sequence, workInfoOf } from "./kernel.ts";
 * const op = describeWork(new Sequence(), { layer: "fc", flops: 2560 });
 * assert.deepEqual(workInfoOf(op), { layer: "fc", flops: 2560 });
 * ```
 */
export function describeWork<T extends Recordable>(work: T, info: WorkInfo): T {
  workInfo.set(work, { ...workInfo.get(work), ...info });
  return work;
}

/**
 * The label {@link describeWork} gave `work`, if any.
 *
 * @param work Any recordable.
 * @returns Its layer and FLOP count, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sequence, workInfoOf } from "./kernel.ts";
 * assert.equal(workInfoOf(new Sequence()), undefined);
 * ```
 */
export function workInfoOf(work: Recordable): WorkInfo | undefined {
  return workInfo.get(work);
}

/**
 * One prepared kernel invocation. Uniform members are set by name from the shader's struct.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { Dispatch, getPipeline, groups, type KernelSource } from "./kernel.ts";
 * import { Tensor } from "./tensor.ts";
 * const SCALE: KernelSource = {
 *   file: "example/scale.wgsl",
 *   source: `
 * struct Params { n: u32, alpha: f32 }
 * @group(0) @binding(0) var<storage, read> x: array<f32>;
 * @group(0) @binding(1) var<storage, read_write> y: array<f32>;
 * @group(0) @binding(2) var<uniform> p: Params;
 * @compute @workgroup_size(64)
 * fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
 *   if (gid.x < p.n) { y[gid.x] = p.alpha * x[gid.x]; }
 * }`,
 * };
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3]);
 * const y = Tensor.zeros(gpu, [3]);
 * const pipeline = await getPipeline(gpu, SCALE, "scale");
 * const d = new Dispatch(gpu, pipeline, { x, y }, { n: x.size, alpha: 2 }, [groups(3, 64), 1, 1]);
 * d.record();
 * assert.deepEqual(await y.read(), Float32Array.of(2, 4, 6));
 * d.setUniforms({ alpha: -1 });
 * d.record();
 * assert.deepEqual(await y.read(), Float32Array.of(-1, -2, -3));
 * d.destroy();
 * gpu.destroy();
 * ```
 */
export class Dispatch implements Recordable {
  /** The device it records into. */
  readonly gpu: Gpu;
  /** The pipeline it runs. */
  readonly pipeline: Pipeline;
  /**
   * What one run costs, for timing tables. `bytes` starts as the size of every bound tensor
   * (each read or written once); `flops` starts at 0. Op wrappers that know better set them.
   */
  readonly cost: Cost;
  /** Workgroup counts for x, y and z; may be changed between recordings. */
  workgroups: [number, number, number];
  readonly #bindGroup: GPUBindGroup;
  readonly #uniformBuffer: GPUBuffer | null;
  readonly #uniformData: DataView<ArrayBuffer> | null;
  #recordedIn = -1;

  /**
   * Binds resources by name and writes the uniforms; throws before any dispatch when a binding
   * is missing, unknown, of the wrong dtype, too small, or aliases a written buffer.
   *
   * @param gpu The device.
   * @param pipeline From {@link getPipeline}.
   * @param resources Every storage binding of the entry point, by name.
   * @param uniforms Every uniform member (names starting with `_` may be left out).
   * @param workgroups Workgroup counts for x, y and z.
   */
  constructor(
    gpu: Gpu,
    pipeline: Pipeline,
    resources: Resources,
    uniforms: Readonly<Record<string, number>> = {},
    workgroups: readonly [number, number, number] = [1, 1, 1],
  ) {
    this.gpu = gpu;
    this.pipeline = pipeline;
    this.workgroups = [...workgroups];
    const uniform = pipeline.uniform;
    const entries: GPUBindGroupEntry[] = [];
    const writable = new Map<GPUBuffer, string>();
    const seen = new Map<GPUBuffer, string>();
    this.cost = { flops: 0, bytes: 0 };
    for (const name of Object.keys(resources)) {
      if (!pipeline.bindings.some((b) => b.name === name && b.kind !== "uniform")) {
        const known = pipeline.bindings.filter((b) => b.kind !== "uniform").map((b) => b.name);
        throw new RangeError(
          `Cannot run ${pipeline.name}: it has no storage binding "${name}" (it binds: ` +
            `${known.join(", ")})`,
        );
      }
    }
    for (const b of pipeline.bindings) {
      if (b.kind === "uniform") continue;
      const resource = resources[b.name];
      if (resource === undefined) {
        throw new RangeError(`Cannot run ${pipeline.name}: binding "${b.name}" was not supplied`);
      }
      const buffer = resource instanceof Tensor ? resource.buffer : resource;
      if (resource instanceof Tensor && b.scalar !== null && resource.dtype !== b.scalar) {
        throw new TypeError(
          `Cannot run ${pipeline.name}: "${b.name}" must be ${b.scalar} but ${resource.label} ` +
            `${formatShape(resource.shape)} is ${resource.dtype}`,
        );
      }
      if (!(buffer.usage & GPUBufferUsage.STORAGE)) {
        throw new TypeError(
          `Cannot run ${pipeline.name}: the buffer for "${b.name}" lacks STORAGE usage`,
        );
      }
      // A tensor's pooled buffer may be larger than the tensor: judge by the tensor itself
      // (padded to 16 bytes, which vec4 kernels may read).
      const bytes = resource instanceof Tensor
        ? Math.max(16, Math.ceil(resource.byteLength / 16) * 16)
        : buffer.size;
      if (bytes < b.minBytes) {
        throw new RangeError(
          `Cannot run ${pipeline.name}: "${b.name}" needs at least ${b.minBytes} bytes, ` +
            (resource instanceof Tensor
              ? `${resource.label} ${formatShape(resource.shape)} has ${bytes}`
              : `the buffer has ${bytes}`),
        );
      }
      const other = seen.get(buffer);
      if (other !== undefined && (b.kind === "read_write" || writable.has(buffer))) {
        throw new RangeError(
          `Cannot run ${pipeline.name}: "${b.name}" and "${other}" are the same buffer and ` +
            `one is written; use a separate output tensor`,
        );
      }
      if (!seen.has(buffer)) {
        this.cost.bytes += resource instanceof Tensor ? resource.byteLength : buffer.size;
      }
      seen.set(buffer, b.name);
      if (b.kind === "read_write") writable.set(buffer, b.name);
      entries.push({ binding: b.binding, resource: { buffer } });
    }
    if (uniform) {
      const bytes = Math.max(16, Math.ceil(uniform.minBytes / 16) * 16);
      this.#uniformBuffer = gpu.device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        label: `${pipeline.name} uniforms`,
      });
      this.#uniformData = new DataView(new ArrayBuffer(bytes));
      entries.push({ binding: uniform.binding, resource: { buffer: this.#uniformBuffer } });
      for (const m of uniform.members) {
        if (!(m.name in uniforms) && !m.name.startsWith("_")) {
          throw new RangeError(
            `Cannot run ${pipeline.name}: uniform "${m.name}" was not supplied`,
          );
        }
      }
      this.setUniforms(uniforms);
    } else {
      this.#uniformBuffer = null;
      this.#uniformData = null;
      if (Object.keys(uniforms).length > 0) {
        throw new RangeError(`Cannot run ${pipeline.name}: it takes no uniforms`);
      }
    }
    this.#bindGroup = gpu.device.createBindGroup({
      layout: pipeline.layout,
      entries,
      label: pipeline.name,
    });
  }

  /**
   * Changes uniform values. The write is queued: it applies to every recording of this dispatch
   * in the next submit, so pending work is submitted first to keep earlier recordings intact.
   */
  setUniforms(values: Readonly<Record<string, number>>): void {
    const uniform = this.pipeline.uniform;
    if (!uniform || !this.#uniformData || !this.#uniformBuffer) return;
    const view = this.#uniformData;
    for (const [name, value] of Object.entries(values)) {
      const m = uniform.members.find((x) => x.name === name);
      if (!m) {
        throw new RangeError(
          `Cannot run ${this.pipeline.name}: its uniforms have no member "${name}" (has: ` +
            `${uniform.members.map((x) => x.name).join(", ")})`,
        );
      }
      if (m.type === "f32") view.setFloat32(m.offset, value, true);
      else {
        if (!Number.isInteger(value)) {
          throw new RangeError(
            `Cannot run ${this.pipeline.name}: uniform "${name}" is ${m.type} but got ${value}`,
          );
        }
        if (m.type === "u32") view.setUint32(m.offset, value, true);
        else view.setInt32(m.offset, value, true);
      }
    }
    if (this.#recordedIn === this.gpu.submitCount) this.gpu.submit();
    this.gpu.device.queue.writeBuffer(this.#uniformBuffer, 0, view.buffer);
  }

  /** Records the dispatch into the GPU's shared compute pass. */
  record(): void {
    this.#recordedIn = this.gpu.submitCount;
    this.gpu.dispatch(this.pipeline.pipeline, this.#bindGroup, this.workgroups, this);
  }

  /** Frees the uniform buffer once recorded work has been submitted. */
  destroy(): void {
    const buffer = this.#uniformBuffer;
    if (buffer) this.gpu.afterSubmit(() => buffer.destroy());
  }
}

/**
 * Records a dispatch once and frees it after the next submit: for one-off ops.
 *
 * @param dispatch A dispatch that is not needed again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { Dispatch, getPipeline, type KernelSource, recordOnce } from "./kernel.ts";
 * import { Tensor } from "./tensor.ts";
 * const SCALE: KernelSource = {
 *   file: "example/scale.wgsl",
 *   source: `
 * struct Params { n: u32, alpha: f32 }
 * @group(0) @binding(0) var<storage, read> x: array<f32>;
 * @group(0) @binding(1) var<storage, read_write> y: array<f32>;
 * @group(0) @binding(2) var<uniform> p: Params;
 * @compute @workgroup_size(64)
 * fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
 *   if (gid.x < p.n) { y[gid.x] = p.alpha * x[gid.x]; }
 * }`,
 * };
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2]);
 * const y = Tensor.zeros(gpu, [2]);
 * const pipeline = await getPipeline(gpu, SCALE, "scale");
 * recordOnce(new Dispatch(gpu, pipeline, { x, y }, { n: 2, alpha: 10 }));
 * assert.deepEqual(await y.read(), Float32Array.of(10, 20));
 * gpu.destroy();
 * ```
 */
export function recordOnce(work: Recordable): void {
  work.record();
  work.destroy();
}

/**
 * Workgroup count to cover `n` items with groups of `size`.
 *
 * @param n Number of items.
 * @param size Items per workgroup.
 * @returns `ceil(n / size)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groups } from "./kernel.ts";
 * assert.equal(groups(100, 64), 2);
 * ```
 */
export function groups(n: number, size: number): number {
  return Math.ceil(n / size);
}

/**
 * A 1-D launch over `n` items with `size` invocations per group, folded into a 2-D grid when it
 * exceeds the per-dimension limit. Kernels index `gid.y * row + gid.x`. WebGPU guarantees at
 * least 65535 per dimension, so the grid holds 65535^2 workgroups: any u32-indexed range of
 * at least 2 items per workgroup; only a limit lowered for tests can run out, with a RangeError.
 *
 * @param gpu The device whose limit applies.
 * @param n Number of items (at least one workgroup is launched).
 * @param size Invocations per workgroup.
 * @returns The workgroup counts and `row`, the items covered by one row of the grid.
 * @throws {RangeError} When even the folded grid exceeds the limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { grid1d } from "./kernel.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.deepEqual(grid1d(gpu, 1000, 64), { workgroups: [16, 1, 1], row: 1024 });
 * const max = gpu.limits.maxComputeWorkgroupsPerDimension;
 * assert.equal(grid1d(gpu, 64 * max + 1, 64).workgroups[1], 2);
 * gpu.destroy();
 * ```
 */
export function grid1d(
  gpu: Gpu,
  n: number,
  size: number,
): { workgroups: [number, number, number]; row: number } {
  const total = Math.max(1, Math.ceil(n / size));
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const x = Math.min(total, max);
  const y = Math.ceil(total / x);
  if (y > max) {
    throw new RangeError(
      `Cannot dispatch ${total} workgroups: more than the ${max} x ${max} a folded grid holds ` +
        `on this device (limit ${max} per dimension); split the work`,
    );
  }
  return { workgroups: [x, y, 1], row: x * size };
}

/**
 * Anything that can be recorded into the shared encoder again and again, then freed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Recordable, Sequence } from "./kernel.ts";
 * const log: string[] = [];
 * const step: Recordable = { record: () => log.push("step"), destroy: () => log.push("free") };
 * new Sequence([step, step]).record();
 * assert.deepEqual(log, ["step", "step"]);
 * ```
 */
export interface Recordable {
  /** Records the work into the shared pass; nothing runs until the caller submits. */
  record(): void;
  /** Frees what it owns, once recorded work has been submitted. */
  destroy(): void;
}

/**
 * Several recordables run in order as one: composite ops (a convolution that needs two kernels)
 * and whole training steps are sequences.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "./device.ts";
 * import { Dispatch, getPipeline, type KernelSource, Sequence } from "./kernel.ts";
 * import { Tensor } from "./tensor.ts";
 * const SCALE: KernelSource = {
 *   file: "example/scale.wgsl",
 *   source: `
 * struct Params { n: u32, alpha: f32 }
 * @group(0) @binding(0) var<storage, read> x: array<f32>;
 * @group(0) @binding(1) var<storage, read_write> y: array<f32>;
 * @group(0) @binding(2) var<uniform> p: Params;
 * @compute @workgroup_size(64)
 * fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
 *   if (gid.x < p.n) { y[gid.x] = p.alpha * x[gid.x]; }
 * }`,
 * };
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2]);
 * const y = Tensor.zeros(gpu, [2]);
 * const z = Tensor.zeros(gpu, [2]);
 * const pipeline = await getPipeline(gpu, SCALE, "scale");
 * const step = new Sequence([new Dispatch(gpu, pipeline, { x, y }, { n: 2, alpha: 3 })]);
 * step.push(new Dispatch(gpu, pipeline, { x: y, y: z }, { n: 2, alpha: 3 }));
 * step.record(); // y = 3x, then z = 3y, in one submit
 * assert.deepEqual(await z.read(), Float32Array.of(9, 18));
 * step.destroy();
 * gpu.destroy();
 * ```
 */
export class Sequence implements Recordable {
  /** The recordables, run in order. */
  readonly items: Recordable[];
  /** Scratch tensors the items use, freed with the sequence. */
  readonly #owned: Tensor[];

  /**
   * Creates a sequence.
   *
   * @param items Recordables to run in order.
   * @param owned Scratch tensors allocated for the items, destroyed with them.
   */
  constructor(items: Recordable[] = [], owned: Tensor[] = []) {
    this.items = items;
    this.#owned = owned;
  }

  /** Appends more work. */
  push(...items: Recordable[]): this {
    this.items.push(...items);
    return this;
  }

  /** Records every item, in order. */
  record(): void {
    for (const item of this.items) item.record();
  }

  /** Destroys every item and the scratch it owns. */
  destroy(): void {
    for (const item of this.items) item.destroy();
    for (const t of this.#owned) t.destroy();
  }
}
