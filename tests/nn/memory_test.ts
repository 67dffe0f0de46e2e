import { ok, rejects, strictEqual as equal, throws } from "node:assert/strict";
import { formatBytes, requestGpu } from "../../lib/gpu/device.ts";
import { BACKBONES } from "../../lib/nn/backbones.ts";
import {
  assertBatchFits,
  largestBatch,
  planMicroBatches,
  stepMemory,
} from "../../lib/nn/memory.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import { imagenetResNet, planResNet, resnet32, type ResNetSpec } from "../../lib/nn/spec.ts";
import { GROUPED_WEIGHT_TARGET } from "../../lib/ops/conv2d_grouped.ts";
import { assertClose, bufferLimits, noGpu, testGpu } from "../_gpu.ts";
import { stepOnce } from "./_step.ts";

Deno.test({
  name: "step memory estimate bounds what a built network allocates, within a quarter",
  ignore: noGpu,
  async fn() {
    // The estimate covers the default (direct) convolution variants; the workgroup-tiled ones a
    // tuner may pick split the weight gradient into more partial sums.
    await testGpu();
    const gpu = await requestGpu({ warnFallback: false, tune: "off" });
    const bottleneck = { block: "bottleneck" as const };
    const cases: [ResNetSpec, number][] = [
      [resnet32(10), 16],
      [resnet32(10, [3, 32, 32], "B"), 8],
      [imagenetResNet("resnet10", [3, 64, 64], 16, [1, 1, 1, 1], 10), 4],
      [imagenetResNet("resnet50", [3, 64, 64], 8, [1, 1, 1, 1], 10, bottleneck), 4],
      [
        imagenetResNet("resnext50", [3, 64, 64], 16, [1, 1, 1, 1], 10, {
          ...bottleneck,
          groups: 32,
          groupWidth: 4,
        }),
        2,
      ],
    ];
    for (const [spec, batch] of cases) {
      gpu.pool.clear(); // nothing free to reuse: every buffer the build takes is new
      const before = gpu.pool.allocatedBytes;
      const net = await ResNet.create(gpu, spec, { batch });
      const actual = gpu.pool.allocatedBytes - before;
      net.destroy();
      await gpu.sync();
      const estimate = stepMemory(spec, batch).totalBytes;
      console.log(
        `  ${spec.name} batch ${batch}: allocated ${formatBytes(actual)}, estimate ` +
          `${formatBytes(estimate)} (${(estimate / actual).toFixed(3)}x)`,
      );
      ok(estimate >= actual, `${spec.name}: estimate ${estimate} below the allocation ${actual}`);
      ok(estimate <= 1.25 * actual, `${spec.name}: estimate ${estimate} far above ${actual}`);
    }
    gpu.destroy();
  },
});

Deno.test("the largest batch that fits is the boundary: one more image does not fit", () => {
  const r50 = BACKBONES.resnet50.build({
    width: 64,
    shortcut: "B",
    classes: 1000,
    input: [3, 224, 224],
  });
  const limits = { maxTensorBytes: 2 ** 30, budgetBytes: 12 * 2 ** 30 };
  const best = largestBatch(r50, limits);
  ok(best > 1, `ResNet-50 fits ${best} images in 12 GiB`);
  assertBatchFits(r50, best, limits);
  throws(
    () => assertBatchFits(r50, best + 1, limits),
    new RegExp(
      `Cannot train resnet50 at batch ${best + 1}: a step needs about .* but the budget is ` +
        `12 GiB; the largest batch that fits is ${best}`,
    ),
  );
  equal(largestBatch(r50, { maxTensorBytes: 1024 }), 0);
  throws(() => assertBatchFits(r50, 1, { maxTensorBytes: 1024 }), /not even one image fits/);
});

Deno.test({
  name: "ResNet.create refuses a batch past the device's per-buffer limit, naming the largest",
  ignore: noGpu,
  async fn() {
    const gpu = await requestGpu({ warnFallback: false });
    try {
      // An artificial 1 MiB limit per storage buffer.
      Object.defineProperty(gpu, "limits", {
        value: { maxStorageBufferBindingSize: 2 ** 20, maxBufferSize: 2 ** 20 },
      });
      const spec = resnet32(10);
      const best = largestBatch(spec, { maxTensorBytes: 2 ** 20 });
      // 16 channels of 32x32 f32 per image: 64 KiB, so 16 images fill 1 MiB.
      equal(best, 16);
      const allocated = gpu.pool.allocatedBytes;
      await rejects(
        ResNet.create(gpu, spec, { batch: 17 }),
        /Cannot train resnet32 at batch 17: its largest tensor, stem.conv.out, needs 1.1 MiB but one storage buffer holds at most 1 MiB on this device; the largest batch that fits is 16/,
      );
      equal(gpu.pool.allocatedBytes, allocated, "nothing was allocated");
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "a grouped network the plan fits under a small buffer limit builds and steps there " +
    "(its weight gradients split into fewer shares), matching the unlimited device",
  ignore: noGpu,
  async fn() {
    await testGpu();
    const spec = imagenetResNet("tiny-rx50", [2, 17, 15], 2, [1, 1, 1, 1], 5, {
      block: "bottleneck",
      groups: 2,
      groupWidth: 48,
    });
    const batch = 4;
    // The limit: the plan's largest tensor at this batch, so the batch runs whole.
    const limit = stepMemory(spec, batch).largest.bytes;
    equal(planMicroBatches(spec, batch, { maxTensorBytes: limit }).count, 1);
    // Uncapped, the shares of the widest grouped weight gradient would not fit that limit.
    let uncapped = 0;
    for (const c of planResNet(spec).blocks.flatMap((b) => b.main)) {
      if (c.groups === 1) continue;
      const weights = c.cout * (c.cin / c.groups) * c.kernel ** 2;
      const shares = Math.min(batch, Math.ceil(GROUPED_WEIGHT_TARGET / weights));
      uncapped = Math.max(uncapped, shares * weights * 4);
    }
    ok(uncapped > limit, `uncapped partial sums of ${uncapped} bytes fit ${limit}`);
    const runs = [];
    for (const lowerLimits of [{}, bufferLimits(limit)]) {
      // The kernels' defaults, not a timed choice, so both devices run the same variants.
      const gpu = await requestGpu({ warnFallback: false, tune: "off", lowerLimits });
      try {
        runs.push(await stepOnce(gpu, spec, batch, 5));
      } finally {
        gpu.destroy();
      }
    }
    const [free, limited] = runs;
    // The same products, the weight gradients' batch sums grouped into other shares.
    assertClose(limited.loss, free.loss, 1e-6, "loss");
    limited.grads.forEach((g, i) => assertClose(g, free.grads[i], 1e-5, `gradient ${i}`));
  },
});
