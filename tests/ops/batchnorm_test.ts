import { ok, rejects, strictEqual as equal } from "node:assert/strict";
import { Tensor } from "../../lib/gpu/tensor.ts";
import type { Gpu } from "../../lib/gpu/device.ts";
import {
  batchNormBackward,
  batchNormEvalForward,
  batchNormTrainForward,
  type BatchNormVariant,
  prepareBatchNormTrainForward,
} from "../../lib/ops/batchnorm.ts";
import * as ref from "../../lib/ops/_reference_nn.ts";
import {
  assertClose,
  maxRelativeError,
  noGpu,
  randomArray,
  testGpu,
  withLowerLimits,
} from "../_gpu.ts";

/** (N,C,H,W) with HW not a multiple of 4 (scalar kernels) and with it (vec4), and (N,C). */
const SHAPES: readonly number[][] = [
  [3, 5, 7, 9],
  [3, 5, 4, 4],
  [1, 17, 5, 7],
  [5, 17],
  [2, 3, 1, 1],
];
const TOL = 1e-5;

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Input with a per-channel offset of about 1e2 (plus noise of spread 1..C): the statistics must
 * stay exact. Channels with fewer than 8 values get no offset: two f32 values near 100 can be
 * closer than their rounding error allows to normalise in any f32 implementation.
 */
/** Both reduction variants, each forced; the subgroup one where the device has subgroups. */
const VARIANTS = ["workgroup", "subgroups"] as const;

/**
 * Without the `subgroups` feature the subgroup variant must be refused up front, never
 * replaced silently: checks that, and says so, for the caller to stop there.
 */
async function refusedWithoutSubgroups(gpu: Gpu, variant: BatchNormVariant): Promise<boolean> {
  if (variant !== "subgroups" || gpu.hasSubgroups) return false;
  const pair = () => Tensor.zeros(gpu, [2, 1]);
  const one = () => Tensor.zeros(gpu, [1]);
  const [x, dy, dx] = [pair(), pair(), pair()];
  const [gamma, mean, invStd, dgamma, dbeta] = [one(), one(), one(), one(), one()];
  await rejects(
    batchNormBackward(gpu, { x, dy, gamma, mean, invStd, dx, dgamma, dbeta, variant }),
    /with variant "subgroups": the device lacks the "subgroups" feature/,
  );
  console.log("  no subgroups on this device: the subgroup variant is refused");
  return true;
}

function offsetInput(shape: readonly number[], seed: number): Float32Array {
  const x = randomArray(product(shape), seed, -1, 1);
  const c = shape[1];
  const hw = shape.length === 4 ? shape[2] * shape[3] : 1;
  const offset = product(shape) / c >= 8 ? 100 : 0;
  return x.map((v, i) => {
    const ch = Math.floor(i / hw) % c;
    return v * (1 + ch) + offset + 10 * ch;
  });
}

Deno.test("batchnorm reference backward matches central finite differences (float64)", () => {
  for (const shape of [[3, 2, 2, 3], [4, 3]]) {
    const c = shape[1];
    const x = Float64Array.from(randomArray(product(shape), 1));
    const gamma = Float64Array.from(randomArray(c, 2, 0.5, 1.5));
    const beta = Float64Array.from(randomArray(c, 3));
    const r = Float64Array.from(randomArray(product(shape), 4));
    const loss = (xv: Float64Array, g: Float64Array, b: Float64Array) =>
      ref.batchNormTrainForward(xv, shape, g, b).y.reduce((s, v, i) => s + v * r[i], 0);
    const fwd = ref.batchNormTrainForward(x, shape, gamma, beta);
    const grads = ref.batchNormBackward(x, r, shape, gamma, fwd.mean, fwd.invStd);
    const h = 1e-6;
    const numeric = (v: Float64Array, f: (v: Float64Array) => number) =>
      v.map((_, i) => {
        const up = v.slice();
        const down = v.slice();
        up[i] += h;
        down[i] -= h;
        return (f(up) - f(down)) / (2 * h);
      });
    const ex = maxRelativeError(grads.dx, numeric(x, (v) => loss(v, gamma, beta)));
    const eg = maxRelativeError(grads.dgamma, numeric(gamma, (v) => loss(x, v, beta)));
    const eb = maxRelativeError(grads.dbeta, numeric(beta, (v) => loss(x, gamma, v)));
    console.log(
      `  fd ${shape}: dx ${ex.toExponential(2)} dgamma ${eg.toExponential(2)} dbeta ${
        eb.toExponential(2)
      }`,
    );
    ok(ex < 1e-7 && eg < 1e-7 && eb < 1e-7, `finite differences disagree: ${ex} ${eg} ${eb}`);
  }
});

