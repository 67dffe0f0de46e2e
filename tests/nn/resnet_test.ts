import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { Rng } from "../../lib/data/rng.ts";
import { readAll } from "../../lib/gpu/tensor.ts";
import { type Gpu, requestGpu } from "../../lib/gpu/device.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import {
  forwardMacs,
  imagenetResNet,
  parameterCount,
  resnet,
  resnet32,
  resnet8,
  type ResNetSpec,
} from "../../lib/nn/spec.ts";
import { assertClose, noGpu, randomArray, testGpu } from "../_gpu.ts";
import { referenceForward } from "./_reference_resnet.ts";
import { stepOnce } from "./_step.ts";

// Odd inputs so stride-2 stages see odd sizes; widths not multiples of any tile. One tiny
// instance of each backbone family: CIFAR-style with option-B and option-A shortcuts (odd
// channel growth, so the zero channels split unevenly), the ImageNet stem (7x7/2 + max pool)
// with BasicBlocks (ResNet-10/18/34), bottlenecks (ResNet-50) and grouped bottlenecks (ResNeXt).
const TINY = resnet("tiny", [2, 9, 11], 3, [3, 5, 6], 1, 5);
const TINIES: readonly ResNetSpec[] = [
  TINY,
  resnet("tiny-a", [2, 9, 11], 3, [3, 6, 7], 2, 5, "A"),
  imagenetResNet("tiny-r10", [3, 19, 17], 2, [1, 1, 1, 1], 5),
  imagenetResNet("tiny-r50", [2, 17, 15], 2, [2, 1, 1, 1], 5, { block: "bottleneck" }),
  imagenetResNet("tiny-rx50", [2, 17, 15], 2, [1, 1, 1, 1], 5, {
    block: "bottleneck",
    groups: 2,
    groupWidth: 48,
  }),
];

async function paramsOf(net: ResNet) {
  const values = await readAll([
    ...net.params.map((p) => p.value),
    ...net.state.map((s) => s.value),
  ]);
  const params = new Map<string, Float64Array>();
  net.params.forEach((p, i) => params.set(p.name, Float64Array.from(values[i])));
  const state = new Map<string, Float64Array>();
  net.state.forEach((s, i) => state.set(s.name, Float64Array.from(values[net.params.length + i])));
  return { params, state };
}

Deno.test("ResNet-8 description matches the recipe's size", () => {
  const macs = forwardMacs(resnet8());
  // RECIPE.md: about 9.2 M multiply-adds per image.
  if (Math.abs(macs - 9.2e6) > 0.2e6) throw new Error(`ResNet-8 has ${macs} MACs`);
});

Deno.test({
  name: "ResNet forward (train and eval mode) matches a float64 CPU reference, every backbone",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const batch = 3;
    for (const spec of TINIES) await checkForward(gpu, spec, batch);
  },
});

async function checkForward(gpu: Gpu, spec: ResNetSpec, batch: number) {
  const net = await ResNet.create(gpu, spec, { batch });
  try {
    equal(net.parameterCount, parameterCount(spec), `${spec.name} parameter count`);
    net.initialize(new Rng(7));
    // Non-trivial BN parameters and running statistics.
    for (const p of net.params) {
      if (p.name.includes(".bn.")) {
        p.value.write(randomArray(p.value.size, p.value.size, 0.5, 1.5));
      }
    }
    for (const s of net.state) {
      const lo = s.name.endsWith("running_var") ? 0.5 : -0.2;
      s.value.write(randomArray(s.value.size, s.value.size + 3, lo, lo + 1));
    }
    const input = randomArray(net.input.size, 11, -2, 2);
    const labels = Int32Array.from([4, 0, 2]);
    net.input.write(input);
    net.labels.write(labels);
    const before = await paramsOf(net);

    net.evalForward.record();
    const [evalLogits] = await readAll([net.logits]);
    const evalRef = referenceForward(spec, before.params, input, labels, "eval", before.state);
    assertClose(evalLogits, evalRef.logits, 1e-4, `${spec.name} eval logits`);

    net.resetMetrics();
    net.trainStep.record();
    const [logits, features, lossSum] = await readAll([net.logits, net.features, net.lossSum]);
    const ref = referenceForward(spec, before.params, input, labels, "train");
    assertClose(features, ref.features, 1e-4, `${spec.name} train features`);
    assertClose(logits, ref.logits, 1e-4, `${spec.name} train logits`);
    assertClose(lossSum, [ref.loss], 1e-5, `${spec.name} loss`);
    console.log(`  ${spec.name}: forward matches (${net.parameterCount} parameters)`);
  } finally {
    net.destroy();
  }
}

Deno.test({
  name: "ResNet gradients match float64 finite differences of the reference loss, every backbone",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const spec of TINIES) await checkGradients(gpu, spec, 4);
  },
});

