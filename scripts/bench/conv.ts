/**
 * Convolution benchmark on the ResNet-8 shapes at batch 128: milliseconds per call of the
 * forward, backward-input and backward-weight passes (each including its weight packing or
 * reduction dispatch), with the GFLOP/s they imply.
 *
 * Two figures per pass: wall time per call (median of the repetitions, one submit and wait per
 * call, so it includes ~11 ms of submit overhead on lavapipe divided by `--batch`), and process CPU
 * time per call divided by the number of cores lavapipe uses, which is steadier than wall time
 * when other programs share the cores.
 *
 * Usage: `deno run -A scripts/bench/conv.ts [--reps 5] [--batch 4] [--n 128] [--tile-wg 16]
 * [--variant direct|tiled]` (by default each pass runs its tuned variant).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Gpu, requestGpu } from "../../lib/gpu/device.ts";
import { hostGpuOptions } from "../../lib/io/_gpu_host.ts";
import type { Recordable } from "../../lib/gpu/kernel.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  conv2dOutputShape,
  type Conv2dPass,
  type Conv2dTuning,
  type Conv2dVariant,
  conv2dVariant,
  formatConv2dVariant,
  prepareConv2dBackwardInput,
  prepareConv2dBackwardWeight,
  prepareConv2dForward,
} from "../../lib/ops/conv2d.ts";

/** One convolution of the network: input (C,H,W), F output channels, kernel, stride, padding. */
export interface ConvCase {
  name: string;
  c: number;
  h: number;
  f: number;
  k: number;
  stride: number;
  padding: number;
}

/** The distinct convolutions of ResNet-8 for 28x28x1 inputs (stage 1's two convs are alike). */
export const RESNET8_CONVS: readonly ConvCase[] = [
  { name: "stem 1->16 @28", c: 1, h: 28, f: 16, k: 3, stride: 1, padding: 1 },
  { name: "16->16 @28", c: 16, h: 28, f: 16, k: 3, stride: 1, padding: 1 },
  { name: "16->32 @28 s2", c: 16, h: 28, f: 32, k: 3, stride: 2, padding: 1 },
  { name: "32->32 @14", c: 32, h: 14, f: 32, k: 3, stride: 1, padding: 1 },
  { name: "1x1 16->32 s2", c: 16, h: 28, f: 32, k: 1, stride: 2, padding: 0 },
  { name: "32->64 @14 s2", c: 32, h: 14, f: 64, k: 3, stride: 2, padding: 1 },
  { name: "64->64 @7", c: 64, h: 7, f: 64, k: 3, stride: 1, padding: 1 },
  { name: "1x1 32->64 s2", c: 32, h: 14, f: 64, k: 1, stride: 2, padding: 0 },
];

/** Timing of one pass of one case. */
export interface ConvTiming {
  name: string;
  pass: "forward" | "backward input" | "backward weight";
  wallMs: number;
  cpuMs: number;
  gflops: number;
  /** The kernel variant that ran (the tuned one unless forced). */
  variant: string;
}

function cpuMs(): number | null {
  try {
    const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

async function time(
  gpu: Gpu,
  op: Recordable,
  reps: number,
  batch: number,
  cores: number,
): Promise<{ wall: number; cpu: number }> {
  op.record();
  await gpu.sync();
  const walls: number[] = [];
  const c0 = cpuMs();
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let b = 0; b < batch; b++) op.record();
    await gpu.sync();
    walls.push((performance.now() - t0) / batch);
  }
  const c1 = cpuMs();
  walls.sort((a, b) => a - b);
  const cpu = c0 === null || c1 === null ? NaN : (c1 - c0) / (reps * batch) / cores;
  return { wall: walls[Math.floor(walls.length / 2)], cpu };
}

/**
 * Times every case's three passes at batch `n`.
 *
 * @example
 * ```ts ignore
 * const rows = await benchConv(gpu, { n: 128, reps: 3 });
 * ```
 */
