import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import type { Gpu } from "../../lib/gpu/device.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  configProblem,
  defaultGemmConfig,
  FALLBACK_GEMM_CANDIDATES,
  formatGemmConfig,
  gemm,
  GEMM_TUNE_KEY,
  gemmBlock,
  gemmCandidates,
  type GemmConfig,
  gemmConfig,
  type GemmOptions,
  GPU_GEMM_CANDIDATES,
  type LanesConfig,
  matmul,
  prepareGemm,
  type RegisterBlockedConfig,
  resolveGemm,
  sharedACandidates,
} from "../../lib/ops/gemm.ts";
import { referenceGemm } from "../../lib/ops/_reference_gemm.ts";
import { forgetTuning, presetTuning, tuned, tunedKey } from "../../lib/ops/tune.ts";
import {
  bufferLimits,
  maxRelativeError,
  noGpu,
  randomArray,
  testGpu,
  withLowerLimits,
} from "../_gpu.ts";

// Tolerance relative to max(1, |expected|), float32 kernels against the float64 reference:
// rounding grows with the number of products summed, so it scales with K.
const tolerance = (k: number) => 1e-6 * (k + 8);

const TRANSPOSES: [boolean, boolean][] = [[false, false], [false, true], [true, false], [
  true,
  true,
]];

interface Problem {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  bias?: boolean;
  batch?: number;
  /** Initial C: "random" (default) or "nan". */
  c?: "random" | "nan";
  config?: GemmConfig;
  /** Leave the config to prepareGemm (the tuned one), rather than the default. */
  tuned?: boolean;
}

/** Runs one GEMM on the GPU and on the CPU; returns the max error and what the plan did. */
async function check(gpu: Gpu, p: Problem, seed: number) {
  const batch = p.batch ?? 1;
  const { m, n, k } = p;
  const transA = p.transA ?? false;
  const transB = p.transB ?? false;
  const ad = randomArray(batch * m * k, seed);
  const bd = randomArray(batch * k * n, seed + 1);
  const cd = p.c === "nan" ? new Float32Array(batch * m * n).fill(NaN) : randomArray(
    batch * m * n,
    seed + 2,
  );
  const biasd = randomArray(n, seed + 3);
  const lead = batch > 1 ? [batch] : [];
  const a = Tensor.from(gpu, ad, [...lead, ...(transA ? [k, m] : [m, k])]);
  const b = Tensor.from(gpu, bd, [...lead, ...(transB ? [n, k] : [k, n])]);
  const c = Tensor.from(gpu, cd, [...lead, m, n]);
  const bias = p.bias ? Tensor.from(gpu, biasd) : undefined;
  const plan = await prepareGemm(gpu, {
    a,
    b,
    c,
    bias,
    transA,
    transB,
    alpha: p.alpha,
    beta: p.beta,
    config: p.tuned ? undefined : p.config ?? defaultGemmConfig(gpu),
  });
  plan.record();
  const got = await c.read();
  const want = referenceGemm({
    a: ad,
    b: bd,
    c: cd,
    bias: p.bias ? biasd : undefined,
    m,
    n,
    k,
    transA,
    transB,
    alpha: p.alpha,
    beta: p.beta,
    batch,
  });
  const info = plan.info;
  plan.destroy();
  for (const t of [a, b, c, bias]) t?.destroy();
  return { err: maxRelativeError(got, want), info };
}

function describe(p: Problem): string {
  const t = `${p.transA ? "T" : "N"}${p.transB ? "T" : "N"}`;
  const extra = [
    p.batch ? `batch ${p.batch}` : "",
    p.alpha !== undefined ? `alpha ${p.alpha}` : "",
    p.beta !== undefined ? `beta ${p.beta}` : "",
    p.bias ? "bias" : "",
    p.c === "nan" ? "C=NaN" : "",
    p.config ? formatGemmConfig(p.config) : "",
  ].filter(Boolean).join(" ");
  return `${p.m}x${p.n}x${p.k} ${t}${extra ? ` ${extra}` : ""}`;
}