/** Checks the training forward pass of `variant` on `shapes` against the CPU reference. */
async function checkTrainForward(
  gpu: Gpu,
  variant: BatchNormVariant,
  shapes: readonly number[][],
) {
  for (const shape of shapes) {
    for (const relu of [false, true]) {
      const c = shape[1];
      const xs = offsetInput(shape, product(shape));
      const gs = randomArray(c, 2, 0.5, 1.5);
      const bs = randomArray(c, 3);
      const rm0 = randomArray(c, 4);
      const rv0 = randomArray(c, 5, 0.5, 2);
      const x = Tensor.from(gpu, xs, shape);
      const gamma = Tensor.from(gpu, gs);
      const beta = Tensor.from(gpu, bs);
      const y = Tensor.empty(gpu, shape);
      const mean = Tensor.empty(gpu, [c]);
      const invStd = Tensor.empty(gpu, [c]);
      const runningMean = Tensor.from(gpu, rm0);
      const runningVar = Tensor.from(gpu, rv0);
      const momentum = 0.3;
      await batchNormTrainForward(gpu, {
        x,
        gamma,
        beta,
        y,
        mean,
        invStd,
        runningMean,
        runningVar,
        momentum,
        relu,
        variant,
      });
      const e = ref.batchNormTrainForward(xs, shape, gs, bs, {
        momentum,
        runningMean: rm0,
        runningVar: rv0,
      });
      const ey = relu ? e.y.map((v) => Math.max(v, 0)) : e.y;
      const label = `${shape}${relu ? " relu" : ""}`;
      const got = {
        y: await y.read(),
        mean: await mean.read(),
        invStd: await invStd.read(),
        rm: await runningMean.read(),
        rv: await runningVar.read(),
      };
      console.log(
        `  ${label}: y ${maxRelativeError(got.y, ey).toExponential(2)}, invStd ` +
          `${maxRelativeError(got.invStd, e.invStd).toExponential(2)}, runningVar ` +
          `${maxRelativeError(got.rv, e.runningVar).toExponential(2)}`,
      );
      // Centering costs one f32 rounding of the mean (at the scale of |x|), which invStd *
      // gamma amplifies: with two close values per channel that exceeds TOL in any f32 code.
      const maxAbs = xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const gain = e.invStd.reduce((m, v, i) => Math.max(m, v * Math.abs(gs[i])), 0);
      const yTol = Math.max(TOL, 4 * 2 ** -24 * maxAbs * gain);
      assertClose(got.y, ey, yTol, `y ${label}`);
      assertClose(got.mean, e.mean, TOL, `mean ${label}`);
      assertClose(got.invStd, e.invStd, TOL, `invStd ${label}`);
      assertClose(got.rm, e.runningMean, TOL, `runningMean ${label}`);
      assertClose(got.rv, e.runningVar, TOL, `runningVar ${label}`);
      for (const t of [x, gamma, beta, y, mean, invStd, runningMean, runningVar]) t.destroy();
    }
  }
}

for (const variant of VARIANTS) {
  Deno.test({
    name:
      `batchnorm ${variant}: train forward output, saved stats and running stats match the reference`,
    ignore: noGpu,
    async fn() {
      const gpu = (await testGpu())!;
      if (await refusedWithoutSubgroups(gpu, variant)) return;
      await checkTrainForward(gpu, variant, SHAPES);
    },
  });
}

Deno.test({
  name: "batchnorm re-recorded train forward updates the running stats every step",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const shape = [4, 3, 5, 5];
    const xs = offsetInput(shape, 9);
    const x = Tensor.from(gpu, xs, shape);
    const gamma = Tensor.from(gpu, [1, 2, 3]);
    const beta = Tensor.from(gpu, [0, 0.5, -1]);
    const y = Tensor.empty(gpu, shape);
    const mean = Tensor.empty(gpu, [3]);
    const invStd = Tensor.empty(gpu, [3]);
    const runningMean = Tensor.zeros(gpu, [3]);
    const runningVar = Tensor.from(gpu, [1, 1, 1]);
    const bn = await prepareBatchNormTrainForward(gpu, {
      x,
      gamma,
      beta,
      y,
      mean,
      invStd,
      runningMean,
      runningVar,
    });
    let rm: ArrayLike<number> = [0, 0, 0];
    let rv: ArrayLike<number> = [1, 1, 1];
    for (let step = 0; step < 3; step++) {
      bn.record();
      const e = ref.batchNormTrainForward(xs, shape, [1, 2, 3], [0, 0.5, -1], {
        runningMean: rm,
        runningVar: rv,
      });
      rm = e.runningMean;
      rv = e.runningVar;
    }
    gpu.submit();
    assertClose(await runningMean.read(), rm, TOL, "running mean after 3 steps");
    assertClose(await runningVar.read(), rv, TOL, "running var after 3 steps");
    bn.destroy();
    for (const t of [x, gamma, beta, y, mean, invStd, runningMean, runningVar]) t.destroy();
  },
});