export async function benchConv(
  gpu: Gpu,
  options: {
    n?: number;
    reps?: number;
    batch?: number;
    cores?: number;
    tuning?: Conv2dTuning;
    variant?: Conv2dVariant | "direct" | "tiled";
    cases?: readonly ConvCase[];
  } = {},
): Promise<ConvTiming[]> {
  const n = options.n ?? 128;
  const reps = options.reps ?? 5;
  const batch = options.batch ?? 4;
  const cores = options.cores ?? navigator.hardwareConcurrency ?? 1;
  const rows: ConvTiming[] = [];
  for (const cs of options.cases ?? RESNET8_CONVS) {
    const xShape = [n, cs.c, cs.h, cs.h];
    const wShape = [cs.f, cs.c, cs.k, cs.k];
    const yShape = conv2dOutputShape(xShape, wShape, cs.stride, cs.padding);
    const fill = (shape: number[]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return Tensor.from(
        gpu,
        Float32Array.from({ length: size }, (_, i) => ((i * 7919) % 13) - 6),
        shape,
      );
    };
    const x = fill(xShape), w = fill(wShape), dy = fill(yShape);
    const y = Tensor.empty(gpu, yShape),
      dx = Tensor.empty(gpu, xShape),
      dw = Tensor.empty(gpu, wShape);
    const geometry = {
      stride: cs.stride,
      padding: cs.padding,
      tuning: options.tuning,
      variant: options.variant,
    };
    const flops = 2 * yShape.reduce((a, b) => a * b, 1) * cs.c * cs.k * cs.k;
    const ops = [
      ["forward", await prepareConv2dForward(gpu, { x, w, y, ...geometry })],
      ["backward input", await prepareConv2dBackwardInput(gpu, { dy, w, dx, ...geometry })],
      ["backward weight", await prepareConv2dBackwardWeight(gpu, { x, dy, dw, ...geometry })],
    ] as const;
    for (const [pass, op] of ops) {
      const t = await time(gpu, op, reps, batch, cores);
      const forced = options.variant ??
        (options.tuning?.tileWorkgroup ? `direct wg${options.tuning.tileWorkgroup}` : undefined);
      const tunedPass = pass.replace(" ", "_") as Conv2dPass;
      rows.push({
        name: cs.name,
        pass,
        wallMs: t.wall,
        cpuMs: t.cpu,
        gflops: flops / t.wall / 1e6,
        variant: typeof forced === "object"
          ? formatConv2dVariant(forced)
          : forced ?? formatConv2dVariant((await conv2dVariant(gpu, tunedPass)).config),
      });
      op.destroy();
    }
    for (const t of [x, w, dy, y, dx, dw]) t.destroy();
    await gpu.sync();
  }
  return rows;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      reps: { type: "string", default: "5" },
      batch: { type: "string", default: "4" },
      n: { type: "string", default: "128" },
      "tile-wg": { type: "string" },
      variant: { type: "string" },
    },
  });
  const gpu = await requestGpu({ warnFallback: false, ...hostGpuOptions() });
  const variant = values.variant;
  if (variant !== undefined && variant !== "direct" && variant !== "tiled") {
    throw new RangeError(`Invalid --variant "${variant}": use direct or tiled`);
  }
  const rows = await benchConv(gpu, {
    n: Number(values.n),
    reps: Number(values.reps),
    batch: Number(values.batch),
    tuning: values["tile-wg"] ? { tileWorkgroup: Number(values["tile-wg"]) } : undefined,
    variant,
  });
  console.log(`adapter: ${gpu.adapter.description}; batch ${values.n}`);
  console.log(
    "case                 pass              wall ms   cpu ms/core   GFLOP/s(wall)  variant",
  );
  let wall = 0;
  for (const r of rows) {
    // Stage 1 has two 16->16 convolutions; the stem needs no input gradient.
    if (!(r.name.startsWith("stem") && r.pass === "backward input")) {
      wall += r.name.startsWith("16->16") ? 2 * r.wallMs : r.wallMs;
    }
    console.log(
      `${r.name.padEnd(20)} ${r.pass.padEnd(16)} ${r.wallMs.toFixed(1).padStart(8)} ` +
        `${r.cpuMs.toFixed(1).padStart(12)} ${r.gflops.toFixed(2).padStart(14)}  ${r.variant}`,
    );
  }
  console.log(`sum over ResNet-8's convolutions per training step: ${wall.toFixed(0)} ms`);
  gpu.destroy();
}