async function expectClose(gpu: Gpu, p: Problem, seed: number): Promise<void> {
  const { err, info } = await check(gpu, p, seed);
  const how =
    `${info.direct ? "direct" : "epilogue"}${info.splits > 1 ? ` split ${info.splits}` : ""}` +
    `${info.padA ? " padA" : ""}${info.padB ? " padB" : ""}`;
  console.log(`  ${describe(p)} [${how}]: max error ${err.toExponential(2)}`);
  ok(err <= tolerance(p.k), `${describe(p)}: max error ${err} exceeds ${tolerance(p.k)}`);
}

Deno.test({
  name: "gemm matches the CPU reference at odd shapes, every transpose combination",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [7, 13, 5],
      [127, 65, 33],
      [300, 257, 129],
      [64, 64, 64],
      [128, 10, 64],
    ];
    let seed = 1;
    for (const [m, n, k] of shapes) {
      for (const [transA, transB] of TRANSPOSES) {
        await expectClose(gpu, { m, n, k, transA, transB }, seed++);
      }
    }
  },
});

Deno.test({
  name: "gemm matches the CPU reference at the backbone's conv and linear shapes",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    // Forward conv (im2col . W^T), backward data (dY . W), backward weight (dY^T . im2col,
    // which takes the split-K path), at batch 8 of 28x28 with 16 channels.
    await expectClose(gpu, { m: 6272, n: 16, k: 144, transB: true }, 11);
    await expectClose(gpu, { m: 6272, n: 144, k: 16 }, 12);
    await expectClose(gpu, { m: 16, n: 144, k: 6272, transA: true }, 13);
    await expectClose(gpu, { m: 128, n: 10, k: 64, transB: true, bias: true }, 14);
  },
});

Deno.test({
  name: "gemm applies alpha, beta and bias, and never reads C when beta is 0",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    let seed = 100;
    // 64x64 takes the direct path (C written by the main kernel), 37x29 the epilogue.
    for (const [m, n, k] of [[64, 64, 64], [37, 29, 19]] as const) {
      await expectClose(gpu, { m, n, k, beta: 0, c: "nan" }, seed++);
      await expectClose(gpu, { m, n, k, alpha: -0.5, beta: 0, c: "nan", transB: true }, seed++);
      await expectClose(gpu, { m, n, k, beta: 1 }, seed++);
      await expectClose(gpu, { m, n, k, alpha: 2, beta: -0.25, transA: true }, seed++);
      await expectClose(gpu, { m, n, k, bias: true, c: "nan" }, seed++);
      await expectClose(gpu, { m, n, k, alpha: 0.5, beta: 1, bias: true, transB: true }, seed++);
    }
  },
});

Deno.test({
  name: "gemm runs strided batches: 3-D operands, a shared B and explicit strides",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const [transA, transB] of TRANSPOSES) {
      await expectClose(gpu, { m: 19, n: 11, k: 9, batch: 3, transA, transB, bias: true }, 200);
    }
    await expectClose(gpu, { m: 64, n: 32, k: 16, batch: 2, c: "nan" }, 201);

    // A (3, 10, 6) against one shared B (6, 7).
    const ad = randomArray(3 * 10 * 6, 210);
    const bd = randomArray(6 * 7, 211);
    const a = Tensor.from(gpu, ad, [3, 10, 6]);
    const b = Tensor.from(gpu, bd, [6, 7]);
    const c = Tensor.empty(gpu, [3, 10, 7]);
    await gemm(gpu, { a, b, c, config: defaultGemmConfig(gpu) });
    const want = referenceGemm({ a: ad, b: bd, m: 10, n: 7, k: 6, batch: 3, strideB: 0 });
    const err = maxRelativeError(await c.read(), want);
    console.log(`  shared B: max error ${err.toExponential(2)}`);
    ok(err <= tolerance(6));

    // Flat tensors with gaps between batches (as an implicit-GEMM conv may lay them out).
    const [m, n, k, batch] = [5, 6, 7, 2];
    const [sa, sb, sc] = [m * k + 3, k * n + 5, m * n + 2];
    const fa = randomArray(batch * sa, 220);
    const fb = randomArray(batch * sb, 221);
    const fc = randomArray(batch * sc, 222);
    const ta = Tensor.from(gpu, fa);
    const tb = Tensor.from(gpu, fb);
    const tc = Tensor.from(gpu, fc);
    const opts = { m, n, k, batch, strideA: sa, strideB: sb, strideC: sc, beta: 1 };
    await gemm(gpu, { a: ta, b: tb, c: tc, ...opts, config: defaultGemmConfig(gpu) });
    const flat = referenceGemm({ a: fa, b: fb, c: fc, ...opts });
    const flatErr = maxRelativeError(await tc.read(), flat);
    console.log(`  explicit strides: max error ${flatErr.toExponential(2)}`);
    ok(flatErr <= tolerance(k));
    for (const t of [a, b, c, ta, tb, tc]) t.destroy();
  },
});

