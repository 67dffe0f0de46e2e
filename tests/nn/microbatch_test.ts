import { deepStrictEqual as deepEqual, strictEqual as equal, throws } from "node:assert/strict";
import { Rng } from "../../lib/data/rng.ts";
import { readAll } from "../../lib/gpu/tensor.ts";
import { describeMicroBatchPlan, planMicroBatches, stepMemory } from "../../lib/nn/memory.ts";
import { MicroBatchStep } from "../../lib/nn/microbatch.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import { imagenetResNet, resnet } from "../../lib/nn/spec.ts";
import { noGpu, randomArray, testGpu } from "../_gpu.ts";
import { referenceForward } from "./_reference_resnet.ts";

// Odd input and widths (no tile multiple), option-B shortcuts; 9 images as 3 micro-batches of 3.
const SPEC = resnet("tiny", [2, 9, 11], 3, [3, 5], 1, 5);
const BATCH = 9;
const COUNT = 3;
const SIZE = BATCH / COUNT;
const LABELS = Int32Array.from([1, 3, 0, 4, 2, 2, 0, 1, 4]);

Deno.test({
  name: "a step in 3 micro-batches sums the unsplit path's per-part gradients, scaled by 1/3, " +
    "and matches finite differences of the per-part reference loss",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const split = await ResNet.create(gpu, SPEC, { batch: SIZE, lossScale: SIZE / BATCH });
    const whole = await ResNet.create(gpu, SPEC, { batch: SIZE }); // the unsplit path, per part
    const step = await MicroBatchStep.create(split, COUNT);
    try {
      split.initialize(new Rng(3));
      whole.initialize(new Rng(3));
      const input = randomArray(split.input.size * COUNT, 5, -2, 2);
      step.write(input, LABELS);
      split.resetMetrics();
      step.record();
      const got = await readAll(step.grads);

      // The unsplit network on each part in turn, its gradients summed on the CPU in float64.
      whole.resetMetrics();
      const expected = whole.params.map((p) => new Float64Array(p.grad.size));
      const per = whole.input.size;
      for (let j = 0; j < COUNT; j++) {
        whole.input.write(input.subarray(j * per, (j + 1) * per));
        whole.labels.write(LABELS.subarray(j * SIZE, (j + 1) * SIZE));
        whole.trainStep.record();
        const grads = await readAll(whole.params.map((p) => p.grad));
        grads.forEach((g, i) => g.forEach((v, e) => expected[i][e] += v / COUNT));
      }
      // Tolerance: 1e-5 of each tensor's largest gradient (float32 sums in another order).
      let worst = 0;
      for (const [i, p] of split.params.entries()) {
        const top = Math.max(...expected[i].map(Math.abs));
        for (let e = 0; e < expected[i].length; e++) {
          const err = Math.abs(got[i][e] - expected[i][e]) / (1e-12 + top);
          worst = Math.max(worst, err);
          if (!(err <= 1e-5)) {
            throw new Error(
              `${p.name}[${e}]: split ${got[i][e]} vs per-part sum ${expected[i][e]}`,
            );
          }
        }
      }
      console.log(
        `  ${split.params.length} gradients; worst error ${worst.toExponential(2)} of max`,
      );
      // Running statistics move once per micro-batch, exactly as three unsplit steps move them;
      // the loss sum holds the three micro-batch means.
      deepEqual(
        await readAll([...split.state.map((s) => s.value), split.lossSum, split.correct]),
        await readAll([...whole.state.map((s) => s.value), whole.lossSum, whole.correct]),
      );

      // Independently: finite differences of mean_j(reference loss of part j), float64.
      const values = await readAll(split.params.map((p) => p.value));
      const params = new Map(split.params.map((p, i) => [p.name, Float64Array.from(values[i])]));
      const objective = () => {
        let sum = 0;
        for (let j = 0; j < COUNT; j++) {
          const part = input.subarray(j * per, (j + 1) * per);
          const labels = LABELS.subarray(j * SIZE, (j + 1) * SIZE);
          sum += referenceForward(SPEC, params, part, labels, "train").loss;
        }
        return sum / COUNT;
      };
      const rng = new Rng(1);
      const eps = 1e-5;
      let checked = 0;
      for (const [pi, p] of split.params.entries()) {
        const value = params.get(p.name)!;
        for (let s = 0; s < Math.min(2, value.length); s++) {
          const i = rng.nextInt(value.length);
          const keep = value[i];
          value[i] = keep + eps;
          const plus = objective();
          value[i] = keep - eps;
          const minus = objective();
          value[i] = keep;
          const fd = (plus - minus) / (2 * eps);
          // The whole-network check's tolerance (tests/nn/resnet_test.ts); NaN fails.
          if (!(Math.abs(got[pi][i] - fd) <= 1e-3 + 2e-2 * Math.abs(fd))) {
            throw new Error(
              `${p.name}[${i}]: split gradient ${got[pi][i]} vs finite difference ${fd}`,
            );
          }
          checked++;
        }
      }
      equal(checked > 20, true);
    } finally {
      step.destroy();
      split.destroy();
      whole.destroy();
    }
  },
});

