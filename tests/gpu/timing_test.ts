import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { Rng } from "../../lib/data/rng.ts";
import { describeWork, Sequence } from "../../lib/gpu/kernel.ts";
import { readAll } from "../../lib/gpu/tensor.ts";
import {
  type DispatchTiming,
  formatTimings,
  summarizeTimings,
  timeDispatches,
} from "../../lib/gpu/_timing.ts";
import { stepMemory } from "../../lib/nn/memory.ts";
import { MicroBatchStep } from "../../lib/nn/microbatch.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import { resnet } from "../../lib/nn/spec.ts";
import { modelSpec, presetConfig, stage1Settings } from "../../lib/train/config.ts";
import { changedSettings, parseTrainArgs } from "../../lib/train/flags.ts";
import { timeTrainingStep } from "../../lib/train/_step_timings.ts";
import { bufferLimits, noGpu, testGpu, withLowerLimits } from "../_gpu.ts";

const FAKE: DispatchTiming[] = [
  { family: "conv2d", kernel: "conv2d.pack", layer: "stem", ms: 1, flops: 0, bytes: 1e6 },
  { family: "conv2d", kernel: "conv2d.fwd", layer: "stem", ms: 4, flops: 2e7, bytes: 4e6 },
  { family: "batchnorm", kernel: "batchnorm.f", layer: "stem", ms: 2, flops: 0, bytes: 8e6 },
  { family: "conv2d", kernel: "conv2d.fwd", layer: "block", ms: 2, flops: 1e7, bytes: 2e6 },
  { family: "optim", kernel: "optim.sgd", layer: "sgd", ms: 1, flops: 0, bytes: 5e6 },
];

Deno.test("summarizeTimings folds fake dispatch times per family and per layer", () => {
  const families = summarizeTimings(FAKE, "family");
  deepEqual(families.map((r) => r.name), ["conv2d", "batchnorm", "optim"]);
  const conv = families[0];
  equal(conv.dispatches, 3);
  equal(conv.ms, 7);
  equal(conv.share, 0.7);
  // 3e7 FLOPs in 7 ms; 7e6 bytes in 7 ms.
  ok(Math.abs(conv.gflops! - 3e7 / 7e6) < 1e-12, String(conv.gflops));
  ok(Math.abs(conv.gbps - 1) < 1e-12, String(conv.gbps));
  equal(families[1].gflops, null, "no FLOPs counted: no GFLOP/s");
  equal(families[1].gbps, 4);
  ok(Math.abs(families.reduce((n, r) => n + r.share, 0) - 1) < 1e-12);

  deepEqual(summarizeTimings(FAKE, "layer", "step").map((r) => [r.name, r.ms]), [
    ["stem", 7],
    ["block", 2],
    ["sgd", 1],
  ]);
  deepEqual(summarizeTimings(FAKE, "layer").map((r) => r.name), ["stem", "block", "sgd"]);
  deepEqual(summarizeTimings([], "family"), []);
  const zero = summarizeTimings([{ ...FAKE[0], ms: 0 }], "family");
  deepEqual([zero[0].share, zero[0].gbps, zero[0].gflops], [0, 0, null]);

  const text = formatTimings({ method: "cpu", dispatches: FAKE, wallMs: 12 }, "fake step");
  const lines = text.split("\n");
  equal(lines[0], "fake step: 5 dispatches, 10.00 ms of kernel time (cpu timing; 12.0 ms wall)");
  ok(lines.some((l) => /^conv2d\s+3\s+7\.000\s+70\.0%\s+4\.29\s+1\.00$/.test(l)), text);
  ok(lines.some((l) => /^batchnorm\s+1\s+2\.000\s+20\.0%\s+-\s+4\.00$/.test(l)), text);
  ok(lines.some((l) => /^layer\s+dispatches/.test(l)), text);
});

Deno.test("--timings is an output-only train flag that --resume takes", () => {
  equal(parseTrainArgs(["--timings"]).timings, true);
  equal(parseTrainArgs([]).timings, false);
  const args = parseTrainArgs(["--resume", "--out", "runs/x", "--timings"]);
  deepEqual(changedSettings(presetConfig("cpu"), args.overrides), []);
});

const FAMILIES = [
  "batchnorm",
  "conv2d",
  "elementwise",
  "gemm",
  "optim",
  "pool",
  "reduce",
  "softmax",
];