Deno.test({
  name: "the lane-parallel and edge-split kernels compute the right result on odd shapes",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    // wg 3 leaves SIMD lanes idle and blocks that are not multiples of 4 columns of invocations.
    const configs: (LanesConfig | RegisterBlockedConfig)[] = [
      { kernel: "lanes", bm: 32, bn: 16, wg: 8 },
      { kernel: "lanes", bm: 8, bn: 4, wg: 3 },
      { kernel: "lanes", bm: 4, bn: 8, wg: 16, edge: true },
      { kernel: "rb", bm: 16, bn: 8, wg: 8, edge: true },
    ];
    let seed = 500;
    for (const config of configs) seed = await checkOddShapes(gpu, config, seed, [19, 7], [2, 1]);
  },
});

/**
 * `config` on odd shapes: every transpose, a batched [m, n] with alpha, beta and bias, a C of
 * NaN that is `blocks` block multiples (direct stores), and a long K (split-K). Returns the next
 * seed.
 */
async function checkOddShapes(
  gpu: Gpu,
  config: GemmConfig,
  seed: number,
  [m, n]: [number, number],
  blocks: [number, number],
): Promise<number> {
  for (const [transA, transB] of TRANSPOSES) {
    await expectClose(gpu, { m: 37, n: 53, k: 23, transA, transB, config }, seed++);
  }
  const scaled = { alpha: -1.5, beta: 0.25, bias: true };
  await expectClose(gpu, { m, n, k: 9, batch: 3, transB: true, ...scaled, config }, seed++);
  const [bm, bn] = gemmBlock(config);
  await expectClose(gpu, { m: blocks[0] * bm, n: blocks[1] * bn, k: 40, c: "nan", config }, seed++);
  await expectClose(gpu, { m: 5, n: 6, k: 700, transA: true, config }, seed++);
  return seed;
}

Deno.test({
  name: "the share-a kernels (A shared through subgroups) compute the right result on odd shapes",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const lanes = gpu.adapter.subgroupMinSize;
    if (!gpu.hasSubgroups || !lanes) {
      // No variant to run: it must say why rather than compute something wrong.
      const problem = configProblem(gpu, sharedACandidates(8)[0]);
      ok(problem !== null && /subgroup/.test(problem), String(problem));
      console.log(`  share-a not usable here: ${problem}`);
      return;
    }
    // Every candidate (the 64-row ones hand two quads of A to each lane of 8), plus one
    // subgroup per workgroup.
    const configs: GemmConfig[] = [
      ...sharedACandidates(lanes),
      { kernel: "lanes", bm: 4 * Math.min(8, 2 * lanes), bn: 4, wg: lanes, subgroup: lanes },
    ];
    let seed = 700;
    for (const config of configs) {
      ok(configProblem(gpu, config) === null, formatGemmConfig(config));
      // The batched problem's N = 36 is ragged but a multiple of 4: the vec4 epilogue. The
      // block multiples have more blocks than fill whole workgroups of subgroups.
      seed = await checkOddShapes(gpu, config, seed, [70, 36], [3, 3]);
    }
    throws(
      () => {
        const problem = configProblem(gpu, { ...sharedACandidates(lanes)[0], wg: lanes + 1 });
        if (problem) throw new RangeError(problem);
      },
      /not a multiple of subgroup/,
    );
  },
});

