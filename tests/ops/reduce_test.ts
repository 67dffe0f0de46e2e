import { ok, rejects, strictEqual as equal } from "node:assert/strict";
import type { Gpu } from "../../lib/gpu/device.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import {
  argmax,
  channelSum,
  colSum,
  FALLBACK_ROW_RULES,
  formatRowRule,
  GPU_ROW_RULES,
  prepareColSum,
  reduceRowRule,
  rowStrategy,
  rowSum,
  SUBGROUP_ROW_RULES,
  sumAll,
} from "../../lib/ops/reduce.ts";
import { softmax, softmaxRowRule } from "../../lib/ops/softmax.ts";
import {
  argmaxRef,
  channelSumRef,
  colSumRef,
  rowSumRef,
  softmaxRef,
  sumRef,
} from "../../lib/ops/_reference_softmax.ts";
import { assertClose, noGpu, randomArray, testGpu, withLowerLimits } from "../_gpu.ts";

// Float32 sums of n values in [-1, 1]: the error grows with the sum of magnitudes, so tolerances
// are stated relative to sum |x| of what was summed.
const SUM_TOL = 1e-6;

/** Max |actual - expected| / max(1, sum of |x| that went into it). */
function sumError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  magnitudes: ArrayLike<number>,
): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(1, magnitudes[i]);
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}

function assertSumClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  magnitudes: ArrayLike<number>,
  label: string,
): void {
  const err = sumError(actual, expected, magnitudes);
  console.log(`  ${label}: max error ${err.toExponential(2)} (relative to sum |x|)`);
  ok(err <= SUM_TOL, `${label}: error ${err} exceeds ${SUM_TOL}`);
}

const abs = (xs: Float32Array) => xs.map(Math.abs);

// 1xN, Nx1, odd, long rows, many short rows (6272 = 128 * 7 * 7 rows of 16).
const SHAPES: [number, number][] = [
  [1, 1],
  [1, 5000],
  [5000, 1],
  [7, 13],
  [33, 1000],
  [3, 3001],
  [6272, 16],
];

Deno.test({
  name: "row sums and argmax match the CPU reference, every launch shape",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const [rows, cols] of SHAPES) {
      const xs = randomArray(rows * cols, rows * 13 + cols);
      // Ties: argmax must pick the first of equal maxima, as the reference does.
      for (let r = 0; r < rows; r += 3) xs.fill(2, r * cols + Math.floor(cols / 3), (r + 1) * cols);
      const x = Tensor.from(gpu, xs, [rows, cols]);
      const out = Tensor.empty(gpu, [rows]);
      const index = Tensor.empty(gpu, [rows], "i32");
      const mags = rowSumRef(abs(xs), rows, cols);
      for (
        const strategy of [undefined, { threadsPerRow: 1 }, { threadsPerRow: 8 }, {
          workgroupSize: 256,
          threadsPerRow: 256,
        }]
      ) {
        const tag = `(${rows},${cols}) tpr=${strategy?.threadsPerRow ?? "auto"}`;
        await rowSum(gpu, x, out, { strategy, alpha: -0.5 });
        assertSumClose(await out.read(), rowSumRef(xs, rows, cols, -0.5), mags, `row_sum ${tag}`);
        await argmax(gpu, x, index, { strategy });
        assertClose(await index.read(), argmaxRef(xs, rows, cols), 0, `argmax ${tag}`);
      }
      // Accumulate adds alpha * sum to what is there.
      const base = randomArray(rows, 99);
      out.write(base);
      await rowSum(gpu, x, out, { alpha: 2, accumulate: true });
      const want = rowSumRef(xs, rows, cols, 2).map((v, i) => v + base[i]);
      assertSumClose(
        await out.read(),
        want,
        mags.map((m) => 2 * m + 1),
        `row_sum += (${rows},${cols})`,
      );
      x.destroy();
      out.destroy();
      index.destroy();
    }
  },
});

Deno.test({
  name: "column sums (bias gradients) match the CPU reference, overwrite and accumulate",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const [rows, cols] of [...SHAPES, [128, 10] as [number, number], [2, 70]]) {
      const xs = randomArray(rows * cols, rows + cols * 7);
      const x = Tensor.from(gpu, xs, [rows, cols]);
      const mags = colSumRef(abs(xs), rows, cols);
      const out = Tensor.from(gpu, new Float32Array(cols).fill(NaN));
      // Overwrite must not read the old contents (NaN would leak through 0 * NaN).
      await colSum(gpu, x, out, { alpha: 1 / 3 });
      assertSumClose(
        await out.read(),
        colSumRef(xs, rows, cols, 1 / 3),
        mags,
        `col_sum (${rows},${cols})`,
      );
      const base = randomArray(cols, 5);
      out.write(base);
      await colSum(gpu, x, out, { accumulate: true });
      const want = colSumRef(xs, rows, cols).map((v, i) => v + base[i]);
      assertSumClose(
        await out.read(),
        want,
        mags.map((m) => m + 1),
        `col_sum += (${rows},${cols})`,
      );
      x.destroy();
      out.destroy();
    }
  },
});