Deno.test({
  name: "one micro-batch is the network's own step: same buffers, bit-identical gradients",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const a = await ResNet.create(gpu, SPEC, { batch: 4 });
    const b = await ResNet.create(gpu, SPEC, { batch: 4 });
    const step = await MicroBatchStep.create(a, 1);
    try {
      deepEqual(step.grads, a.params.map((p) => p.grad));
      a.initialize(new Rng(7));
      b.initialize(new Rng(7));
      const input = randomArray(a.input.size, 2, -1, 1);
      const labels = Int32Array.from([4, 0, 2, 1]);
      step.write(input, labels);
      b.input.write(input);
      b.labels.write(labels);
      a.resetMetrics();
      b.resetMetrics();
      step.record();
      b.trainStep.record();
      deepEqual(
        await readAll([...step.grads, ...a.state.map((s) => s.value), a.lossSum]),
        await readAll([...b.params.map((p) => p.grad), ...b.state.map((s) => s.value), b.lossSum]),
      );
    } finally {
      step.destroy();
      a.destroy();
      b.destroy();
    }
  },
});

Deno.test("the plan takes the smallest divisor of the batch whose micro-batch fits", () => {
  const r10 = imagenetResNet("resnet10", [3, 224, 224], 64, [1, 1, 1, 1], 1000);
  const perImage = 64 * 112 * 112 * 4; // stem.conv.out, the largest tensor from 3 images up
  deepEqual(stepMemory(r10, 3).largest, { name: "stem.conv.out", bytes: 3 * perImage });
  // Room for 100 images per buffer: 512 splits into 8 of 64 (no divisor of 512 lies in 65..100).
  const plan = planMicroBatches(r10, 512, { maxTensorBytes: 100 * perImage });
  deepEqual([plan.count, plan.size], [8, 64]);
  equal(plan.totalBytes, stepMemory(r10, 64).totalBytes + plan.extraBytes);
  equal(plan.step.largest.bytes <= 100 * perImage, true);
  // A prime batch that does not fit whole runs image by image.
  deepEqual(
    [planMicroBatches(r10, 101, { maxTensorBytes: 100 * perImage }).size],
    [1],
  );
  // Whole when it fits: nothing extra, and the log line is the step-memory line.
  const whole = planMicroBatches(r10, 64, { maxTensorBytes: 100 * perImage });
  deepEqual([whole.count, whole.extraBytes], [1, 0]);
  equal(describeMicroBatchPlan(whole).startsWith("a step at batch 64 needs about"), true);
  equal(describeMicroBatchPlan(plan).startsWith("batch 512 runs as 8 micro-batches of 64"), true);
  // A total budget splits too, and counts the accumulators and input slots.
  const budget = planMicroBatches(r10, 512, {
    maxTensorBytes: 2 ** 40,
    budgetBytes: stepMemory(r10, 300).totalBytes,
  });
  deepEqual([budget.count, budget.size], [2, 256]);
  equal(budget.totalBytes <= stepMemory(r10, 300).totalBytes, true);
});

Deno.test("a batch is refused only when one image per micro-batch does not fit", () => {
  const r10 = imagenetResNet("resnet10", [3, 224, 224], 64, [1, 1, 1, 1], 1000);
  throws(
    () => planMicroBatches(r10, 512, { maxTensorBytes: 3 * 2 ** 20 }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot train resnet10 at batch 512: even one image per micro-batch needs 9 MiB for " +
          "stage4.block1.2.conv.weight but one storage buffer holds at most 3 MiB on this " +
          "device; use a smaller input size or a narrower network",
  );
  throws(
    () => planMicroBatches(r10, 8, { maxTensorBytes: 2 ** 30, budgetBytes: 2 ** 20 }),
    /Cannot train resnet10 at batch 8: even one image per micro-batch needs about .* of GPU memory but the budget is 1 MiB; use a smaller input size or a narrower network/,
  );
  throws(() => planMicroBatches(r10, 0, { maxTensorBytes: 2 ** 30 }), /batch is 0/);
});