Deno.test({
  name: "one smoke-network step timed kernel by kernel: every family, shares sum to 100%",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const config = presetConfig("smoke");
    const spec = modelSpec(config, 10, [1, 28, 28]);
    const methods = gpu.device.features.has("timestamp-query")
      ? ["auto", "cpu"] as const
      : ["cpu"] as const;
    for (const method of methods) {
      const { timings, text } = await timeTrainingStep(gpu, spec, stage1Settings(config), {
        warmup: 1,
        method,
      });
      equal(timings.method, method === "cpu" ? "cpu" : "timestamp-query");
      const families = summarizeTimings(timings.dispatches, "family");
      deepEqual(families.map((r) => r.name).sort(), FAMILIES, text);
      const shares = families.reduce((n, r) => n + r.share, 0);
      ok(Math.abs(shares - 1) < 1e-9, `shares sum to ${shares}`);
      ok(timings.dispatches.every((d) => d.ms >= 0 && Number.isFinite(d.ms)), text);
      ok(timings.dispatches.some((d) => d.ms > 0), text);
      const layers = summarizeTimings(timings.dispatches, "layer", "step").map((r) => r.name);
      equal(layers[0], "stem");
      ok(layers.includes("head") && layers.includes("sgd"), layers.join(","));
      ok(!layers.includes("(unlabelled)"), layers.join(","));
      ok(families.find((r) => r.name === "conv2d")!.gflops! > 0, text);
      // CPU timing cannot resolve kernels faster than a submit's round-trip noise: they read 0
      // ms, so no rate. The smoke network's GEMMs (a 10-way head) are that fast on a busy
      // machine; only the GPU's own timestamps must resolve them.
      if (method !== "cpu") ok(families.find((r) => r.name === "gemm")!.gflops! > 0, text);
      ok(families.every((r) => (method === "cpu" ? r.gbps >= 0 : r.gbps > 0)), text);
    }
  },
});

Deno.test({
  name: "a step run dispatch by dispatch computes what the recorded step computes",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const config = presetConfig("smoke");
    const spec = modelSpec(config, 10, [1, 12, 12]);
    const s = stage1Settings(config);
    const build = async () => {
      const net = await ResNet.create(gpu, spec, { batch: 6 });
      // One micro-batch: the network's own gradients.
      const sgd = await (await MicroBatchStep.create(net, 1)).prepareSgd({
        momentum: s.momentum,
        weightDecay: s.weightDecay,
        lr: 0.1,
      });
      const rng = new Rng(3);
      net.initialize(rng);
      net.input.write(Float32Array.from({ length: net.input.size }, () => rng.normal(0, 1)));
      net.labels.write(Int32Array.from({ length: 6 }, (_, i) => i % 10));
      return { net, sgd, step: new Sequence([net.trainStep, describeWork(sgd, { layer: "sgd" })]) };
    };
    const a = await build();
    const b = await build();
    try {
      a.step.record();
      await gpu.sync();
      const timed = await timeDispatches(gpu, b.step, { method: "cpu" });
      ok(timed.dispatches.length > 20);
      const [pa, pb] = await Promise.all([
        readAll(a.net.params.map((p) => p.value)),
        readAll(b.net.params.map((p) => p.value)),
      ]);
      for (let i = 0; i < pa.length; i++) {
        deepEqual(pb[i], pa[i], `${a.net.params[i].name} differs`);
      }
      equal((await b.net.lossSum.read())[0], (await a.net.lossSum.read())[0]);
    } finally {
      for (const x of [a, b]) {
        x.sgd.destroy();
        x.net.destroy();
      }
      await gpu.sync();
    }
  },
});

Deno.test({
  name: "a batch the device splits is timed as training runs it: every micro-batch's kernels",
  ignore: noGpu,
  async fn() {
    // Room for 4 images' largest tensor: batch 12 runs as 3 micro-batches of 4, batch 4 whole.
    const spec = resnet("tiny", [1, 8, 8], 4, [4, 6], 1, 2);
    const limit = stepMemory(spec, 4).largest.bytes;
    await withLowerLimits(bufferLimits(limit), async (gpu) => {
      const settings = { batch: 4, lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
      const whole = await timeTrainingStep(gpu, spec, settings, { warmup: 1, method: "cpu" });
      const split = await timeTrainingStep(gpu, spec, { ...settings, batch: 12 }, {
        warmup: 1,
        method: "cpu",
      });
      ok(split.text.includes("batch 12 as 3 micro-batches of 4"), split.text);
      ok(!whole.text.includes("micro-batches"), whole.text);
      const convs = (t: typeof whole) =>
        t.timings.dispatches.filter((d) => d.family === "conv2d").length;
      equal(convs(split), 3 * convs(whole), "three micro-batches' convolutions");
      // The gradient sums of micro-batches 2 and 3: one addition per parameter each.
      const sums = split.timings.dispatches.filter((d) => d.kernel.endsWith(".accumulate"));
      ok(sums.length > 0 && sums.length % 2 === 0, `${sums.length} gradient sums`);
    });
  },
});