/** Checks the eval forward pass on `shapes` against the CPU reference. */
async function checkEvalForward(gpu: Gpu, shapes: readonly number[][]) {
  for (const shape of shapes) {
    const c = shape[1];
    const xs = offsetInput(shape, 7);
    const gs = randomArray(c, 2, 0.5, 1.5);
    const bs = randomArray(c, 3);
    const rm = randomArray(c, 4, 95, 105);
    const rv = randomArray(c, 5, 0.5, 2);
    const x = Tensor.from(gpu, xs, shape);
    const y = Tensor.empty(gpu, shape);
    const t = [
      Tensor.from(gpu, gs),
      Tensor.from(gpu, bs),
      Tensor.from(gpu, rm),
      Tensor.from(gpu, rv),
    ];
    for (const relu of [false, true]) {
      await batchNormEvalForward(gpu, {
        x,
        gamma: t[0],
        beta: t[1],
        y,
        runningMean: t[2],
        runningVar: t[3],
        eps: 1e-3,
        relu,
      });
      const e = ref.batchNormEvalForward(xs, shape, gs, bs, rm, rv, 1e-3);
      const got = await y.read();
      console.log(
        `  eval ${shape}${relu ? " relu" : ""}: y ${
          maxRelativeError(
            got,
            relu ? e.map((v) => Math.max(v, 0)) : e,
          ).toExponential(2)
        }`,
      );
      assertClose(got, relu ? e.map((v) => Math.max(v, 0)) : e, TOL, `eval ${shape}`);
    }
    for (const u of [x, y, ...t]) u.destroy();
  }
}

Deno.test({
  name: "batchnorm eval forward matches the reference",
  ignore: noGpu,
  async fn() {
    await checkEvalForward((await testGpu())!, SHAPES);
  },
});

/** Checks the backward pass of `variant` on `shapes` against the CPU reference. */
async function checkBackward(
  gpu: Gpu,
  variant: BatchNormVariant,
  shapes: readonly number[][],
  tol = TOL,
) {
  for (const shape of shapes) {
    for (const relu of [false, true]) {
      const c = shape[1];
      const xs = offsetInput(shape, 11);
      const gs = randomArray(c, 2, 0.5, 1.5);
      const bs = randomArray(c, 3);
      const dys = randomArray(product(shape), 12);
      const fwd = ref.batchNormTrainForward(xs, shape, gs, bs);
      const yRelu = Float32Array.from(fwd.y, (v) => Math.max(v, 0));
      const dyEff = relu ? dys.map((g, i) => (yRelu[i] > 0 ? g : 0)) : dys;
      const e = ref.batchNormBackward(xs, dyEff, shape, gs, fwd.mean, fwd.invStd);
      const x = Tensor.from(gpu, xs, shape);
      const dy = Tensor.from(gpu, dys, shape);
      const gamma = Tensor.from(gpu, gs);
      const mean = Tensor.from(gpu, Float32Array.from(fwd.mean));
      const invStd = Tensor.from(gpu, Float32Array.from(fwd.invStd));
      const dx = Tensor.empty(gpu, shape);
      const dgamma = Tensor.empty(gpu, [c]);
      const dbeta = Tensor.empty(gpu, [c]);
      const reluOutput = relu ? Tensor.from(gpu, yRelu, shape) : undefined;
      const grads = { dx, dgamma, dbeta, reluOutput, variant };
      await batchNormBackward(gpu, { x, dy, gamma, mean, invStd, ...grads });
      const got = { dx: await dx.read(), dg: await dgamma.read(), db: await dbeta.read() };
      const label = `${shape}${relu ? " relu" : ""}`;
      console.log(
        `  backward ${label}: dx ${maxRelativeError(got.dx, e.dx).toExponential(2)}, dgamma ` +
          `${maxRelativeError(got.dg, e.dgamma).toExponential(2)}, dbeta ` +
          `${maxRelativeError(got.db, e.dbeta).toExponential(2)}`,
      );
      assertClose(got.dx, e.dx, tol, `dx ${label}`);
      assertClose(got.dg, e.dgamma, tol, `dgamma ${label}`);
      assertClose(got.db, e.dbeta, tol, `dbeta ${label}`);
      for (const t of [x, dy, gamma, mean, invStd, dx, dgamma, dbeta]) t.destroy();
      reluOutput?.destroy();
    }
  }
}

