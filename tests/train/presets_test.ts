import {
  deepStrictEqual as deepEqual,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { publishedFor } from "../../lib/eval/published.ts";
import type { Gpu } from "../../lib/gpu/device.ts";
import { describeResNet, validateResNetSpec } from "../../lib/nn/spec.ts";
import { modelSpec, presetConfig, validateConfig } from "../../lib/train/config.ts";
import { resolveConfig } from "../../lib/train/experiment.ts";
import { parseTrainArgs } from "../../lib/train/flags.ts";
import { buildSchedule } from "../../lib/train/schedule.ts";

Deno.test("cifar10-lt and cifar100-lt: LDAM-DRW's ResNet-32, schedule and optimiser, IF 100", () => {
  for (
    const [name, profile, classes] of [["cifar10-lt", "cifar10-lt-100", 10], [
      "cifar100-lt",
      "cifar100-lt-100",
      100,
    ]] as const
  ) {
    const config = validateConfig(presetConfig(name));
    equal(config.profile, profile);
    deepEqual(config.model, { arch: "resnet32", width: 16, shortcut: "A", init: "fan-in" });
    const { sampler, augment, ...optimiser } = config.stage1;
    deepEqual([sampler, augment], ["instance", true]);
    deepEqual(optimiser, {
      epochs: 200,
      batch: 128,
      lr: 0.1,
      momentum: 0.9,
      weightDecay: 2e-4,
      stepsPerEpoch: null,
      schedule: "ldam-step",
      warmupEpochs: 5,
      milestones: [{ epoch: 160, factor: 0.01 }, { epoch: 180, factor: 0.0001 }],
    });
    deepEqual(config.stage2, presetConfig("paper").stage2);
    const spec = modelSpec(config, classes, [3, 32, 32]);
    equal(
      describeResNet(spec),
      `resnet32: 3x32x32 -> 16 -> [16x5, 32x5/2, 64x5/2] -> ${classes}, shortcut A, init fan-in, ` +
        `${classes === 10 ? "0.464" : "0.470"} M parameters`,
    );
  }
});

Deno.test("the -cpu variants: width 8, 4 epochs, every schedule boundary scaled by 4/200", () => {
  for (const name of ["cifar10-lt", "cifar100-lt"] as const) {
    const full = presetConfig(name);
    const cpu = validateConfig(presetConfig(`${name}-cpu`));
    equal(cpu.preset, `${name}-cpu`);
    deepEqual(cpu.model, { ...full.model, width: 8 });
    deepEqual({ ...cpu.stage1, epochs: 0, warmupEpochs: 0, milestones: [] }, {
      ...full.stage1,
      epochs: 0,
      warmupEpochs: 0,
      milestones: [],
    });
    equal(cpu.stage1.epochs, 4);
    equal(cpu.stage1.warmupEpochs, 0.1);
    deepEqual(cpu.stage1.milestones, [{ epoch: 3.2, factor: 0.01 }, {
      epoch: 3.6,
      factor: 0.0001,
    }]);
    // 96 steps an epoch (CIFAR-10-LT-100 at batch 128): warm-up over 9.6 steps, x0.01 from step
    // 307.2 (the first step at or past it is 308), x0.0001 from 345.6 (346).
    const lr = buildSchedule({
      kind: "ldam-step",
      lr: cpu.stage1.lr,
      epochs: 4,
      stepsPerEpoch: 96,
      warmupEpochs: 0.1,
      milestones: cpu.stage1.milestones,
    });
    equal(lr[0], Math.fround(0.1 / 9.6));
    equal(lr[8], Math.fround(0.1 * 9 / 9.6));
    equal(lr[9], Math.fround(0.1));
    deepEqual([lr[307], lr[308]], [Math.fround(0.1), Math.fround(0.001)]);
    deepEqual([lr[345], lr[346]], [Math.fround(0.001), Math.fround(0.00001)]);
    equal(lr.length, 384);
  }
});

// resolveConfig consults the adapter only to pick a preset when none is given; these never ask.
const NO_GPU = {} as Gpu;

Deno.test("a batch given without --lr scales the learning rate linearly; config.json records it", async () => {
  const resolve = (argv: string[]) => resolveConfig(parseTrainArgs(argv), NO_GPU);
  const scaled = await resolve(["--preset", "cifar10-lt", "--batch", "64"]);
  equal(scaled.config.stage1.lr, 0.05);
  deepEqual(scaled.config.stage1.lrScaledFrom, { lr: 0.1, batch: 128 });
  equal(
    scaled.reason,
    "chosen with --preset; lr 0.05 is lr 0.1 x batch 64 / 128, scaled linearly with --batch " +
      "(give --lr to set it)",
  );
  const given = await resolve(["--preset", "cifar10-lt", "--batch", "64", "--lr", "0.2"]);
  equal(given.config.stage1.lr, 0.2);
  equal(given.config.stage1.lrScaledFrom, undefined);
  const same = await resolve(["--preset", "cifar10-lt", "--batch", "128"]);
  deepEqual([same.config.stage1.lr, same.config.stage1.lrScaledFrom], [0.1, undefined]);

  const dir = await Deno.makeTempDir({ prefix: "ltkit_presets_test_" });
  try {
    // A saved config is the base: its lr and batch, whatever preset it came from.
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(scaled.config));
    const again = await resolve(["--config", `${dir}/config.json`, "--batch", "256"]);
    equal(again.config.stage1.lr, 0.2);
    deepEqual(again.config.stage1.lrScaledFrom, { lr: 0.05, batch: 64 });
    // --resume keeps the stored settings and still refuses a new batch.
    const resumed = await resolve(["--resume", "--out", dir]);
    deepEqual(resumed.config.stage1, scaled.config.stage1);
    await rejects(
      resolve(["--resume", "--out", dir, "--batch", "32"]),
      /Cannot resume .* with new settings: --batch 32 \(the run has stage1\.batch 64\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("imagenet-lt-rx50: the paper's ResNeXt-50 (32x4d) recipe, resolved and validated, with its published figures", async () => {
  const { config } = await resolveConfig(
    parseTrainArgs(["--preset", "imagenet-lt-rx50"]),
    NO_GPU,
  );
  validateConfig(config);
  const r10 = presetConfig("imagenet-lt-r10");
  equal(config.profile, "imagenet-lt");
  deepEqual(config.model, { arch: "resnext50", width: 64, shortcut: "B", init: "fan-out" });
  // The same configs of the paper's code: only the network differs from the ResNet-10 preset.
  deepEqual({ ...config, preset: r10.preset, model: r10.model }, r10);
  const { sampler, augment, ...optimiser } = config.stage1;
  deepEqual([sampler, augment], ["instance", true]);
  deepEqual(optimiser, {
    epochs: 90,
    batch: 512,
    lr: 0.2,
    momentum: 0.9,
    weightDecay: 5e-4,
    stepsPerEpoch: null,
    schedule: "cosine",
    warmupEpochs: 0,
    milestones: [],
  });
  deepEqual(config.stage2, { ...presetConfig("paper").stage2, lr: 0.2 });
  equal(
    describeResNet(modelSpec(config, 1000, [3, 224, 224])),
    "resnext50: 3x224x224 -> 7x7/2 64, maxpool/2 -> bottleneck 32 groups [128-256x3, " +
      "256-512x4/2, 512-1024x6/2, 1024-2048x3/2] -> 1000, shortcut B, 25.0 M parameters",
  );
  const published = publishedFor(config.profile, config.model.arch, config.model.shortcut);
  equal(published?.id, "imagenet-lt-resnext50");
  deepEqual(published?.figures, { joint: 44.4, ncm: 47.3, crt: 49.6, tau: 49.4, lws: 49.9 });
});

Deno.test("imagenet-lt-rx50-cpu: the stand-in at crop 32, width 16, fewer epochs, batch 128 at lr 0.05", async () => {
  const full = presetConfig("imagenet-lt-rx50");
  const { config: cpu } = await resolveConfig(
    parseTrainArgs(["--preset", "imagenet-lt-rx50-cpu"]),
    NO_GPU,
  );
  validateConfig(cpu);
  deepEqual(
    [cpu.preset, cpu.profile, cpu.model],
    ["imagenet-lt-rx50-cpu", "fashion-mnist-lt-list", { ...full.model, width: 16 }],
  );
  deepEqual(cpu.stage1, { ...full.stage1, epochs: 16, batch: 128, lr: 0.05 });
  deepEqual(cpu.stage2, full.stage2);
  // Width 16 is the narrowest that keeps the 32 groups: one channel each in the first stage.
  const spec = modelSpec(cpu, 10, [3, 32, 32]);
  validateResNetSpec(spec);
  deepEqual(spec.stages.map((s) => s.inner), [32, 64, 128, 256]);
  throws(
    () =>
      validateResNetSpec(modelSpec({ ...cpu, model: { ...cpu.model, width: 8 } }, 10, [3, 32, 32])),
    /stage 0 has 0 inner bottleneck channels/,
  );
});