async function checkGradients(gpu: Gpu, spec: ResNetSpec, batch: number) {
  const net = await ResNet.create(gpu, spec, { batch });
  try {
    net.initialize(new Rng(3));
    const input = randomArray(net.input.size, 5, -2, 2);
    const labels = Int32Array.from([1, 3, 0, 4]);
    net.input.write(input);
    net.labels.write(labels);
    const { params } = await paramsOf(net);
    net.trainStep.record();
    const grads = await readAll(net.params.map((p) => p.grad));
    const rng = new Rng(1);
    const eps = 1e-5;
    let checked = 0;
    let worst = 0;
    for (const [pi, p] of net.params.entries()) {
      const value = params.get(p.name)!;
      for (let s = 0; s < Math.min(3, value.length); s++) {
        const i = rng.nextInt(value.length);
        const keep = value[i];
        value[i] = keep + eps;
        const plus = referenceForward(spec, params, input, labels, "train").loss;
        value[i] = keep - eps;
        const minus = referenceForward(spec, params, input, labels, "train").loss;
        value[i] = keep;
        const fd = (plus - minus) / (2 * eps);
        const err = Math.abs(grads[pi][i] - fd);
        worst = Math.max(worst, err / (1e-3 + Math.abs(fd)));
        // Written so that a NaN on either side fails.
        if (!(err <= 1e-3 + 2e-2 * Math.abs(fd))) {
          throw new Error(
            `${p.name}[${i}]: GPU gradient ${grads[pi][i]} vs finite difference ${fd}`,
          );
        }
        checked++;
      }
    }
    console.log(
      `  ${spec.name}: checked ${checked} gradient entries, worst scaled error ` +
        `${worst.toExponential(2)}`,
    );
    equal(checked > 40, true);
  } finally {
    net.destroy();
  }
}

Deno.test("backbone descriptions have the published parameter counts and feature sizes", () => {
  // torchvision's counts (1000 classes) for the ImageNet ones; LDAM-DRW's ResNet-32 for CIFAR-10.
  const bottleneck = { block: "bottleneck" as const };
  const cases: [ResNetSpec, number, number][] = [
    [resnet32(10), 464154, 64],
    [imagenetResNet("resnet18", [3, 224, 224], 64, [2, 2, 2, 2], 1000), 11689512, 512],
    [imagenetResNet("resnet34", [3, 224, 224], 64, [3, 4, 6, 3], 1000), 21797672, 512],
    [imagenetResNet("resnet50", [3, 224, 224], 64, [3, 4, 6, 3], 1000, bottleneck), 25557032, 2048],
    [
      imagenetResNet("resnext50", [3, 224, 224], 64, [3, 4, 6, 3], 1000, {
        ...bottleneck,
        groups: 32,
        groupWidth: 4,
      }),
      25028904,
      2048,
    ],
  ];
  for (const [spec, params, feature] of cases) {
    deepEqual([spec.name, parameterCount(spec), spec.stages.at(-1)!.channels], [
      spec.name,
      params,
      feature,
    ]);
  }
  // ResNet-10 as classifier-balancing: about 5 M parameters, 0.9 G multiply-adds at 224.
  const r10 = imagenetResNet("resnet10", [3, 224, 224], 64, [1, 1, 1, 1], 1000);
  equal(parameterCount(r10), 5418792);
  equal(Math.round(forwardMacs(r10) / 1e7) / 100, 0.89);
});

Deno.test({
  name: "ResNet-32 with option-A shortcuts builds with 0.46 M parameters and no shortcut weights",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const net = await ResNet.create(gpu, resnet32(10), { batch: 2 });
    try {
      equal(net.parameterCount, 464154);
      equal(net.params.some((p) => p.name.includes("shortcut")), false);
      const b = await ResNet.create(gpu, resnet32(10, [3, 32, 32], "B"), { batch: 2 });
      equal(b.params.filter((p) => p.name.endsWith("shortcut.conv.weight")).length, 2);
      b.destroy();
    } finally {
      net.destroy();
    }
  },
});

Deno.test({
  name: "fan-in and fan-out initialisation give their Kaiming standard deviations",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const std = (v: ArrayLike<number>) =>
      Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0) / v.length);
    // stage2.block1.1 is 16 -> 32 channels, 3x3: fan_in 144, fan_out 288.
    const expected = {
      "fan-in": { conv: Math.sqrt(2 / 144), fc: Math.sqrt(2 / 64) },
      "fan-out": { conv: Math.sqrt(2 / 288), fc: 1 / Math.sqrt(64) / Math.sqrt(3) },
    };
    for (const init of ["fan-in", "fan-out"] as const) {
      const net = await ResNet.create(gpu, { ...resnet32(10), init }, { batch: 2 });
      try {
        net.initialize(new Rng(5));
        const pick = (name: string) => net.params.find((p) => p.name === name)!.value;
        const [conv, fc] = await readAll([pick("stage2.block1.1.conv.weight"), pick("fc.weight")]);
        console.log(`  ${init}: conv std ${std(conv).toFixed(4)}, fc std ${std(fc).toFixed(4)}`);
        assertClose([std(conv)], [expected[init].conv], 0.005, `${init} conv`); // 4608 draws
        assertClose([std(fc)], [expected[init].fc], 0.02, `${init} fc`); // 640 draws
      } finally {
        net.destroy();
      }
    }
  },
});

// Every family's training step at a tiny maxComputeWorkgroupsPerDimension: its dispatches fold
// past the limit (none exceeds it) and the step computes the same loss and gradients, bit for
// bit, as on the device without the limit (folding renumbers workgroups; sums keep their order).
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
          const { loss, grads, seen: grids } = await stepOnce(
            gpu,
            spec,
            3,
            3,
            (net) => gpu.capture(() => net.trainStep.record()).map((d) => d.workgroups),
          );
          if (!lower) {
            limit = Math.max(2, ...grids.map(([x, y, z]) => Math.ceil(Math.sqrt(x * y * z)) + 1));
          }
          runs.push({
            folded: grids.some(([, y, z]) => y > 1 || z > 1),
            widest: Math.max(...grids.flat()),
            loss,
            grads,
          });
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