/** Per-channel sums (scaled, accumulated) of `shapes` against the CPU reference. */
async function checkChannelSums(gpu: Gpu, shapes: readonly number[][]) {
  for (const shape of shapes) {
    const [n, c] = shape;
    const s = shape.slice(2).reduce((a, b) => a * b, 1);
    const xs = randomArray(n * c * s, n + c + s);
    const x = Tensor.from(gpu, xs, shape);
    const out = Tensor.from(gpu, new Float32Array(c).fill(1));
    await channelSum(gpu, x, out, { alpha: 0.5, accumulate: true });
    const want = channelSumRef(xs, n, c, s, 0.5).map((v) => v + 1);
    const mags = channelSumRef(abs(xs), n, c, s, 0.5).map((m) => m + 1);
    assertSumClose(await out.read(), want, mags, `channel_sum (${shape})`);
    x.destroy();
    out.destroy();
  }
}

Deno.test({
  name: "per-channel sums fold past a small maxComputeWorkgroupsPerDimension",
  ignore: noGpu,
  async fn() {
    // 4 workgroups per dimension: 7 and 13 channels (one workgroup each) need a second row.
    await withLowerLimits({ maxComputeWorkgroupsPerDimension: 4 }, async (gpu) => {
      await checkChannelSums(gpu, [[3, 13, 5, 7], [5, 7, 3]]);
    });
  },
});

Deno.test({
  name: "per-channel sums over (N, C, H, W) match the CPU reference",
  ignore: noGpu,
  async fn() {
    await checkChannelSums((await testGpu())!, [
      [1, 1, 1, 1],
      [3, 5, 7, 7],
      [128, 16, 7, 7],
      [2, 3, 300],
      [300, 2],
    ]);
  },
});

Deno.test({
  name: "the sum of a whole tensor matches the CPU reference, one pass and two",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    // 16384 is the largest single-pass size; beyond it partial sums come first.
    for (const n of [1, 999, 16384, 16385, 1_000_003]) {
      const xs = randomArray(n, n);
      const x = Tensor.from(gpu, xs);
      const out = Tensor.from(gpu, [NaN]);
      await sumAll(gpu, x, out, { alpha: 3 });
      const mag = 3 * sumRef(abs(xs));
      assertSumClose(await out.read(), [sumRef(xs, 3)], [mag], `sum n=${n}`);
      await sumAll(gpu, x, out, { accumulate: true });
      assertSumClose(await out.read(), [sumRef(xs, 4)], [mag], `sum += n=${n}`);
      x.destroy();
      out.destroy();
    }
  },
});

Deno.test({
  name: "row kernels fold more workgroups than one grid dimension holds into a 2-D grid",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const rows = gpu.limits.maxComputeWorkgroupsPerDimension + 3;
    const xs = randomArray(rows * 2, 8);
    const x = Tensor.from(gpu, xs, [rows, 2]);
    const out = Tensor.empty(gpu, [rows]);
    // One row per workgroup: rows workgroups, more than fit along x.
    await rowSum(gpu, x, out, { strategy: { workgroupSize: 1, threadsPerRow: 1 } });
    assertClose(await out.read(), rowSumRef(xs, rows, 2), 1e-6, "row_sum on a 2-D grid");
    x.destroy();
    out.destroy();
  },
});

Deno.test({
  name: "rowStrategy picks a valid launch shape for every size",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const rows of [1, 7, 128, 4096]) {
      for (const cols of [1, 10, 1000, 100_000]) {
        for (const rule of [...FALLBACK_ROW_RULES, ...GPU_ROW_RULES]) {
          const { workgroupSize: wg, threadsPerRow: tpr } = rowStrategy(gpu, rows, cols, rule);
          ok(wg >= 1 && wg <= 256 && (wg & (wg - 1)) === 0, `workgroup ${wg}`);
          ok(tpr >= 1 && tpr <= wg && (tpr & (tpr - 1)) === 0, `threads per row ${tpr}`);
        }
      }
    }
    if (gpu.isFallback) equal(rowStrategy(gpu, 4096, 1000).threadsPerRow, 1);
  },
});

