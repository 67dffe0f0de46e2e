import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  ok,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { Rng } from "../../lib/data/rng.ts";

/** Independent xoshiro128** on BigInt, straight from the reference C code. */
function referenceXoshiro(state: number[], count: number): number[] {
  const M = 0xffffffffn;
  const s = state.map(BigInt);
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(Number((rotl((s[1] * 5n) & M, 7n) * 9n) & M));
    const t = (s[1] << 9n) & M;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11n);
  }
  return out;
}

/** Chi-square statistic of observed counts against expected counts. */
function chiSquare(observed: ArrayLike<number>, expected: ArrayLike<number>): number {
  let x = 0;
  for (let i = 0; i < observed.length; i++) x += (observed[i] - expected[i]) ** 2 / expected[i];
  return x;
}

Deno.test("xoshiro128** matches the reference algorithm and its published first outputs", () => {
  const rng = Rng.fromState([1, 2, 3, 4]);
  const ours = Array.from({ length: 1000 }, () => rng.nextU32());
  deepEqual(ours, referenceXoshiro([1, 2, 3, 4], 1000));
  deepEqual(ours.slice(0, 6), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  const seeded = new Rng(123456789, 3);
  const state = [...seeded.state];
  deepEqual(Array.from({ length: 100 }, () => seeded.nextU32()), referenceXoshiro(state, 100));
});

Deno.test("seeding is pinned: the same seed gives the same numbers on every machine", () => {
  const rng = new Rng(0);
  deepEqual(rng.state, [1110734800, 4248677226, 2010915023, 1157302801]);
  deepEqual(
    Array.from({ length: 5 }, () => rng.nextU32()),
    [3952137537, 3467660454, 23820426, 2857329884, 336025283],
  );
  const other = new Rng(42, 1);
  deepEqual(other.state, [4128891676, 2078878828, 950125667, 1634045007]);
  equal(other.nextFloat(), 0.993766774408093);
  equal(other.nextInt(1000), 676);
});

Deno.test("seeds and streams give different sequences, including seeds above 2^32", () => {
  const first = (r: Rng) => [r.nextU32(), r.nextU32()];
  notDeepEqual(first(new Rng(1)), first(new Rng(2)));
  notDeepEqual(first(new Rng(1, 0)), first(new Rng(1, 1)));
  notDeepEqual(first(new Rng(5)), first(new Rng(5 + 2 ** 32)));
  deepEqual(first(new Rng(7, 9)), first(new Rng(7, 9)));
});

Deno.test("state round-trips through JSON bit-exactly; clone is independent", () => {
  const rng = new Rng(99);
  for (let i = 0; i < 17; i++) rng.nextU32();
  const saved = JSON.parse(JSON.stringify(rng.state));
  const a = [rng.nextU32(), rng.nextFloat(), rng.nextInt(10), rng.normal()];
  const restored = Rng.fromState(saved);
  deepEqual([restored.nextU32(), restored.nextFloat(), restored.nextInt(10), restored.normal()], a);
  const c = restored.clone();
  c.nextU32();
  notDeepEqual(c.state, restored.state);
  rng.state = saved;
  deepEqual(rng.state, saved);
});

Deno.test("bad seeds and states are rejected with clear errors", () => {
  throws(() => new Rng(-1), /Cannot seed Rng: seed -1/);
  throws(() => new Rng(1.5), /Cannot seed Rng: seed 1.5/);
  throws(() => new Rng(0, -2), /stream -2/);
  throws(() => Rng.fromState([1, 2, 3]), /Cannot set Rng state: expected four integers/);
  throws(() => Rng.fromState([1, 2, 3, 2 ** 32]), /expected four integers/);
  throws(() => Rng.fromState([0, 0, 0, 0]), /all four words are 0/);
  throws(() => new Rng(0).nextInt(0), /Cannot draw nextInt\(0\)/);
  throws(() => new Rng(0).nextInt(2.5), /nextInt\(2.5\)/);
});

Deno.test("nextFloat is in [0,1) and nextInt is uniform (chi-square)", () => {
  const rng = new Rng(2024);
  let min = 1, max = 0;
  for (let i = 0; i < 100000; i++) {
    const x = rng.nextFloat();
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  ok(min >= 0 && max < 1 && min < 1e-3 && max > 1 - 1e-3);
  for (const n of [2, 7, 10, 1000]) {
    const counts = new Float64Array(n);
    const draws = 200 * n;
    for (let i = 0; i < draws; i++) counts[rng.nextInt(n)]++;
    const x = chiSquare(counts, new Float64Array(n).fill(draws / n));
    // 99.9% quantile of chi-square with n-1 degrees of freedom, roughly (n-1) + 4.3*sqrt(2(n-1)).
    const limit = n - 1 + 4.3 * Math.sqrt(2 * (n - 1)) + 6;
    ok(x < limit, `nextInt(${n}) chi-square ${x.toFixed(1)} >= ${limit.toFixed(1)}`);
  }
  const big = rng.nextInt(2 ** 32);
  ok(Number.isInteger(big) && big >= 0 && big < 2 ** 32);
});

Deno.test("nextInt rejects the biased top of the 32-bit range", () => {
  // n = 3 * 2^30: the limit is 3 * 2^30, so a draw of 2^32 - 1 must be rejected, not folded.
  const n = 3 * 2 ** 30;
  const rng = new Rng(5);
  for (let i = 0; i < 10000; i++) ok(rng.nextInt(n) < n);
  // Find a state whose next draw is above the limit and the one after below it: nextInt must
  // skip the first and return the second modulo n.
  const probe = new Rng(11);
  for (let i = 0; i < 1000; i++) {
    const peek = probe.clone();
    const first = peek.nextU32();
    const second = peek.nextU32();
    if (first >= n && second < n) {
      equal(probe.nextInt(n), second % n);
      return;
    }
    probe.nextU32();
  }
  throw new Error("no draw above the limit in 1000 tries");
});

Deno.test("normal() has mean 0 and std 1; shuffle gives uniform permutations", () => {
  const rng = new Rng(31);
  let sum = 0, sq = 0;
  const n = 200000;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    sum += z;
    sq += z * z;
  }
  const mean = sum / n, std = Math.sqrt(sq / n - mean * mean);
  ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  ok(Math.abs(std - 1) < 0.01, `std ${std}`);
  equal(Math.round(new Rng(0).normal(10, 0)), 10);
  const seen = new Map<string, number>();
  for (let i = 0; i < 60000; i++) {
    const key = rng.shuffle([0, 1, 2]).join("");
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  equal(seen.size, 6);
  const x = chiSquare([...seen.values()], new Array(6).fill(10000));
  ok(x < 20.5, `shuffle chi-square ${x}`); // 99.9% quantile for 5 dof
  const p = rng.permutation(1000);
  deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
});