for (const variant of VARIANTS) {
  Deno.test({
    name:
      `batchnorm ${variant}: backward (plain and with the fused ReLU mask) matches the reference`,
    ignore: noGpu,
    async fn() {
      const gpu = (await testGpu())!;
      if (await refusedWithoutSubgroups(gpu, variant)) return;
      await checkBackward(gpu, variant, SHAPES);
    },
  });
}

Deno.test({
  name: "batchnorm folds every grid past a small maxComputeWorkgroupsPerDimension",
  ignore: noGpu,
  async fn() {
    // 13 workgroups per dimension: 15 to 41 channels (one reduction workgroup each) and 14 to
    // 90 apply workgroups, scalar and vec4 planes; the eval coefficients of 900 channels need 15.
    await withLowerLimits({ maxComputeWorkgroupsPerDimension: 13 }, async (gpu) => {
      const folded = [[3, 37, 7, 9], [5, 29, 12, 12], [9, 20, 17, 15], [41, 15]];
      const x = Tensor.empty(gpu, [9, 20, 17, 15]);
      const c = () => Tensor.zeros(gpu, [20]);
      const bn = await prepareBatchNormTrainForward(gpu, {
        x,
        gamma: c(),
        beta: c(),
        y: Tensor.empty(gpu, [9, 20, 17, 15]),
        mean: c(),
        invStd: c(),
        runningMean: c(),
        runningVar: c(),
      });
      // The grids really fold: each has a second row, none passes the limit.
      const grids = gpu.capture(() => bn.record()).map((d) => d.workgroups);
      ok(grids.every(([, gy]) => gy > 1) && grids.flat().every((d) => d <= 13), `${grids}`);
      bn.destroy();
      for (const variant of VARIANTS) {
        if (variant === "subgroups" && !gpu.hasSubgroups) continue;
        await checkTrainForward(gpu, variant, folded);
        // dgamma and dbeta sum up to 9 x 17 x 15 = 2295 products here: rounding of 1e-4.
        await checkBackward(gpu, variant, folded, 1e-4);
      }
      // 900 channels would need 70 rows of reduction workgroups, past 13 x 13: eval only.
      await checkEvalForward(gpu, [...folded, [3, 900]]);
    });
  },
});

Deno.test({
  name: "batchnorm rejects bad shapes and dtypes before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const x = Tensor.zeros(gpu, [2, 4, 3, 3]);
    const y = Tensor.zeros(gpu, [2, 4, 3, 3]);
    const c4 = () => Tensor.zeros(gpu, [4]);
    const [gamma, beta, mean, invStd, rm, rv] = [c4(), c4(), c4(), c4(), c4(), c4()];
    const c3 = Tensor.zeros(gpu, [3]);
    const yBad = Tensor.zeros(gpu, [2, 4, 9]);
    const one = Tensor.zeros(gpu, [1, 4]);
    const oneY = Tensor.zeros(gpu, [1, 4]);
    const xi = Tensor.zeros(gpu, [2, 4, 3, 3], "i32");
    const base = { x, gamma, beta, y, mean, invStd, runningMean: rm, runningVar: rv };
    const before = gpu.dispatchCount;
    await rejects(
      batchNormTrainForward(gpu, { ...base, gamma: c3 }),
      /Cannot run batchnorm: gamma has 3 values but x \(2,4,3,3\) has 4 channels/,
    );
    await rejects(
      batchNormTrainForward(gpu, { ...base, y: yBad }),
      /Cannot run batchnorm: y has shape \(2,4,9\) but x has \(2,4,3,3\)/,
    );
    await rejects(
      batchNormTrainForward(gpu, { ...base, x: one, y: oneY }),
      /training needs more than one value per channel/,
    );
    await rejects(batchNormTrainForward(gpu, { ...base, x: xi }), TypeError);
    await rejects(batchNormTrainForward(gpu, { ...base, y: x }), /share a buffer/);
    await rejects(batchNormTrainForward(gpu, { ...base, momentum: 2 }), /momentum must be/);
    await rejects(
      batchNormEvalForward(gpu, { x, gamma, beta, y, runningMean: c3, runningVar: rv }),
      /Cannot run batchnorm eval: runningMean has 3 values/,
    );
    await rejects(
      batchNormBackward(gpu, {
        x,
        dy: yBad,
        gamma,
        mean,
        invStd,
        dx: y,
        dgamma: rm,
        dbeta: rv,
      }),
      /Cannot run batchnorm backward: dy has shape \(2,4,9\)/,
    );
    equal(gpu.dispatchCount, before);
    for (const t of [x, y, gamma, beta, mean, invStd, rm, rv, c3, yBad, one, oneY, xi]) {
      t.destroy();
    }
  },
});
