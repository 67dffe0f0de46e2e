import { equal } from "node:assert/strict";
import { Rng } from "../../lib/data/rng.ts";
import { readAll } from "../../lib/gpu/tensor.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import { forwardMacs, resnet, resnet8 } from "../../lib/nn/spec.ts";
import { assertClose, noGpu, randomArray, testGpu } from "../_gpu.ts";
import { referenceForward } from "./_reference_resnet.ts";

// Odd input (9x11) so stride-2 stages see odd sizes; widths not multiples of any tile.
const TINY = resnet("tiny", [2, 9, 11], 3, [3, 5, 6], 1, 5);

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
  name: "ResNet forward (train and eval mode) matches a float64 CPU reference",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const batch = 3;
    const net = await ResNet.create(gpu, TINY, { batch });
    try {
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
      const evalRef = referenceForward(TINY, before.params, input, labels, "eval", before.state);
      assertClose(evalLogits, evalRef.logits, 1e-4, "eval logits");

      net.resetMetrics();
      net.trainStep.record();
      const [logits, features, lossSum] = await readAll([net.logits, net.features, net.lossSum]);
      const ref = referenceForward(TINY, before.params, input, labels, "train");
      assertClose(features, ref.features, 1e-4, "train features");
      assertClose(logits, ref.logits, 1e-4, "train logits");
      assertClose(lossSum, [ref.loss], 1e-5, "loss");
    } finally {
      net.destroy();
    }
  },
});

Deno.test({
  name: "ResNet gradients match float64 finite differences of the reference loss",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const batch = 4;
    const net = await ResNet.create(gpu, TINY, { batch });
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
          const plus = referenceForward(TINY, params, input, labels, "train").loss;
          value[i] = keep - eps;
          const minus = referenceForward(TINY, params, input, labels, "train").loss;
          value[i] = keep;
          const fd = (plus - minus) / (2 * eps);
          const err = Math.abs(grads[pi][i] - fd);
          worst = Math.max(worst, err / (1e-3 + Math.abs(fd)));
          if (err > 1e-3 + 2e-2 * Math.abs(fd)) {
            throw new Error(
              `${p.name}[${i}]: GPU gradient ${grads[pi][i]} vs finite difference ${fd}`,
            );
          }
          checked++;
        }
      }
      console.log(
        `checked ${checked} gradient entries, worst scaled error ${worst.toExponential(2)}`,
      );
      equal(checked > 40, true);
    } finally {
      net.destroy();
    }
  },
});
