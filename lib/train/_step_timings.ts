/**
 * Per-kernel timings of one stage-1 training step (`--timings` of `deno task train` and
 * `deno task bench`): a network of its own, so the run being trained is never touched. A batch
 * that training splits into micro-batches (`stage1Plan`) is timed split the same way.
 *
 * @module
 */

import { Rng } from "../data/rng.ts";
import type { Gpu } from "../gpu/device.ts";
import { describeWork, Sequence } from "../gpu/kernel.ts";
import { formatTimings, type StepTimings, timeDispatches } from "../gpu/_timing.ts";
import { formatSplit } from "../nn/memory.ts";
import { MicroBatchStep } from "../nn/microbatch.ts";
import { ResNet } from "../nn/resnet.ts";
import type { ResNetSpec } from "../nn/spec.ts";
import type { Stage1Settings } from "./config.ts";
import { cosineSchedule } from "./schedule.ts";
import { stage1Plan } from "./stage1.ts";

/**
 * Builds `spec` with the settings' batch and SGD, takes `warmup` ordinary steps on seeded
 * random data (compiling and tuning everything), then times one step dispatch by dispatch. A
 * batch too large for the device runs as training would run it, as equal micro-batches of a
 * network built for one (`stage1Plan`): every micro-batch's kernels and the gradient sums are
 * timed (the buffer copies between them are not), and the title says so.
 *
 * @param gpu The device.
 * @param spec The network.
 * @param settings Batch size and SGD hyper-parameters.
 * @param options `warmup` steps (default 2); `method: "cpu"` forces CPU timing.
 * @returns The timings and the tables as text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet } from "../nn/spec.ts";
 * import { presetConfig, stage1Settings } from "./config.ts";
 * import { timeTrainingStep } from "./_step_timings.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const spec = resnet("tiny", [1, 8, 8], 4, [4], 1, 2);
 * const settings = { ...stage1Settings(presetConfig("smoke")), batch: 4 };
 * const { timings, text } = await timeTrainingStep(gpu, spec, settings, { warmup: 1 });
 * assert.ok(timings.dispatches.some((d) => d.family === "conv2d"));
 * assert.ok(text.includes("GFLOP/s"));
 * gpu.destroy();
 * ```
 */
export async function timeTrainingStep(
  gpu: Gpu,
  spec: ResNetSpec,
  settings: Pick<Stage1Settings, "batch" | "lr" | "momentum" | "weightDecay">,
  options: { warmup?: number; method?: "auto" | "cpu" } = {},
): Promise<{ timings: StepTimings; text: string }> {
  const warmup = options.warmup ?? 2;
  const plan = stage1Plan(gpu, spec, settings.batch);
  const net = await ResNet.create(gpu, spec, {
    batch: plan.size,
    lossScale: plan.size / settings.batch,
  });
  let micro: MicroBatchStep | undefined;
  let optimizer;
  try {
    micro = await MicroBatchStep.create(net, plan.count);
    optimizer = await micro.prepareSgd({
      momentum: settings.momentum,
      weightDecay: settings.weightDecay,
      schedule: cosineSchedule(settings.lr, warmup + 1),
    });
    const rng = new Rng(0);
    net.initialize(rng);
    const images = Float32Array.from(
      { length: net.input.size * plan.count },
      () => rng.normal(0, 1),
    );
    micro.write(
      images,
      Int32Array.from({ length: settings.batch }, () => rng.nextInt(spec.classes)),
    );
    const step = new Sequence([
      ...micro.asSequence().items,
      describeWork(optimizer, { layer: "sgd" }),
    ]);
    for (let i = 0; i < warmup; i++) step.record();
    await gpu.sync();
    const timings = await timeDispatches(gpu, step, { method: options.method });
    const split = plan.count === 1 ? "" : ` ${formatSplit(plan)} (the copies between them untimed)`;
    const title = `${spec.name} training step, batch ${settings.batch}${split}`;
    return { timings, text: formatTimings(timings, title) };
  } finally {
    optimizer?.destroy();
    micro?.destroy();
    net.destroy();
    await gpu.sync();
  }
}
