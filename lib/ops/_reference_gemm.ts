/**
 * Plain-loop CPU reference for GEMM, used by the GEMM tests, the tuner's correctness check and
 * the benchmark's cross-check. Sums in float64, so it is a little more exact than any f32 kernel.
 *
 * @module
 */

/** A GEMM problem on host arrays: `C = alpha * op(A) op(B) + beta * C (+ bias[n])`. */
export interface ReferenceGemmProblem {
  /** A stored row-major: `(M x K)`, or `(K x M)` when `transA`; batches `strideA` apart. */
  a: ArrayLike<number>;
  /** B stored row-major: `(K x N)`, or `(N x K)` when `transB`; batches `strideB` apart. */
  b: ArrayLike<number>;
  /** Initial C, read only when `beta != 0` (defaults to zeros). */
  c?: ArrayLike<number>;
  /** Per-column bias of length N, added after scaling. */
  bias?: ArrayLike<number>;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  batch?: number;
  /** Element strides between batches (default: one dense matrix each; 0 broadcasts). */
  strideA?: number;
  strideB?: number;
  strideC?: number;
}

/**
 * Computes the GEMM on the CPU and returns C as a new array (elements of C that no batch
 * writes keep their initial value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { referenceGemm } from "./_reference_gemm.ts";
 * const c = referenceGemm({ a: [1, 2, 3, 4], b: [1, 0, 0, 1], m: 2, n: 2, k: 2 });
 * assert.deepEqual(Array.from(c), [1, 2, 3, 4]);
 * ```
 */
export function referenceGemm(problem: ReferenceGemmProblem): Float32Array {
  const { a, b, m, n, k } = problem;
  const transA = problem.transA ?? false;
  const transB = problem.transB ?? false;
  const alpha = problem.alpha ?? 1;
  const beta = problem.beta ?? 0;
  const batch = problem.batch ?? 1;
  const strideA = problem.strideA ?? m * k;
  const strideB = problem.strideB ?? k * n;
  const strideC = problem.strideC ?? m * n;
  const size = (batch - 1) * strideC + m * n;
  const out = new Float32Array(Math.max(size, problem.c?.length ?? 0));
  if (problem.c) out.set(Array.from(problem.c));
  for (let z = 0; z < batch; z++) {
    const oa = z * strideA;
    const ob = z * strideB;
    const oc = z * strideC;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[oa + p * m + i] : a[oa + i * k + p];
          const bv = transB ? b[ob + j * k + p] : b[ob + p * n + j];
          sum += av * bv;
        }
        let v = alpha * sum;
        if (beta !== 0) v += beta * out[oc + i * n + j];
        if (problem.bias) v += problem.bias[j];
        out[oc + i * n + j] = v;
      }
    }
  }
  return out;
}
