/**
 * Degenerate feature matrices: non-finite values, all zeros, or every row equal. A stage-1
 * network that diverged or collapsed yields them, and every stage-2 method then lands at chance,
 * so extraction refuses to write them and `deno task features` fails them. Pure code (no Deno
 * API), so the browser-safe reader side can use it too.
 *
 * @module
 */

/**
 * What is wrong with a feature matrix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FeatureDefect } from "./check.ts";
 * const defect: FeatureDefect = { kind: "all-zero", detail: "all 8 rows x 4 dims are zero" };
 * assert.equal(defect.kind, "all-zero");
 * ```
 */
export interface FeatureDefect {
  /** Which test failed, checked in this order. */
  kind: "non-finite" | "all-zero" | "constant";
  /** What was seen: how many rows and dims, and where, in words. */
  detail: string;
}

/**
 * Rows whose spread in every dimension is at most this fraction of the largest magnitude count
 * as equal: rounding in the GPU's sums can tell apart rows that a collapsed network maps to one
 * point, but only in the last bits of a float32.
 */
const CONSTANT_TOLERANCE = 1e-6;

/**
 * Scans a feature matrix batch by batch, so a split streamed to disk is checked whole without
 * holding it in memory. {@link checkFeatures} is the one-call form.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { FeatureScan } from "./check.ts";
 * const scan = new FeatureScan(2);
 * scan.add(Float32Array.of(1, 0, 1, 0)); // two rows, both (1, 0)
 * equal(scan.defect()?.kind, "constant");
 * scan.add(Float32Array.of(3, 0)); // a third row that differs in dim 0
 * equal(scan.defect(), null);
 * equal(scan.rows, 3);
 * ```
 */
export class FeatureScan {
  /** D. */
  readonly dim: number;
  #rows = 0;
  #nonFinite = 0;
  #firstBad: { value: number; row: number; dim: number } | null = null;
  #scale = 0;
  readonly #min: Float64Array;
  readonly #max: Float64Array;

  /**
   * Starts an empty scan.
   *
   * @param dim Values per row, >= 1.
   */
  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim < 1) {
      throw new RangeError(`Cannot check features: dimension ${dim} is not an integer >= 1`);
    }
    this.dim = dim;
    this.#min = new Float64Array(dim).fill(Infinity);
    this.#max = new Float64Array(dim).fill(-Infinity);
  }

  /** Rows scanned so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Non-finite values seen so far (a caller may stop at the first batch that has one). */
  get nonFinite(): number {
    return this.#nonFinite;
  }

  /**
   * Adds rows.
   *
   * @param features (n, D) row-major.
   */
  add(features: Float32Array): void {
    const d = this.dim;
    if (features.length % d !== 0) {
      throw new RangeError(
        `Cannot check features: ${features.length} values are not whole rows of dimension ${d}`,
      );
    }
    const min = this.#min, max = this.#max;
    let scale = this.#scale;
    for (let i = 0; i < features.length; i++) {
      const v = features[i];
      if (!Number.isFinite(v)) {
        if (this.#nonFinite++ === 0) {
          this.#firstBad = { value: v, row: this.#rows + Math.floor(i / d), dim: i % d };
        }
        continue;
      }
      const k = i % d;
      if (v < min[k]) min[k] = v;
      if (v > max[k]) max[k] = v;
      const a = Math.abs(v);
      if (a > scale) scale = a;
    }
    this.#scale = scale;
    this.#rows += features.length / d;
  }

  /** The first test the rows so far fail, or null when they pass (as an empty matrix does). */
  defect(): FeatureDefect | null {
    const rows = this.#rows, d = this.dim;
    const shape = `${rows} rows x ${d} dims`;
    if (this.#nonFinite > 0) {
      const bad = this.#firstBad!;
      return {
        kind: "non-finite",
        detail: `${this.#nonFinite} of the ${rows * d} values (${shape}) are not finite; the ` +
          `first is ${bad.value} at row ${bad.row}, dim ${bad.dim}`,
      };
    }
    if (rows === 0) return null;
    if (this.#scale === 0) return { kind: "all-zero", detail: `all ${shape} are zero` };
    if (rows < 2) return null;
    let spread = 0;
    for (let k = 0; k < d; k++) spread = Math.max(spread, this.#max[k] - this.#min[k]);
    if (spread <= CONSTANT_TOLERANCE * this.#scale) {
      return {
        kind: "constant",
        detail: `all ${rows} rows are equal (zero variance in each of the ${d} dims)`,
      };
    }
    return null;
  }
}

/**
 * Checks a whole feature matrix: non-finite values, all zeros, or every row equal (zero variance
 * in every dimension). One constant dimension among varying ones is fine.
 *
 * @param features (rows, dim) row-major.
 * @param rows Rows.
 * @param dim Values per row.
 * @returns The first defect found, or null for a usable matrix.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { checkFeatures } from "./check.ts";
 * equal(checkFeatures(Float32Array.of(1, 2, 3, 4), 2, 2), null);
 * equal(checkFeatures(new Float32Array(6), 3, 2)?.detail, "all 3 rows x 2 dims are zero");
 * equal(checkFeatures(Float32Array.of(1, NaN), 1, 2)?.kind, "non-finite");
 * ```
 */
export function checkFeatures(
  features: Float32Array,
  rows: number,
  dim: number,
): FeatureDefect | null {
  if (features.length !== rows * dim) {
    throw new RangeError(
      `Cannot check features: ${features.length} values for ${rows} rows of dimension ${dim} ` +
        `(expected ${rows * dim})`,
    );
  }
  const scan = new FeatureScan(dim);
  scan.add(features);
  return scan.defect();
}

/**
 * The advice that goes with a defect found in features a stage-1 network produced.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEGENERATE_ADVICE } from "./check.ts";
 * assert.ok(DEGENERATE_ADVICE.startsWith("stage 1 likely diverged"));
 * ```
 */
export const DEGENERATE_ADVICE: string =
  "stage 1 likely diverged or collapsed; retrain it with a lower --lr, --momentum or " +
  "--weight-decay";