Deno.test({
  name: "the vec4 epilogue matches the CPU reference with strided batches",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    // N % 4 == 0 but not a block multiple, with and without 4-aligned C batch strides (the
    // unaligned one takes the scalar epilogue), split-K from a long K.
    const config = defaultGemmConfig(gpu);
    let seed = 800;
    for (const strideC of [undefined, 12 * 20 + 4, 12 * 20 + 3]) {
      const [m, n, k, batch] = [12, 20, 530, 2];
      const a = randomArray(batch * m * k, seed++);
      const b = randomArray(k * n, seed++);
      const sc = strideC ?? m * n;
      const c0 = randomArray(batch * sc, seed++);
      const bias = randomArray(n, seed++);
      const [ta, tb, tc, tbias] = [a, b, c0, bias].map((d) => Tensor.from(gpu, d));
      const opts = {
        m,
        n,
        k,
        batch,
        strideA: m * k,
        strideB: 0,
        strideC: sc,
        alpha: 2,
        beta: -0.5,
      };
      await gemm(gpu, { a: ta, b: tb, c: tc, bias: tbias, ...opts, config });
      const want = referenceGemm({ a, b, c: c0, bias, ...opts });
      const err = maxRelativeError(await tc.read(), want);
      console.log(`  strideC ${sc}: max error ${err.toExponential(2)}`);
      ok(err <= tolerance(k), `strideC ${sc}: max error ${err}`);
      for (const t of [ta, tb, tc, tbias]) t.destroy();
    }
  },
});

Deno.test({
  name: "every tuning candidate computes the right result on odd shapes",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const candidates = [...FALLBACK_GEMM_CANDIDATES, ...GPU_GEMM_CANDIDATES];
    let seed = 300;
    for (const [i, config] of candidates.entries()) {
      const [transA, transB] = TRANSPOSES[i % 4];
      await expectClose(gpu, {
        m: 67,
        n: 45,
        k: 21,
        transA,
        transB,
        alpha: 0.75,
        beta: 0.5,
        bias: true,
        config,
      }, seed++);
      // Block multiples take the direct path; K = 600 with few blocks takes split-K.
      await expectClose(gpu, { m: 128, n: 128, k: 12, c: "nan", config }, seed++);
      await expectClose(gpu, { m: 8, n: 12, k: 600, transA: true, config }, seed++);
    }
  },
});

Deno.test({
  name: "a prepared gemm can be recorded again on new data without allocating",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const [m, n, k] = [33, 17, 10];
    const a = Tensor.from(gpu, randomArray(m * k, 400), [m, k]);
    const b = Tensor.from(gpu, randomArray(k * n, 401), [n, k]);
    const c = Tensor.empty(gpu, [m, n]);
    const plan = await prepareGemm(gpu, {
      a,
      b,
      c,
      transB: true,
      config: defaultGemmConfig(gpu),
    });
    const allocated = gpu.pool.allocatedBytes;
    for (let step = 0; step < 3; step++) {
      const ad = randomArray(m * k, 410 + step);
      const bd = randomArray(k * n, 420 + step);
      a.write(ad);
      b.write(bd);
      plan.record();
      plan.record(); // Idempotent: C is overwritten, not accumulated.
      const err = maxRelativeError(
        await c.read(),
        referenceGemm({ a: ad, b: bd, m, n, k, transB: true }),
      );
      ok(err <= tolerance(k), `step ${step}: max error ${err}`);
    }
    // Reads use pooled staging buffers; nothing else may be created by recording.
    ok(gpu.pool.allocatedBytes <= allocated + 4096);
    plan.destroy();
    for (const t of [a, b, c]) t.destroy();
  },
});

Deno.test({
  name: "matmul allocates C of the right shape",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const ad = randomArray(2 * 9 * 5, 500);
    const bd = randomArray(4 * 5, 501);
    const a = Tensor.from(gpu, ad, [2, 9, 5]);
    const b = Tensor.from(gpu, bd, [4, 5]);
    const c = await matmul(gpu, a, b, { transB: true, config: defaultGemmConfig(gpu) });
    deepEqual(c.shape, [2, 9, 4]);
    const want = referenceGemm({
      a: ad,
      b: bd,
      m: 9,
      n: 4,
      k: 5,
      batch: 2,
      strideB: 0,
      transB: true,
    });
    ok(maxRelativeError(await c.read(), want) <= tolerance(5));
    for (const t of [a, b, c]) t.destroy();
  },
});

