import { equal, rejects } from "node:assert/strict";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  globalAvgPoolBackward,
  globalAvgPoolForward,
  prepareGlobalAvgPoolForward,
} from "../../lib/ops/pool.ts";
import * as ref from "../../lib/ops/reference_nn.ts";
import { assertClose, maxRelativeError, noGpu, randomArray, testGpu } from "../_gpu.ts";

/** HW a multiple of 4 (vec4 kernels) and not (scalar kernels), batch 1 and 3. */
const SHAPES = [[3, 5, 7, 7], [1, 17, 4, 4], [3, 64, 7, 7], [2, 3, 1, 1], [3, 5, 2, 6]];

Deno.test("global average pool reference backward is the transpose of the forward", () => {
  // <pool(x), r> = <x, pool'(r)> for every x and r, since pooling is linear.
  const shape = [2, 3, 3, 5];
  const x = randomArray(90, 1);
  const r = randomArray(6, 2);
  const lhs = ref.globalAvgPoolForward(x, shape).reduce((s, v, i) => s + v * r[i], 0);
  const rhs = ref.globalAvgPoolBackward(r, shape).reduce((s, v, i) => s + v * x[i], 0);
  assertClose([lhs], [rhs], 1e-12, "adjoint identity");
});

Deno.test({
  name: "global average pool forward and backward match the reference",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const shape of SHAPES) {
      const [n, c] = shape;
      const size = shape.reduce((a, b) => a * b, 1);
      const xs = randomArray(size, size, -3, 3);
      const dys = randomArray(n * c, 7);
      const x = Tensor.from(gpu, xs, shape);
      const y = Tensor.empty(gpu, [n, c]);
      const dy = Tensor.from(gpu, dys, [n, c]);
      const dx = Tensor.empty(gpu, shape);
      await globalAvgPoolForward(gpu, { x, y });
      await globalAvgPoolBackward(gpu, { dy, dx });
      const gy = await y.read();
      const gdx = await dx.read();
      const ey = ref.globalAvgPoolForward(xs, shape);
      const edx = ref.globalAvgPoolBackward(dys, shape);
      console.log(
        `  ${shape}: y ${maxRelativeError(gy, ey).toExponential(2)}, dx ` +
          `${maxRelativeError(gdx, edx).toExponential(2)}`,
      );
      assertClose(gy, ey, 1e-6, `pool forward ${shape}`);
      assertClose(gdx, edx, 1e-7, `pool backward ${shape}`);
      for (const t of [x, y, dy, dx]) t.destroy();
    }
  },
});

Deno.test({
  name: "global average pool re-records with new data",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const shape = [3, 4, 5, 5];
    const x = Tensor.zeros(gpu, shape);
    const y = Tensor.empty(gpu, [3, 4]);
    const pool = await prepareGlobalAvgPoolForward(gpu, { x, y });
    for (let step = 0; step < 2; step++) {
      const xs = randomArray(300, step);
      x.write(xs);
      pool.record();
      assertClose(await y.read(), ref.globalAvgPoolForward(xs, shape), 1e-6, `step ${step}`);
    }
    pool.destroy();
    x.destroy();
    y.destroy();
  },
});

Deno.test({
  name: "global average pool rejects bad shapes before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const x = Tensor.zeros(gpu, [2, 4, 3, 3]);
    const y = Tensor.zeros(gpu, [2, 5]);
    const x3 = Tensor.zeros(gpu, [2, 4, 9]);
    const yi = Tensor.zeros(gpu, [2, 4], "i32");
    const before = gpu.dispatchCount;
    await rejects(
      globalAvgPoolForward(gpu, { x, y }),
      /Cannot run global average pool: y has shape \(2,5\) but \(2,4\) is expected/,
    );
    await rejects(globalAvgPoolForward(gpu, { x: x3, y }), /x must be \(N,C,H,W\)/);
    await rejects(globalAvgPoolBackward(gpu, { dy: yi, dx: x }), TypeError);
    equal(gpu.dispatchCount, before);
    for (const t of [x, y, x3, yi]) t.destroy();
  },
});
