import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  ok,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import {
  classProbabilities,
  countPerClass,
  createSampler,
  Rng,
  SAMPLER_KINDS,
  type SamplerKind,
} from "../../lib/data/mod.ts";

/** Labels with the recipe's long-tailed class sizes, interleaved. */
const COUNTS = [5980, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60];
const LABELS = (() => {
  const out: number[] = [];
  COUNTS.forEach((n, c) => {
    for (let i = 0; i < n; i++) out.push(c);
  });
  return new Rng(3).shuffle(Int32Array.from(out));
})();
const N = LABELS.length;

/** Chi-square of observed counts against probabilities p with `draws` draws (p_j > 0 only). */
function chiSquare(observed: ArrayLike<number>, p: ArrayLike<number>, draws: number): number {
  let x = 0;
  for (let j = 0; j < p.length; j++) {
    if (p[j] > 0) x += (observed[j] - draws * p[j]) ** 2 / (draws * p[j]);
  }
  return x;
}
// 99.9% quantile of chi-square with 9 degrees of freedom.
const CHI2_9_999 = 27.88;

function approx(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12) {
  equal(actual.length, expected.length);
  for (let j = 0; j < expected.length; j++) {
    ok(Math.abs(actual[j] - expected[j]) <= tol, `p[${j}] = ${actual[j]} != ${expected[j]}`);
  }
}

Deno.test("class probabilities follow the recipe for every sampler", () => {
  const total = COUNTS.reduce((a, b) => a + b);
  const sqrtTotal = COUNTS.reduce((a, b) => a + Math.sqrt(b), 0);
  approx(classProbabilities("instance", COUNTS), COUNTS.map((n) => n / total));
  approx(classProbabilities("class", COUNTS), COUNTS.map(() => 0.1));
  approx(classProbabilities("sqrt", COUNTS), COUNTS.map((n) => Math.sqrt(n) / sqrtTotal));
  for (const [t, T] of [[0, 30], [15, 30], [29, 30]]) {
    const a = t / T;
    approx(
      classProbabilities("progressive", COUNTS, t, T),
      COUNTS.map((n) => (1 - a) * (n / total) + a * 0.1),
    );
  }
  approx(classProbabilities("progressive", COUNTS, 0, 30), classProbabilities("instance", COUNTS));
  // empty classes are never drawn; class-balanced spreads over the others
  approx(classProbabilities("class", [5, 0, 5]), [0.5, 0, 0.5]);
  throws(() => classProbabilities("class", [0, 0]), /every class is empty/);
  throws(() => classProbabilities("progressive", COUNTS, 30, 30), /epochIndex 30 is outside 0..29/);
  throws(() => classProbabilities("bogus" as SamplerKind, COUNTS), /unknown sampler kind "bogus"/);
});

Deno.test("instance-balanced: every epoch is a fresh permutation of the training set", () => {
  const sampler = createSampler("instance", LABELS, new Rng(1));
  const a = sampler.epoch(0, 30);
  const b = sampler.epoch(1, 30);
  equal(a.length, N);
  deepEqual([...a].sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i));
  notDeepEqual(a, b);
  deepEqual([...countPerClass(a.map((i) => LABELS[i]), 10)], COUNTS);
});

Deno.test("with-replacement samplers: epoch length and empirical class frequencies (chi-square)", () => {
  for (const kind of ["class", "sqrt", "progressive"] as const) {
    for (const [t, T] of kind === "progressive" ? [[0, 4], [2, 4], [3, 4]] : [[0, 1]]) {
      const sampler = createSampler(kind, LABELS, new Rng(42));
      const counts = new Float64Array(10);
      const epochs = 8;
      const out = new Int32Array(N);
      for (let e = 0; e < epochs; e++) {
        const order = sampler.epoch(t, T, out);
        equal(order, out);
        equal(order.length, N);
        for (let k = 0; k < N; k++) counts[LABELS[order[k]]]++;
      }
      const p = sampler.classProbabilities(t, T);
      const x = chiSquare(counts, p, epochs * N);
      ok(x < CHI2_9_999, `${kind} t=${t}/${T}: chi-square ${x.toFixed(2)} >= ${CHI2_9_999}`);
    }
  }
});

Deno.test("with replacement: images within a class are drawn uniformly", () => {
  const labels = Int32Array.from([0, 1, 0, 1, 0, 1, 1, 1]); // class 0 rows 0,2,4
  const sampler = createSampler("class", labels, new Rng(8));
  const hits = new Float64Array(labels.length);
  for (let e = 0; e < 6000; e++) for (const i of sampler.epoch()) hits[i]++;
  const total = 6000 * labels.length;
  // p(row) = 1/2 * 1/n_class
  const p = Array.from(labels, (y) => 0.5 / (y === 0 ? 3 : 5));
  const x = chiSquare(hits, p, total);
  ok(x < 24.3, `chi-square ${x}`); // 99.9% quantile for 7 dof
});

Deno.test("the same seed gives the same epochs; the Rng state resumes a sampler exactly", () => {
  for (const kind of SAMPLER_KINDS) {
    const a = createSampler(kind, LABELS, new Rng(5));
    const b = createSampler(kind, LABELS, new Rng(5));
    deepEqual(a.epoch(0, 3), b.epoch(0, 3));
    const rng = new Rng(6);
    const c = createSampler(kind, LABELS, rng);
    c.epoch(0, 3);
    const saved = rng.state;
    const next = c.epoch(1, 3);
    const resumed = createSampler(kind, LABELS, Rng.fromState(saved));
    deepEqual(resumed.epoch(1, 3), next);
    notDeepEqual(createSampler(kind, LABELS, new Rng(7)).epoch(0, 3), a.epoch(0, 3));
  }
});

Deno.test("pinned: the first draws of each sampler are the same on every machine", () => {
  const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 2, 0, 1, 0]);
  const first = (kind: SamplerKind) => [...createSampler(kind, labels, new Rng(0)).epoch(1, 2)];
  deepEqual(first("instance"), PINNED.instance);
  deepEqual(first("class"), PINNED.class);
  deepEqual(first("sqrt"), PINNED.sqrt);
  deepEqual(first("progressive"), PINNED.progressive);
});

const PINNED: Record<SamplerKind, number[]> = {
  instance: [8, 6, 1, 4, 9, 5, 3, 2, 0, 7],
  class: [6, 5, 8, 2, 9, 6, 9, 6, 8, 1],
  sqrt: [6, 5, 8, 2, 9, 4, 9, 8, 9, 1],
  progressive: [6, 5, 8, 2, 9, 4, 9, 8, 9, 1],
};

Deno.test("bad sampler inputs are rejected", () => {
  throws(() => createSampler("bogus" as SamplerKind, LABELS, new Rng(0)), /unknown kind "bogus"/);
  throws(() => createSampler("class", new Int32Array(0), new Rng(0)), /training set is empty/);
  throws(
    () => createSampler("class", Int32Array.from([0, 3]), new Rng(0), 2),
    /label 3 at index 1 is outside 0..1/,
  );
  const s = createSampler("class", LABELS, new Rng(0));
  throws(() => s.epoch(0, 1, new Int32Array(3)), /out has length 3 but an epoch has/);
  throws(() => s.epoch(-1, 1), /epochIndex -1/);
  throws(() => s.epoch(0, 0), /totalEpochs is 0/);
});
