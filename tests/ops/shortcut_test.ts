import { rejects, strictEqual as equal } from "node:assert/strict";
import type { Gpu } from "../../lib/gpu/device.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import * as ref from "../../lib/ops/_reference_nn.ts";
import {
  prepareShortcutPadBackward,
  prepareShortcutPadForward,
  shortcutPadBackward,
  shortcutPadForward,
  shortcutPadShape,
} from "../../lib/ops/shortcut.ts";
import {
  assertClose,
  maxRelativeError,
  noGpu,
  randomArray,
  testGpu,
  withLowerLimits,
} from "../_gpu.ts";

/** [N, C, H, W, F, stride]: odd sizes, odd channel growth, stride 1 to 3. */
const CASES: readonly number[][] = [
  [3, 5, 9, 11, 10, 2],
  [2, 16, 32, 32, 32, 2],
  [1, 3, 7, 5, 8, 2], // F - C odd: one more zero channel behind than in front
  [3, 4, 5, 5, 4, 3], // no new channels, stride only
  [2, 3, 4, 6, 7, 1], // channels only
  [1, 1, 1, 1, 2, 2],
];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

Deno.test("shortcut pad reference backward is the transpose of the forward", () => {
  // <pad(x), r> = <x, pad'(r)> for every x and r: the op is linear.
  for (const [n, c, h, w, f, s] of CASES) {
    const xShape = [n, c, h, w];
    const { shape } = shortcutPadShape(xShape, f, s);
    const x = randomArray(size(xShape), 1);
    const r = randomArray(size(shape), 2);
    const lhs = ref.shortcutPadForward(x, xShape, f, s).reduce((a, v, i) => a + v * r[i], 0);
    const rhs = ref.shortcutPadBackward(r, xShape, f, s).reduce((a, v, i) => a + v * x[i], 0);
    assertClose([lhs], [rhs], 1e-12, `adjoint identity ${xShape} -> ${shape}`);
  }
});

/** The zero-pad shortcut on `cases` against the CPU reference, both passes. */
async function checkShortcut(gpu: Gpu, cases: readonly number[][]) {
  for (const [n, c, h, w, f, s] of cases) {
    const xShape = [n, c, h, w];
    const { shape } = shortcutPadShape(xShape, f, s);
    const xs = randomArray(size(xShape), n + c, -3, 3);
    const dys = randomArray(size(shape), 7);
    const base = randomArray(size(xShape), 9);
    const x = Tensor.from(gpu, xs, xShape);
    const y = Tensor.from(gpu, randomArray(size(shape), 3), shape); // garbage to overwrite
    const dy = Tensor.from(gpu, dys, shape);
    const dx = Tensor.from(gpu, randomArray(size(xShape), 4), xShape);
    const dxAcc = Tensor.from(gpu, base, xShape);
    await shortcutPadForward(gpu, { x, y, stride: s });
    await shortcutPadBackward(gpu, { dy, dx, stride: s });
    await shortcutPadBackward(gpu, { dy, dx: dxAcc, stride: s, accumulate: true });
    const ey = ref.shortcutPadForward(xs, xShape, f, s);
    const edx = ref.shortcutPadBackward(dys, xShape, f, s);
    const [gy, gdx, gacc] = [await y.read(), await dx.read(), await dxAcc.read()];
    console.log(
      `  ${xShape} -> ${shape}: y ${maxRelativeError(gy, ey).toExponential(2)}, dx ` +
        `${maxRelativeError(gdx, edx).toExponential(2)}`,
    );
    // Pure copies: exact.
    assertClose(gy, ey, 0, `forward ${xShape}`);
    assertClose(gdx, edx, 0, `backward ${xShape}`);
    assertClose(gacc, edx.map((v, i) => v + base[i]), 1e-7, `accumulated backward ${xShape}`);
    for (const t of [x, y, dy, dx, dxAcc]) t.destroy();
  }
}

Deno.test({
  name: "shortcut pad forward and backward (overwrite and accumulate) match the reference",
  ignore: noGpu,
  async fn() {
    await checkShortcut((await testGpu())!, CASES);
  },
});

Deno.test({
  name: "shortcut pad folds past a small maxComputeWorkgroupsPerDimension",
  ignore: noGpu,
  async fn() {
    // 4 workgroups per dimension (64 rows each): these need 8 to 16 forward and backward.
    await withLowerLimits({ maxComputeWorkgroupsPerDimension: 4 }, async (gpu) => {
      await checkShortcut(gpu, [[2, 16, 32, 32, 32, 2], [4, 7, 20, 18, 12, 2], ...CASES]);
    });
  },
});

Deno.test({
  name: "shortcut pad re-records with new data",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const xShape = [2, 3, 5, 5];
    const x = Tensor.zeros(gpu, xShape);
    const y = Tensor.empty(gpu, [2, 6, 3, 3]);
    const dy = Tensor.zeros(gpu, [2, 6, 3, 3]);
    const dx = Tensor.empty(gpu, xShape);
    const fwd = await prepareShortcutPadForward(gpu, { x, y, stride: 2 });
    const back = await prepareShortcutPadBackward(gpu, { dy, dx, stride: 2 });
    for (let step = 0; step < 2; step++) {
      const xs = randomArray(x.size, step + 1);
      const dys = randomArray(dy.size, step + 5);
      x.write(xs);
      dy.write(dys);
      fwd.record();
      back.record();
      assertClose(await y.read(), ref.shortcutPadForward(xs, xShape, 6, 2), 0, `y ${step}`);
      assertClose(await dx.read(), ref.shortcutPadBackward(dys, xShape, 6, 2), 0, `dx ${step}`);
    }
    for (const t of [fwd, back, x, y, dy, dx]) t.destroy();
  },
});

Deno.test({
  name: "shortcut pad rejects bad shapes and dtypes before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const x = Tensor.zeros(gpu, [2, 4, 5, 5]);
    const x3 = Tensor.zeros(gpu, [2, 4, 25]);
    const y = Tensor.zeros(gpu, [2, 8, 3, 3]);
    const yBad = Tensor.zeros(gpu, [2, 8, 2, 3]);
    const yNarrow = Tensor.zeros(gpu, [2, 2, 3, 3]);
    const yi = Tensor.zeros(gpu, [2, 8, 3, 3], "i32");
    const before = gpu.dispatchCount;
    await rejects(
      shortcutPadForward(gpu, { x: x3, y, stride: 2 }),
      /Cannot run shortcut pad: input x has 3 dimensions but needs 4 \(N, C, H, W\)/,
    );
    await rejects(
      shortcutPadForward(gpu, { x, y: yBad, stride: 2 }),
      /Cannot run shortcut pad: output y has shape \(2,8,2,3\) but \(2,8,3,3\) is expected/,
    );
    await rejects(
      shortcutPadForward(gpu, { x, y: yNarrow, stride: 2 }),
      /output has 2 channels but the input has 4/,
    );
    await rejects(shortcutPadForward(gpu, { x, y, stride: 0 }), /stride must be a whole number/);
    await rejects(shortcutPadForward(gpu, { x, y: yi, stride: 2 }), TypeError);
    await rejects(
      shortcutPadBackward(gpu, { dy: yBad, dx: x, stride: 2 }),
      /Cannot run shortcut pad backward: gradient dy has shape \(2,8,2,3\)/,
    );
    equal(gpu.dispatchCount, before);
    for (const t of [x, x3, y, yBad, yNarrow, yi]) t.destroy();
  },
});
