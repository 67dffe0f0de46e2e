/**
 * Long-tailed data-set profiles: plain data that says how to turn a balanced source into a
 * long-tailed training set (RECIPE.md, "Data"). Profiles are JSON-friendly so they can live on
 * disk; {@link validateProfile} checks one with clear errors.
 *
 * @module
 */

/**
 * Shot-group thresholds: Many is `n > many`, Few is `n < few`, Medium in between.
 *
 * @example
 * ```ts
 * import type { ShotThresholds } from "./profiles.ts";
 * const fashion: ShotThresholds = { many: 1000, few: 200 };
 * ```
 */
export interface ShotThresholds {
  /** Classes with more training images than this are Many. */
  many: number;
  /** Classes with fewer training images than this are Few. */
  few: number;
}

/**
 * The paper's groups (Many > 100, Medium 20..100, Few < 20): the default for other data sets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PAPER_SHOT_THRESHOLDS } from "./profiles.ts";
 * assert.deepEqual(PAPER_SHOT_THRESHOLDS, { many: 100, few: 20 });
 * ```
 */
export const PAPER_SHOT_THRESHOLDS: Readonly<ShotThresholds> = Object.freeze({
  many: 100,
  few: 20,
});

/**
 * A long-tailed profile.
 *
 * @example
 * ```ts
 * import type { LongTailProfile } from "./profiles.ts";
 * const mine: LongTailProfile = {
 *   name: "my-lt-50", source: "arrow:data/mine", headSize: 500, imbalanceRatio: 50,
 *   classOrder: [0, 1, 2, 3, 4], valPerClass: 10, seed: 0, shotThresholds: { many: 100, few: 20 },
 *   normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
 * };
 * ```
 */
export interface LongTailProfile {
  /** Registry name, e.g. `fashion-mnist-lt-100`. */
  name: string;
  /** The balanced source: `fashion-mnist`, or `arrow:DIR` (DIR/train.arrow, DIR/test.arrow). */
  source: string;
  /** n_max, the head class size before capping. */
  headSize: number;
  /** n_max / n_min, at least 1. */
  imbalanceRatio: number;
  /** classOrder[i] is the source class that plays rank i (rank 0 is the head); a permutation. */
  classOrder: number[];
  /** Images per class drawn first for the balanced validation set. */
  valPerClass: number;
  /** Seed of the split shuffle. */
  seed: number;
  /** Shot-group thresholds on training counts. */
  shotThresholds: ShotThresholds;
  /** Per-channel pixel mean and std after x/255, for normalisation. */
  normalization: { mean: number[]; std: number[] };
  /** Zero padding on each side before the random crop of stage-1 augmentation (default 2). */
  augmentPad?: number;
  /** Where the constants come from, when they are taken from elsewhere. */
  notes?: string;
}

/**
 * The augmentation padding of a profile: its `augmentPad`, else the recipe's 2.
 *
 * @param profile The profile.
 * @returns P, the zero padding on each side.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { augmentPad, getProfile } from "./profiles.ts";
 * equal(augmentPad(getProfile("fashion-mnist-lt-100")), 2);
 * equal(augmentPad(getProfile("cifar10-lt-100")), 4);
 * ```
 */
export function augmentPad(profile: Readonly<LongTailProfile>): number {
  return profile.augmentPad ?? 2;
}