Deno.test({
  name: "gemm rejects bad shapes, dtypes and aliasing before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const config = defaultGemmConfig(gpu);
    const t = (shape: number[], dtype: "f32" | "i32" = "f32") =>
      Tensor.zeros(gpu, shape, dtype, "t");
    const a = t([7, 13]);
    const b = t([5, 11]);
    const good = t([13, 11]);
    const c = t([7, 11]);
    const before = gpu.dispatchCount;
    const bad = (opts: Partial<GemmOptions>, pattern: RegExp) =>
      rejects(prepareGemm(gpu, { a, b: good, c, config, ...opts } as GemmOptions), pattern);
    await bad({ b }, /^RangeError: Cannot run gemm: A is 7x13 but B is 5x11 \(K 13 != 5\)$/);
    await bad({ b, transA: true }, /A\^T is 13x7 but B is 5x11 \(K 7 != 5\)/);
    await bad({ a: t([7, 13], "i32") }, /^TypeError: Cannot run gemm: A must be f32 but .* is i32/);
    await bad({ bias: t([7]) }, /Cannot run gemm: bias has 7 elements but N is 11/);
    await bad({ bias: t([11], "i32") }, /bias must be f32/);
    await bad({ c: t([7, 12]) }, /Cannot run gemm: n is 11 but C is 7x12/);
    await bad({ c: t([8, 11]) }, /Cannot run gemm: m is 7 but C is 8x11/);
    await bad({ m: 6 }, /Cannot run gemm: m is 6 but A is 7x13/);
    await bad({ a: t([2, 7, 13]), c: t([3, 7, 11]) }, /has 3 batches but another operand has 2/);
    await bad({ c: t([2, 7, 11]), batch: 3 }, /C \(2,7,11\) has 2 batches but batch is 3/);
    await bad({ alpha: NaN }, /alpha must be a finite number/);
    await bad({ c: a.reshape([7, 13]), b: t([13, 13]) }, /C and A share a buffer/);
    await bad({ a: t([91]), c: t([77]) }, /m is unknown: give 2-D or 3-D tensors or m, n and k/);
    await bad({ a: t([90]), m: 7, k: 13 }, /A \(90\) has 90 elements but needs 91 \(7x13\)/);
    await bad({ a: t([3, 7, 13]), c: t([7, 11]) }, /C \(7,11\) has 77 elements but needs 231/);
    await bad({ config: { kernel: "rb", bm: 12, bn: 16, wg: 64 } }, /bm is 12, not 4, 8, 16/);
    await rejects(matmul(gpu, a, b), /A is 7x13 but B is 5x11 \(K 13 != 5\)/);
    await rejects(matmul(gpu, t([91]), b), /matmul needs 2-D or 3-D tensors but A is \(91\)/);
    throws(() => resolveGemm({ a, b: good, c, k: 0 }), /k is 0 but A is 7x13/);
    equal(gpu.dispatchCount, before);
  },
});

Deno.test({
  name: "tuning keeps the fastest working candidate and persists it per adapter",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const key = `test.${crypto.randomUUID()}`;
    const seen: number[] = [];
    const spec = {
      key,
      fallback: 0,
      candidates: [1, 2, 3, 4],
      measure(c: number) {
        seen.push(c);
        if (c === 4) return Promise.reject(new Error("wrong result"));
        return Promise.resolve(c === 2 ? 2 : 5);
      },
    };
    try {
      const first = await tuned(gpu, spec);
      equal(first.config, 2);
      equal(first.source, "tuned");
      equal(first.timings?.find((t) => t.config === 4)?.error, "wrong result");
      // Three round-robin rounds, each starting one candidate later; the failed candidate is
      // not timed again. Then cached.
      equal((await tuned(gpu, spec)).config, 2);
      deepEqual(seen, [1, 2, 3, 4, 2, 3, 1, 3, 1, 2]);
      // A new process (empty gpu.cache) finds the stored result.
      gpu.cache.delete(tunedKey(key));
      const stored = await tuned(gpu, { ...spec, measure: () => Promise.reject(new Error("no")) });
      deepEqual([stored.config, stored.source], [2, "stored"]);
      presetTuning(gpu, key, 3);
      equal((await tuned(gpu, spec)).config, 3);
    } finally {
      forgetTuning(gpu, key);
    }
    // Every candidate failing gives the fallback.
    const none = await tuned(gpu, {
      key: `${key}.none`,
      fallback: 9,
      candidates: [1],
      measure: () => Promise.reject(new Error("broken")),
    });
    deepEqual([none.config, none.source], [9, "default"]);
    forgetTuning(gpu, `${key}.none`);
    // Tuning off (LTKIT_TUNE=0): the fallback, without timing anything.
    const saved = gpu.tune;
    gpu.tune = "off";
    try {
      const off = await tuned(gpu, { ...spec, key: `${key}.off`, fallback: 7 });
      deepEqual([off.config, off.source], [7, "default"]);
      equal(seen.length, 10);
    } finally {
      gpu.tune = saved;
    }
  },
});

