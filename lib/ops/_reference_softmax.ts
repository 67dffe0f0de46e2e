/**
 * Plain-loop CPU references for the softmax, cross-entropy and reduction kernels, in float64.
 * Tests compare the GPU results against these; they are also usable for small host-side checks.
 *
 * Shapes follow the kernels: `x` is row-major (rows, cols); `offset` is (cols); labels are
 * (rows) class indices.
 *
 * @module
 */

/** What {@link crossEntropyForwardRef} returns. */
export interface CrossEntropyRef {
  /** (rows) per-row loss; NaN where the label is out of range. */
  loss: Float64Array;
  /** (rows) first argmax of each row of `x + offset`. */
  pred: Int32Array;
  /** Mean of `loss`. */
  meanLoss: number;
  /** Number of rows with `pred == label`. */
  correct: number;
}

function logits(
  x: ArrayLike<number>,
  r: number,
  cols: number,
  offset?: ArrayLike<number>,
): Float64Array {
  const row = new Float64Array(cols);
  for (let c = 0; c < cols; c++) row[c] = x[r * cols + c] + (offset ? offset[c] : 0);
  return row;
}

function maxOf(row: Float64Array): number {
  let m = -Infinity;
  for (const v of row) if (v > m) m = v;
  return m;
}

function logSumExp(row: Float64Array): number {
  const m = maxOf(row);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return m + Math.log(s);
}

/**
 * Row-wise softmax of `x + offset`, or log-softmax when `log` is true.
 *
 * @example
 * ```ts
 * import { softmaxRef } from "./_reference_softmax.ts";
 * softmaxRef([0, 0], 1, 2); // Float64Array [0.5, 0.5]
 * ```
 */
export function softmaxRef(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  offset?: ArrayLike<number>,
  log = false,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = logits(x, r, cols, offset);
    const lse = logSumExp(row);
    for (let c = 0; c < cols; c++) {
      out[r * cols + c] = log ? row[c] - lse : Math.exp(row[c] - lse);
    }
  }
  return out;
}

/**
 * Cross-entropy of `softmax(x + offset)` against integer labels, with per-row argmax.
 *
 * @example
 * ```ts
 * import { crossEntropyForwardRef } from "./_reference_softmax.ts";
 * crossEntropyForwardRef([0, 0], [1], 1, 2).meanLoss; // Math.LN2
 * ```
 */
export function crossEntropyForwardRef(
  x: ArrayLike<number>,
  labels: ArrayLike<number>,
  rows: number,
  cols: number,
  offset?: ArrayLike<number>,
): CrossEntropyRef {
  const loss = new Float64Array(rows);
  const pred = new Int32Array(rows);
  let total = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const row = logits(x, r, cols, offset);
    pred[r] = argmaxOf(row);
    const label = labels[r];
    loss[r] = label >= 0 && label < cols ? logSumExp(row) - row[label] : NaN;
    total += loss[r];
    if (pred[r] === label) correct++;
  }
  return { loss, pred, meanLoss: total / rows, correct };
}

/**
 * dlogits = scale * (softmax(x + offset) - onehot(label)) / rows; NaN rows for bad labels.
 *
 * @example
 * ```ts
 * import { crossEntropyBackwardRef } from "./_reference_softmax.ts";
 * crossEntropyBackwardRef([0, 0], [1], 1, 2); // Float64Array [0.5, -0.5]
 * ```
 */
export function crossEntropyBackwardRef(
  x: ArrayLike<number>,
  labels: ArrayLike<number>,
  rows: number,
  cols: number,
  offset?: ArrayLike<number>,
  scale = 1,
): Float64Array {
  const p = softmaxRef(x, rows, cols, offset);
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    const bad = !(label >= 0 && label < cols);
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      p[i] = bad ? NaN : (scale * (p[i] - (c === label ? 1 : 0))) / rows;
    }
  }
  return p;
}

function argmaxOf(row: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
  return best;
}

/**
 * First index of the maximum of each row.
 *
 * @example
 * ```ts
 * import { argmaxRef } from "./_reference_softmax.ts";
 * argmaxRef([1, 3, 3, 0], 1, 4); // Int32Array [1]
 * ```
 */
export function argmaxRef(x: ArrayLike<number>, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (x[r * cols + c] > x[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}

/**
 * Sum of each row times `alpha`.
 *
 * @example
 * ```ts
 * import { rowSumRef } from "./_reference_softmax.ts";
 * rowSumRef([1, 2, 3, 4], 2, 2); // Float64Array [3, 7]
 * ```
 */
export function rowSumRef(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  alpha = 1,
): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    out[r] = alpha * s;
  }
  return out;
}

/**
 * Sum of each column times `alpha`.
 *
 * @example
 * ```ts
 * import { colSumRef } from "./_reference_softmax.ts";
 * colSumRef([1, 2, 3, 4], 2, 2); // Float64Array [4, 6]
 * ```
 */
export function colSumRef(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  alpha = 1,
): Float64Array {
  const out = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c] += x[r * cols + c];
  }
  return out.map((v) => alpha * v);
}

/**
 * Per-channel sum over (n, c, s) times `alpha`.
 *
 * @example
 * ```ts
 * import { channelSumRef } from "./_reference_softmax.ts";
 * channelSumRef([1, 2, 3, 4], 1, 2, 2); // Float64Array [3, 7]
 * ```
 */
export function channelSumRef(
  x: ArrayLike<number>,
  n: number,
  channels: number,
  spatial: number,
  alpha = 1,
): Float64Array {
  const out = new Float64Array(channels);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < channels; c++) {
      for (let s = 0; s < spatial; s++) out[c] += x[(b * channels + c) * spatial + s];
    }
  }
  return out.map((v) => alpha * v);
}

/**
 * Sum of every element times `alpha`.
 *
 * @example
 * ```ts
 * import { sumRef } from "./_reference_softmax.ts";
 * sumRef([1, 2, 3]); // 6
 * ```
 */
export function sumRef(x: ArrayLike<number>, alpha = 1): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return alpha * s;
}