const IDENTITY_10 = Object.freeze([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

function fashion(ratio: number): LongTailProfile {
  return {
    name: `fashion-mnist-lt-${ratio}`,
    source: "fashion-mnist",
    headSize: 6000,
    imbalanceRatio: ratio,
    classOrder: [...IDENTITY_10],
    valPerClass: 20,
    seed: 0,
    shotThresholds: { many: 1000, few: 200 },
    normalization: { mean: [0.2860], std: [0.3530] },
    augmentPad: 2,
  };
}

/**
 * The per-channel constants of the CIFAR long-tail reference code: LDAM-DRW (Cao et al., 2019,
 * github.com/kaidic/LDAM-DRW, `cifar_train.py`) normalises CIFAR-10-LT and CIFAR-100-LT alike with
 * mean (0.4914, 0.4822, 0.4465) and std (0.2023, 0.1994, 0.2010), and the long-tail papers built on
 * it keep them; ltkit uses them for both so its numbers are comparable.
 */
const CIFAR_NORMALIZATION = { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010] };

/** CIFAR-10-LT and CIFAR-100-LT as in the literature, with a validation set taken first. */
function cifar(classes: 10 | 100, ratio: number): LongTailProfile {
  return {
    name: `cifar${classes}-lt-${ratio}`,
    source: `cifar-${classes}`,
    headSize: classes === 10 ? 5000 : 500,
    imbalanceRatio: ratio,
    classOrder: Array.from({ length: classes }, (_, c) => c),
    valPerClass: 20,
    seed: 0,
    shotThresholds: { ...PAPER_SHOT_THRESHOLDS },
    normalization: structuredClone(CIFAR_NORMALIZATION),
    augmentPad: 4,
    notes: "normalisation constants from LDAM-DRW (github.com/kaidic/LDAM-DRW, cifar_train.py); " +
      "pad 4, random 32x32 crop, horizontal flip as there; the 20 validation images per class " +
      `are drawn first, so the head keeps ${classes === 10 ? 4980 : 480} instead of ` +
      `${classes === 10 ? 5000 : 500}`,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * The registered profiles. `fashion-mnist-lt-100` is RECIPE.md's data set; `-10` and `-200` are
 * the same construction with other imbalance ratios. `cifar10-lt-*` and `cifar100-lt-*` are the
 * literature's CIFAR-10-LT and CIFAR-100-LT (n_max 5000 and 500, ratios 100, 50 and 10), with the
 * paper's shot groups (Many > 100, Few < 20). Frozen: copy with `structuredClone` to edit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PROFILES } from "./profiles.ts";
 * assert.ok(Object.keys(PROFILES).includes("fashion-mnist-lt-100"));
 * ```
 */
export const PROFILES: Readonly<Record<string, Readonly<LongTailProfile>>> = deepFreeze({
  "fashion-mnist-lt-100": fashion(100),
  "fashion-mnist-lt-10": fashion(10),
  "fashion-mnist-lt-200": fashion(200),
  "cifar10-lt-100": cifar(10, 100),
  "cifar10-lt-50": cifar(10, 50),
  "cifar10-lt-10": cifar(10, 10),
  "cifar100-lt-100": cifar(100, 100),
  "cifar100-lt-50": cifar(100, 50),
  "cifar100-lt-10": cifar(100, 10),
});

/**
 * Look up a registered profile.
 *
 * @param name A key of {@link PROFILES}.
 * @returns The profile (frozen).
 * @throws {RangeError} Listing the known names.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getProfile } from "./profiles.ts";
 * assert.equal(getProfile("fashion-mnist-lt-100").headSize, 6000);
 * ```
 */
export function getProfile(name: string): Readonly<LongTailProfile> {
  const profile = PROFILES[name];
  if (!profile) {
    throw new RangeError(
      `Cannot find profile "${name}": known profiles are ${Object.keys(PROFILES).join(", ")}`,
    );
  }
  return profile;
}

/**
 * Check a profile (from JSON, say) field by field.
 *
 * @param value The candidate profile.
 * @param classCount When given, also check that classOrder is a permutation of 0..classCount-1.
 * @returns The value, typed.
 * @throws {TypeError} For a missing or mistyped field; {@link RangeError} for a bad value.
 * @example
 * ```ts
 * import { doesNotThrow, throws } from "node:assert/strict";
 * import { getProfile, validateProfile } from "./profiles.ts";
 * const mine = { ...structuredClone(getProfile("fashion-mnist-lt-10")), imbalanceRatio: 50 };
 * doesNotThrow(() => validateProfile(mine, 10));
 * throws(() => validateProfile({ ...mine, imbalanceRatio: 0 }, 10));
 * ```
 */
export function validateProfile(value: unknown, classCount?: number): LongTailProfile {
  const p = value as LongTailProfile;
  const name = typeof p?.name === "string" ? p.name : "(unnamed)";
  const fail = (field: string, why: string, Cls: typeof RangeError = RangeError): never => {
    throw new Cls(`Cannot use profile ${name}: ${field} ${why}`);
  };
  if (typeof value !== "object" || value === null) fail("value", "is not an object", TypeError);
  if (typeof p.name !== "string" || p.name === "") fail("name", "must be a string", TypeError);
  if (typeof p.source !== "string" || p.source === "") {
    fail("source", "must be a string such as fashion-mnist or arrow:DIR", TypeError);
  }
  if (!Number.isInteger(p.headSize) || p.headSize < 1) {
    fail("headSize", `is ${p.headSize} but must be a positive integer`);
  }
  if (
    typeof p.imbalanceRatio !== "number" || !(p.imbalanceRatio >= 1) || !isFinite(p.imbalanceRatio)
  ) {
    fail(
      "imbalanceRatio",
      `is ${p.imbalanceRatio} but must be a finite number >= 1 (1 is balanced; ratio = n_max/n_min)`,
    );
  }
  if (!Number.isInteger(p.valPerClass) || p.valPerClass < 0) {
    fail("valPerClass", `is ${p.valPerClass} but must be an integer >= 0`);
  }
  if (!Number.isSafeInteger(p.seed) || p.seed < 0) {
    fail("seed", `is ${p.seed} but must be a non-negative integer`);
  }
  if (!Array.isArray(p.classOrder) || p.classOrder.length === 0) {
    fail("classOrder", "must be a non-empty array of class indices", TypeError);
  }
  const seen = new Set<number>();
  for (const c of p.classOrder) {
    if (!Number.isInteger(c) || c < 0 || seen.has(c)) {
      fail("classOrder", `has ${JSON.stringify(c)}; it must list distinct class indices`);
    }
    seen.add(c);
  }
  if (classCount !== undefined) {
    const outside = p.classOrder.find((c) => c >= classCount);
    if (p.classOrder.length !== classCount || outside !== undefined) {
      fail(
        "classOrder",
        `is [${p.classOrder}] but must be a permutation of 0..${classCount - 1} ` +
          `(the source has ${classCount} classes)`,
      );
    }
  }
  const t = p.shotThresholds;
  if (
    typeof t !== "object" || t === null || typeof t.many !== "number" || typeof t.few !== "number"
  ) {
    fail("shotThresholds", "must be {many: number, few: number}", TypeError);
  }
  if (t.few > t.many + 1) {
    fail("shotThresholds", `has few ${t.few} above many ${t.many}; need few <= many + 1`);
  }
  const n = p.normalization;
  if (
    typeof n !== "object" || n === null || !Array.isArray(n.mean) || !Array.isArray(n.std) ||
    n.mean.length === 0 || n.mean.length !== n.std.length
  ) {
    fail(
      "normalization",
      "must be {mean: number[], std: number[]} of equal non-zero length",
      TypeError,
    );
  }
  if (n.std.some((s) => !(s > 0)) || n.mean.some((m) => !isFinite(m))) {
    fail("normalization", `has mean [${n.mean}] std [${n.std}]; std must be > 0`);
  }
  if (p.augmentPad !== undefined && (!Number.isInteger(p.augmentPad) || p.augmentPad < 0)) {
    fail("augmentPad", `is ${p.augmentPad} but must be an integer >= 0 (4 for 32x32 CIFAR)`);
  }
  if (p.notes !== undefined && typeof p.notes !== "string") {
    fail("notes", "must be a string", TypeError);
  }
  return p;
}

/**
 * The target size of each rank before capping: n_i = floor(n_max * ratio^(-i/(C-1))).
 *
 * NOTE: a 1e-9 tolerance before the floor keeps exact products (6000 * 100^-1 = 60) from falling
 * to 59 when pow rounds down by one ulp on some platform.
 *
 * @param headSize n_max.
 * @param imbalanceRatio The ratio, >= 1.
 * @param classCount C.
 * @returns Sizes by rank, (C).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { longTailSizes } from "./profiles.ts";
 * assert.deepEqual(longTailSizes(6000, 100, 10), [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]);
 * ```
 */
export function longTailSizes(
  headSize: number,
  imbalanceRatio: number,
  classCount: number,
): number[] {
  if (!(imbalanceRatio >= 1)) {
    throw new RangeError(
      `Cannot compute long-tail sizes: imbalance ratio ${imbalanceRatio} is below 1; use >= 1`,
    );
  }
  const sizes: number[] = [];
  for (let i = 0; i < classCount; i++) {
    const exponent = classCount > 1 ? -i / (classCount - 1) : 0;
    sizes.push(Math.floor(headSize * Math.pow(imbalanceRatio, exponent) + 1e-9));
  }
  return sizes;
}