Deno.test({
  name: "gemm tuning checks and times the real candidates, then gemm uses the winner",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const saved = gpu.tune;
    gpu.tune = "force";
    try {
      gpu.cache.delete(tunedKey(GEMM_TUNE_KEY));
      const result = await gemmConfig(gpu);
      equal(result.source, "tuned");
      const timings = result.timings ?? [];
      equal(timings.length, gemmCandidates(gpu).length);
      for (const t of timings) {
        console.log(`  ${formatGemmConfig(t.config)}: ${t.ms?.toFixed(2)} ms ${t.error ?? ""}`);
        ok(t.ms !== null && t.ms > 0, `${formatGemmConfig(t.config)} failed: ${t.error}`);
      }
      ok(gemmCandidates(gpu).includes(result.config));
      // Without a config, gemm runs the tuned one.
      const a = Tensor.from(gpu, randomArray(15, 600), [5, 3]);
      const b = Tensor.from(gpu, randomArray(6, 601), [3, 2]);
      const c = await matmul(gpu, a, b);
      const want = referenceGemm({ a: await a.read(), b: await b.read(), m: 5, n: 2, k: 3 });
      ok(maxRelativeError(await c.read(), want) <= tolerance(3));
      for (const t of [a, b, c]) t.destroy();
    } finally {
      gpu.tune = saved;
    }
  },
});

Deno.test({
  name: "gemm folds its grids past a small maxComputeWorkgroupsPerDimension",
  ignore: noGpu,
  async fn() {
    // 8 workgroups per dimension: the padding and epilogue kernels take 2 to 5 rows at these odd
    // shapes for every candidate (the tiled 32x32 main kernel 2 as well).
    await withLowerLimits({ maxComputeWorkgroupsPerDimension: 8 }, async (gpu) => {
      const configs = [...FALLBACK_GEMM_CANDIDATES, ...GPU_GEMM_CANDIDATES];
      let seed = 300;
      for (const config of configs) {
        for (
          const p of [
            { m: 127, n: 65, k: 33 },
            { m: 37, n: 29, k: 133, transA: true },
          ]
        ) {
          const a = Tensor.empty(gpu, p.transA ? [p.k, p.m] : [p.m, p.k]);
          const b = Tensor.empty(gpu, [p.k, p.n]);
          const c = Tensor.empty(gpu, [p.m, p.n]);
          const plan = await prepareGemm(gpu, { a, b, c, transA: p.transA, config });
          const grids = gpu.capture(() => plan.record()).map((d) => d.workgroups);
          ok(grids.some(([, gy]) => gy > 1), `${formatGemmConfig(config)}: grids ${grids}`);
          plan.destroy();
          for (const t of [a, b, c]) t.destroy();
          await expectClose(gpu, { ...p, config }, seed++);
        }
      }
    });
  },
});

Deno.test({
  name: "a tuned config whose scratch would not fit one storage buffer gives way to one that fits",
  ignore: noGpu,
  async fn() {
    // 4 KiB per buffer: the 64x64 tile's workspace (16 KiB) cannot be allocated, the smaller
    // blocks' can. An explicit config is refused; a tuned one is replaced.
    await withLowerLimits(bufferLimits(4096), async (gpu) => {
      const big: GemmConfig = { kernel: "tiled", tm: 64, tn: 64, tk: 16, tr: 8, tc: 8 };
      ok(gemmCandidates(gpu).some((c) => formatGemmConfig(c) === formatGemmConfig(big)));
      const p = { m: 5, n: 6, k: 7 };
      await rejects(check(gpu, { ...p, config: big }, 900), /exceeds this device's limit/);
      presetTuning(gpu, GEMM_TUNE_KEY, big);
      const { err, info } = await check(gpu, { ...p, tuned: true }, 901);
      ok(formatGemmConfig(info.config) !== formatGemmConfig(big), formatGemmConfig(info.config));
      ok(err <= tolerance(p.k), `max error ${err}`);
    });
  },
});
