import { rejects, strictEqual as equal } from "node:assert/strict";
import type { Gpu } from "../../lib/gpu/device.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  accumulate,
  add,
  addRelu,
  fill,
  reluBackward,
  reluForward,
  scale,
} from "../../lib/ops/elementwise.ts";
import { assertClose, noGpu, randomArray, testGpu, withLowerLimits } from "../_gpu.ts";

const SIZES = [1, 7, 255, 257, 1000, 70001];

/** Every element-wise op on vectors of each of `sizes` against the CPU reference. */
async function checkElementwise(gpu: Gpu, sizes: readonly number[]) {
  for (const n of sizes) {
    const xs = randomArray(n, n);
    const ys = randomArray(n, n + 1);
    const x = Tensor.from(gpu, xs);
    const y = Tensor.from(gpu, ys);
    const out = Tensor.empty(gpu, [n]);
    await fill(gpu, out, 3.5);
    assertClose(await out.read(), new Float32Array(n).fill(3.5), 0, `fill n=${n}`);
    await scale(gpu, x, out, -2);
    assertClose(await out.read(), xs.map((v) => -2 * v), 1e-7, `scale n=${n}`);
    await add(gpu, x, y, out, 0.5, 2);
    assertClose(await out.read(), xs.map((v, i) => 0.5 * v + 2 * ys[i]), 1e-6, `add n=${n}`);
    await accumulate(gpu, y, out, -3); // out holds 0.5 x + 2 y from add
    assertClose(
      await out.read(),
      xs.map((v, i) => 0.5 * v + 2 * ys[i] - 3 * ys[i]),
      1e-6,
      `accumulate n=${n}`,
    );
    await addRelu(gpu, x, y, out, 0.5, -2);
    assertClose(
      await out.read(),
      xs.map((v, i) => Math.max(0.5 * v - 2 * ys[i], 0)),
      1e-6,
      `add_relu n=${n}`,
    );
    await reluForward(gpu, x, out);
    assertClose(await out.read(), xs.map((v) => Math.max(v, 0)), 0, `relu n=${n}`);
    await reluBackward(gpu, x, y, out);
    assertClose(await out.read(), xs.map((v, i) => (v > 0 ? ys[i] : 0)), 0, `relu' n=${n}`);
    x.destroy();
    y.destroy();
    out.destroy();
  }
}

Deno.test({
  name: "elementwise ops match the CPU reference on odd sizes",
  ignore: noGpu,
  async fn() {
    await checkElementwise((await testGpu())!, SIZES);
  },
});

Deno.test({
  name: "elementwise ops fold past a small maxComputeWorkgroupsPerDimension",
  ignore: noGpu,
  async fn() {
    // 4 workgroups per dimension (1024 values each): 5001 and 16001 values need 5 and 16.
    await withLowerLimits({ maxComputeWorkgroupsPerDimension: 4 }, async (gpu) => {
      await checkElementwise(gpu, [5001, 16001]);
    });
  },
});

Deno.test({
  name: "elementwise ops reject mismatched sizes and dtypes before dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const a = Tensor.zeros(gpu, [3, 4]);
    const b = Tensor.zeros(gpu, [5]);
    const i = Tensor.zeros(gpu, [12], "i32");
    const before = gpu.dispatchCount;
    await rejects(add(gpu, a, b, a), /Cannot run add: tensor \(3,4\) and tensor \(5\) differ/);
    await rejects(scale(gpu, i, a, 1), /Cannot run scale: x must be f32 but tensor \(12\) is i32/);
    equal(gpu.dispatchCount, before);
  },
});
