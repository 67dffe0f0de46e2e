/**
 * A seeded pseudo-random number generator: xoshiro128** (Blackman and Vigna, 2018), seeded by
 * SplitMix32. Every random choice in ltkit (splits, samplers, augmentation, initialisation) comes
 * from it, never from `Math.random`, so a run is the same for a seed on every machine.
 *
 * The whole state is four unsigned 32-bit integers ({@link Rng.state}); save them in a checkpoint
 * and {@link Rng.fromState} continues the exact same sequence.
 *
 * @module
 */

/**
 * The serialisable state of an {@link Rng}: the four 32-bit words of xoshiro128**.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng, type RngState } from "./rng.ts";
 * const saved: RngState = new Rng(1).state;
 * assert.ok(saved.length === 4 && saved.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32));
 * ```
 */
export type RngState = readonly [number, number, number, number];

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/**
 * SplitMix32: a 32-bit counter (golden-ratio increment 0x9e3779b9) followed by an avalanching
 * finaliser (xor-shift 16, multiply 0x21f0aaad, xor-shift 15, multiply 0x735a2d97, xor-shift 15).
 * Used only to turn a seed into a well-mixed xoshiro state.
 */
function splitMix32(counter: Uint32Array): number {
  counter[0] = (counter[0] + 0x9e3779b9) >>> 0;
  let z = counter[0];
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

function checkSeed(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot seed Rng: ${what} ${value} is not an integer in 0..2^53-1; pass a non-negative integer`,
    );
  }
}

/**
 * xoshiro128** generator with helpers for the draws ltkit needs.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(42);
 * const saved = rng.state;
 * const a = [rng.nextU32(), rng.nextFloat(), rng.nextInt(10)];
 * const again = Rng.fromState(saved);
 * const b = [again.nextU32(), again.nextFloat(), again.nextInt(10)];
 * deepEqual(b, a); // the state replays the same numbers
 * ```
 */
export class Rng {
  readonly #s = new Uint32Array(4);

  /**
   * Seed a generator. Different `stream` numbers give independent sequences for one seed (for
   * example one for the sampler and one for augmentation).
   *
   * @param seed A non-negative safe integer.
   * @param stream A non-negative safe integer selecting an independent stream (default 0).
   */
  constructor(seed: number, stream = 0) {
    checkSeed(seed, "seed");
    checkSeed(stream, "stream");
    const counter = new Uint32Array(1);
    // NOTE: mix both halves of seed and stream so that seeds above 2^32 are not truncated.
    const words = [
      seed >>> 0,
      Math.floor(seed / TWO_POW_32) >>> 0,
      stream >>> 0,
      Math.floor(stream / TWO_POW_32) >>> 0,
    ];
    for (const w of words) {
      counter[0] = (splitMix32(counter) ^ w) >>> 0;
    }
    for (let i = 0; i < 4; i++) this.#s[i] = splitMix32(counter);
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
  }

  /**
   * Make a generator from a saved state.
   *
   * @param state Four unsigned 32-bit integers, not all zero, as returned by {@link Rng.state}.
   * @returns A generator that continues the saved sequence.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Rng } from "./rng.ts";
   * const rng = Rng.fromState([1, 2, 3, 4]);
   * assert.equal(rng.nextU32(), 11520);
   * ```
   */
  static fromState(state: readonly number[]): Rng {
    const rng = new Rng(0);
    rng.state = state;
    return rng;
  }

  /**
   * The current state as four plain numbers (a copy), for checkpoints.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Rng } from "./rng.ts";
   * const rng = new Rng(7);
   * assert.deepEqual(Rng.fromState(rng.state).state, rng.state); // four numbers
   * ```
   */
  get state(): RngState {
    return [this.#s[0], this.#s[1], this.#s[2], this.#s[3]];
  }

  /** Restore a state saved from {@link Rng.state}; throws RangeError on a malformed state. */
  set state(state: readonly number[]) {
    if (
      !Array.isArray(state) || state.length !== 4 ||
      state.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_POW_32)
    ) {
      throw new RangeError(
        `Cannot set Rng state: expected four integers in 0..2^32-1 but got ${
          JSON.stringify(state)
        }; pass the value of rng.state`,
      );
    }
    if (state.every((w) => w === 0)) {
      throw new RangeError(
        "Cannot set Rng state: all four words are 0, which xoshiro never leaves",
      );
    }
    for (let i = 0; i < 4; i++) this.#s[i] = state[i];
  }

  /**
   * An independent copy with the same state.
   *
   * @returns A new generator; drawing from it does not advance this one.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Rng } from "./rng.ts";
   * const a = new Rng(1);
   * const b = a.clone();
   * assert.ok(a.nextU32() === b.nextU32());
   * ```
   */
  clone(): Rng {
    return Rng.fromState(this.state);
  }

  /**
   * The next 32 random bits, as an integer in 0..2^32-1 (one xoshiro128** step).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Rng } from "./rng.ts";
   * assert.ok(new Rng(0).nextU32() < 2 ** 32);
   * ```
   */
  nextU32(): number {
    const s = this.#s;
    const s1 = s[1];
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s[2] ^= s[0];
    s[3] ^= s1;
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    const s3 = s[3];
    s[3] = (s3 << 11) | (s3 >>> 21);
    return result;
  }

  /**
   * A uniform float in [0, 1) with 53 random bits (two 32-bit draws).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Rng } from "./rng.ts";
   * const x = new Rng(3).nextFloat();
   * assert.ok(x >= 0 && x < 1);
   * ```
   */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /**
   * A uniform integer in 0..n-1 without modulo bias (rejection sampling on 32-bit draws).
   *
   * @param n The number of outcomes, an integer in 1..2^32.
   * @returns An integer in 0..n-1.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Rng } from "./rng.ts";
   * const die = new Rng(5).nextInt(6) + 1;
   * assert.ok(die >= 1 && die <= 6);
   * ```
   */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Cannot draw nextInt(${n}): n must be an integer in 1..2^32`);
    }
    // Accept draws below the largest multiple of n that fits in 32 bits.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let r = this.nextU32();
    while (r >= limit) r = this.nextU32();
    return r % n;
  }

  /**
   * A normal draw by the Box-Muller transform (two uniforms per draw; nothing is cached, so the
   * state stays four words).
   *
   * @param mean The mean (default 0).
   * @param std The standard deviation (default 1).
   * @returns A sample of N(mean, std^2).
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Rng } from "./rng.ts";
   * const z = new Rng(9).normal();
   * assert.ok(Number.isFinite(z));
   * ```
   */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.nextFloat(); // (0, 1]: log is finite
    const u2 = this.nextFloat();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /**
   * Shuffle an array in place (Fisher-Yates, from the last element down).
   *
   * @param array Any array or typed array.
   * @returns The same array, shuffled.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Rng } from "./rng.ts";
   * const order = new Rng(0).shuffle(Int32Array.from([0, 1, 2, 3, 4]));
   * assert.equal([...order].sort().join(), "0,1,2,3,4");
   * ```
   */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /**
   * A random permutation of 0..n-1.
   *
   * @param n The length.
   * @returns A shuffled Int32Array of 0..n-1.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Rng } from "./rng.ts";
   * assert.equal(new Rng(1).permutation(4).length, 4);
   * ```
   */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }
}

/** Options of {@link lcgUniform}. */
export interface LcgOptions {
  /**
   * Scramble the seed with Knuth's multiplicative hash (times 2654435761) so that nearby seeds
   * give unrelated arrays (default true); false starts the generator at the seed itself.
   */
  hashSeed?: boolean;
}

/**
 * `n` seeded uniform values in [lo, hi) from a 32-bit linear congruential generator (constants
 * 1664525 and 1013904223 of Numerical Recipes; each value takes the state's top 24 bits). It is
 * stateless and cheap, for test data, benchmarks and self-checks; every random choice of a run
 * comes from {@link Rng} instead.
 *
 * @param n How many values.
 * @param seed An integer; 0 acts as 1.
 * @param lo Lower bound, included (default -1).
 * @param hi Upper bound, excluded (default 1).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lcgUniform } from "./rng.ts";
 * const x = lcgUniform(1000, 7, 0, 4);
 * assert.ok(x.every((v) => v >= 0 && v < 4));
 * assert.deepEqual(lcgUniform(3, 7, 0, 4), x.subarray(0, 3));
 * assert.notDeepEqual(lcgUniform(3, 8, 0, 4), x.subarray(0, 3));
 * ```
 */
export function lcgUniform(
  n: number,
  seed: number,
  lo = -1,
  hi = 1,
  options: LcgOptions = {},
): Float32Array {
  const out = new Float32Array(n);
  let s = ((options.hashSeed ?? true) ? seed * 2654435761 : seed) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}