Deno.test({
  name: "every row rule's launch shapes give correct row sums, argmax and softmax on odd shapes",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    // Subgroup rules where the device has subgroups (else forcing them is refused).
    const subgroups = gpu.hasSubgroups ? SUBGROUP_ROW_RULES : [];
    for (const rule of [...FALLBACK_ROW_RULES, ...GPU_ROW_RULES, ...subgroups]) {
      for (const [rows, cols] of [[3, 1000], [70, 37], [5, 4099]]) {
        const strategy = rowStrategy(gpu, rows, cols, rule);
        const data = randomArray(rows * cols, rows + cols, -4, 4);
        const x = Tensor.from(gpu, data, [rows, cols]);
        const sums = Tensor.empty(gpu, [rows]);
        const index = Tensor.empty(gpu, [rows], "i32");
        const p = Tensor.empty(gpu, [rows, cols]);
        await rowSum(gpu, x, sums, { strategy });
        await argmax(gpu, x, index, { strategy });
        await softmax(gpu, x, p, { strategy });
        const label = `${formatRowRule(rule)} ${rows}x${cols}`;
        assertClose(await sums.read(), rowSumRef(data, rows, cols), 1e-4, `row sums ${label}`);
        equal((await index.read()).join(), argmaxRef(data, rows, cols).join(), `argmax ${label}`);
        assertClose(await p.read(), softmaxRef(data, rows, cols), 1e-6, `softmax ${label}`);
        for (const t of [x, sums, index, p]) t.destroy();
      }
    }
  },
});

Deno.test({
  name: "row rules are tuned per family and adapter: each candidate checked and timed",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (
      const [family, rule] of [["reduce", reduceRowRule], ["softmax", softmaxRowRule]] as const
    ) {
      const result = await rule(gpu, { force: true });
      equal(result.source, "tuned");
      for (const t of result.timings ?? []) {
        console.log(`  ${family} ${formatRowRule(t.config)}: ${t.ms?.toFixed(2)} ms`);
        ok(t.ms !== null && t.ms > 0, `${formatRowRule(t.config)} failed: ${t.error}`);
      }
    }
  },
});

Deno.test({
  name: "reductions reject bad shapes and dtypes before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const x = Tensor.zeros(gpu, [4, 6]);
    const xi = Tensor.zeros(gpu, [4, 6], "i32");
    const four = Tensor.zeros(gpu, [4]);
    const six = Tensor.zeros(gpu, [6]);
    const fourI = Tensor.zeros(gpu, [4], "i32");
    const one = Tensor.zeros(gpu, [1]);
    const emptyRows = Tensor.zeros(gpu, [4, 0]);
    const cube = Tensor.zeros(gpu, [2, 3, 4]);
    const before = gpu.dispatchCount;
    await rejects(
      rowSum(gpu, x, six),
      /Cannot run row_sum: out \(6\) has 6 elements but x \(4,6\) needs 4/,
    );
    await rejects(rowSum(gpu, xi, four), /x must be f32 but tensor \(4,6\) is i32/);
    await rejects(rowSum(gpu, x, four, { alpha: Infinity }), /alpha must be finite/);
    await rejects(
      colSum(gpu, x, four),
      /Cannot run col_sum: out \(4\) has 4 elements but x \(4,6\) needs 6/,
    );
    await rejects(prepareColSum(gpu, x, fourI), /out must be f32 but tensor \(4\) is i32/);
    await rejects(
      argmax(gpu, x, four),
      /Cannot run argmax: out must be i32 but tensor \(4\) is f32/,
    );
    await rejects(argmax(gpu, emptyRows, fourI), /has empty rows/);
    await rejects(channelSum(gpu, four, one), /x \(4\) must be \(N, C, \.\.\.spatial\)/);
    await rejects(channelSum(gpu, cube, four), /out \(4\) has 4 elements but x \(2,3,4\) needs 3/);
    await rejects(
      sumAll(gpu, x, four),
      /Cannot run sum: out \(4\) has 4 elements but a sum needs 1/,
    );
    await rejects(sumAll(gpu, one, one), /"out" and "x" are the same buffer and one is written/);
    await rejects(rowSum(gpu, x.reshape([24, 1]), x.reshape([24])), /same buffer/);
    equal(gpu.dispatchCount, before, "nothing was dispatched");
    for (const t of [x, xi, four, six, fourI, one, emptyRows, cube]) t.destroy();
  },
});
