/**
 * Every backbone family's training step at a tiny maxComputeWorkgroupsPerDimension: its
 * dispatches fold past the limit (none exceeds it) and the step computes the same loss and
 * gradients, bit for bit, as on the device without the limit (folding only renumbers the
 * workgroups; every sum keeps its order).
 */

import { deepStrictEqual as deepEqual, ok } from "node:assert/strict";
import { Rng } from "../../lib/data/rng.ts";
import { requestGpu } from "../../lib/gpu/device.ts";
import { readAll } from "../../lib/gpu/tensor.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import { imagenetResNet, resnet, type ResNetSpec } from "../../lib/nn/spec.ts";
import { noGpu } from "../_gpu.ts";

/** A limit the tiny networks' steps pass in several dispatches. */
const LIMIT = 7;
const BATCH = 3;

/** One tiny instance per family, odd sizes (as tests/nn/resnet_test.ts). */
const TINIES: readonly ResNetSpec[] = [
  resnet("tiny", [2, 9, 11], 3, [3, 5, 6], 1, 5),
  resnet("tiny-a", [2, 9, 11], 3, [3, 6, 7], 2, 5, "A"),
  imagenetResNet("tiny-r10", [3, 19, 17], 2, [1, 1, 1, 1], 5),
  imagenetResNet("tiny-r50", [2, 17, 15], 2, [2, 1, 1, 1], 5, { block: "bottleneck" }),
  imagenetResNet("tiny-rx50", [2, 17, 15], 2, [1, 1, 1, 1], 5, {
    block: "bottleneck",
    groups: 2,
    groupWidth: 48,
  }),
];

for (const spec of TINIES) {
  Deno.test({
    name: `${spec.name}: a training step folds past a tiny workgroup limit, same numbers`,
    ignore: noGpu,
    async fn() {
      const runs = [];
      // The limit: the smallest whose folded grid (limit x limit) holds every dispatch of the
      // step, which is below what the widest one needs unfolded.
      let limit = 0;
      for (const lower of [false, true]) {
        const lowerLimits = lower ? { maxComputeWorkgroupsPerDimension: limit } : {};
        // The kernels' defaults, not a timed choice, so both devices run the same variants.
        const gpu = await requestGpu({ warnFallback: false, tune: "off", lowerLimits });
        try {
          const net = await ResNet.create(gpu, spec, { batch: BATCH });
          const rng = new Rng(3);
          net.initialize(rng);
          net.input.write(Float32Array.from({ length: net.input.size }, () => rng.normal(0, 1)));
          net.labels.write(Int32Array.from({ length: BATCH }, (_, i) => i % spec.classes));
          const grids = gpu.capture(() => net.trainStep.record()).map((d) => d.workgroups);
          if (!lower) {
            limit = Math.max(2, ...grids.map(([x, y, z]) => Math.ceil(Math.sqrt(x * y * z)) + 1));
          }
          net.resetMetrics();
          net.trainStep.record();
          runs.push({
            folded: grids.some(([, y, z]) => y > 1 || z > 1),
            widest: Math.max(...grids.flat()),
            loss: await net.lossSum.read(),
            grads: await readAll(net.params.map((p) => p.grad)),
          });
          net.destroy();
        } finally {
          gpu.destroy();
        }
      }
      const [free, limited] = runs;
      console.log(`  limit ${limit}: the widest dispatch needs ${free.widest} workgroups unfolded`);
      ok(free.widest > limit, `the widest dispatch needs ${free.widest} workgroups`);
      ok(limited.folded && limited.widest <= limit, `widest ${limited.widest}`);
      deepEqual(limited.loss, free.loss);
      deepEqual(limited.grads, free.grads);
    },
  });
}
