/**
 * Plain-loop CPU references for the backbone kernels: 2-D convolution (forward, backward input,
 * backward weight), batch normalisation (training forward, backward, eval forward), global
 * average pooling (forward, backward) and the SGD update. They compute in float64 and exist to
 * check the GPU kernels and the model code built on them; they are far too slow for training.
 *
 * Layouts match the GPU ops: x (N,C,H,W), w (F,C,KH,KW), y (N,F,Ho,Wo), row-major.
 *
 * @module
 */

/** Numbers in, numbers out: any typed array or plain array. */
export type Values = ArrayLike<number>;

/** Stride and symmetric zero padding of a convolution. */
export interface ConvGeometry {
  /** Step between output positions, the same along H and W (default 1). */
  stride?: number;
  /** Zeros added on every side of the input (default 0). */
  padding?: number;
  /**
   * Channel groups (default 1): input and output channels split into `groups` equal parts,
   * output group g sees only input group g, and the weight is (F, C / groups, KH, KW).
   */
  groups?: number;
}

/** Channel groups of a geometry, checked against C and F. */
function groupsOf(geometry: ConvGeometry, c: number, f: number): number {
  const g = geometry.groups ?? 1;
  if (!Number.isInteger(g) || g < 1 || c % g !== 0 || f % g !== 0) {
    throw new RangeError(`Cannot run the reference: ${g} groups do not divide C ${c} and F ${f}`);
  }
  return g;
}

/**
 * Output size of a convolution along one axis: `floor((size + 2 padding - kernel) / stride) + 1`.
 *
 * @example
 * ```ts
 * import { convOutputSize } from "./_reference_nn.ts";
 * convOutputSize(28, 3, 2, 1); // 14
 * ```
 */
export function convOutputSize(size: number, kernel: number, stride = 1, padding = 0): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

function dims4(shape: readonly number[], what: string): [number, number, number, number] {
  if (shape.length !== 4) {
    throw new RangeError(`Cannot run the reference: ${what} must be 4-D, got (${shape.join(",")})`);
  }
  return [shape[0], shape[1], shape[2], shape[3]];
}

/**
 * Convolution forward, no bias: `y[n,f,oh,ow] = sum w[f,c,kh,kw] x[n,c,oh*s-p+kh, ow*s-p+kw]`,
 * the sum over the input channels of f's group (all of them when `groups` is 1).
 *
 * @param x input (N,C,H,W)
 * @param xShape [N,C,H,W]
 * @param w weight (F,C/groups,KH,KW)
 * @param wShape [F,C/groups,KH,KW]
 * @returns y (N,F,Ho,Wo) in float64
 *
 * @example
 * ```ts
 * import { conv2dForward } from "./_reference_nn.ts";
 * const y = conv2dForward([1, 2, 3, 4], [1, 1, 2, 2], [1, 1, 1, 1], [1, 1, 2, 2]);
 * // y is [10]
 * ```
 */
export function conv2dForward(
  x: Values,
  xShape: readonly number[],
  w: Values,
  wShape: readonly number[],
  geometry: ConvGeometry = {},
): Float64Array {
  const [n, c, h, wd] = dims4(xShape, "x");
  const [f, wc, kh, kw] = dims4(wShape, "w");
  const groups = groupsOf(geometry, c, f);
  if (wc * groups !== c) {
    throw new RangeError(`Cannot run the reference: w has ${wc} input channels, x ${c}`);
  }
  const s = geometry.stride ?? 1;
  const p = geometry.padding ?? 0;
  const ho = convOutputSize(h, kh, s, p);
  const wo = convOutputSize(wd, kw, s, p);
  const y = new Float64Array(n * f * ho * wo);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < f; o++) {
      for (let oh = 0; oh < ho; oh++) {
        for (let ow = 0; ow < wo; ow++) {
          let sum = 0;
          const first = Math.floor(o / (f / groups)) * wc; // first input channel of o's group
          for (let k = 0; k < wc; k++) {
            const ci = first + k;
            for (let i = 0; i < kh; i++) {
              const ih = oh * s - p + i;
              if (ih < 0 || ih >= h) continue;
              for (let j = 0; j < kw; j++) {
                const iw = ow * s - p + j;
                if (iw < 0 || iw >= wd) continue;
                sum += w[((o * wc + k) * kh + i) * kw + j] * x[((b * c + ci) * h + ih) * wd + iw];
              }
            }
          }
          y[((b * f + o) * ho + oh) * wo + ow] = sum;
        }
      }
    }
  }
  return y;
}

/**
 * Convolution gradient with respect to the input: scatters `dy` back through the weights.
 *
 * @param dy gradient of the output (N,F,Ho,Wo)
 * @param w weight (F,C,KH,KW)
 * @param xShape [N,C,H,W] of the forward input (fixes H and W, which stride makes ambiguous)
 * @returns dx (N,C,H,W) in float64
 */
export function conv2dBackwardInput(
  dy: Values,
  w: Values,
  wShape: readonly number[],
  xShape: readonly number[],
  geometry: ConvGeometry = {},
): Float64Array {
  const [n, c, h, wd] = dims4(xShape, "x");
  const [f, wc, kh, kw] = dims4(wShape, "w");
  const groups = groupsOf(geometry, c, f);
  const s = geometry.stride ?? 1;
  const p = geometry.padding ?? 0;
  const ho = convOutputSize(h, kh, s, p);
  const wo = convOutputSize(wd, kw, s, p);
  const dx = new Float64Array(n * c * h * wd);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < f; o++) {
      for (let oh = 0; oh < ho; oh++) {
        for (let ow = 0; ow < wo; ow++) {
          const g = dy[((b * f + o) * ho + oh) * wo + ow];
          const first = Math.floor(o / (f / groups)) * wc;
          for (let k = 0; k < wc; k++) {
            const ci = first + k;
            for (let i = 0; i < kh; i++) {
              const ih = oh * s - p + i;
              if (ih < 0 || ih >= h) continue;
              for (let j = 0; j < kw; j++) {
                const iw = ow * s - p + j;
                if (iw < 0 || iw >= wd) continue;
                dx[((b * c + ci) * h + ih) * wd + iw] += g * w[((o * wc + k) * kh + i) * kw + j];
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

/**
 * Convolution gradient with respect to the weight: `dw[f,c,kh,kw] = sum dy[n,f,oh,ow] x[...]`.
 *
 * @param x forward input (N,C,H,W)
 * @param dy gradient of the output (N,F,Ho,Wo)
 * @param wShape [F,C,KH,KW]
 * @returns dw (F,C,KH,KW) in float64
 */
export function conv2dBackwardWeight(
  x: Values,
  xShape: readonly number[],
  dy: Values,
  wShape: readonly number[],
  geometry: ConvGeometry = {},
): Float64Array {
  const [n, c, h, wd] = dims4(xShape, "x");
  const [f, wc, kh, kw] = dims4(wShape, "w");
  const groups = groupsOf(geometry, c, f);
  const s = geometry.stride ?? 1;
  const p = geometry.padding ?? 0;
  const ho = convOutputSize(h, kh, s, p);
  const wo = convOutputSize(wd, kw, s, p);
  const dw = new Float64Array(f * wc * kh * kw);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < f; o++) {
      for (let oh = 0; oh < ho; oh++) {
        for (let ow = 0; ow < wo; ow++) {
          const g = dy[((b * f + o) * ho + oh) * wo + ow];
          const first = Math.floor(o / (f / groups)) * wc;
          for (let k = 0; k < wc; k++) {
            const ci = first + k;
            for (let i = 0; i < kh; i++) {
              const ih = oh * s - p + i;
              if (ih < 0 || ih >= h) continue;
              for (let j = 0; j < kw; j++) {
                const iw = ow * s - p + j;
                if (iw < 0 || iw >= wd) continue;
                dw[((o * wc + k) * kh + i) * kw + j] += g * x[((b * c + ci) * h + ih) * wd + iw];
              }
            }
          }
        }
      }
    }
  }
  return dw;
}

/** (N, C, spatial) of an (N,C,H,W) or (N,C) shape. */
function bnDims(shape: readonly number[]): [number, number, number] {
  if (shape.length === 2) return [shape[0], shape[1], 1];
  const [n, c, h, w] = dims4(shape, "x");
  return [n, c, h * w];
}

/** Options of {@link batchNormTrainForward}. */
export interface BatchNormTrainOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Weight of the new batch statistic in the running averages (default 0.1). */
  momentum?: number;
  /** Running mean before the step (default zeros). */
  runningMean?: Values;
  /** Running variance before the step (default ones). */
  runningVar?: Values;
}

/** What {@link batchNormTrainForward} returns. */
export interface BatchNormTrainResult {
  /** Normalised, scaled and shifted output, same shape as x. */
  y: Float64Array;
  /** Batch mean per channel (C). */
  mean: Float64Array;
  /** 1 / sqrt(biased batch variance + eps) per channel (C). */
  invStd: Float64Array;
  /** Biased batch variance per channel (C), the one used to normalise. */
  variance: Float64Array;
  /** Running mean after the update (C). */
  runningMean: Float64Array;
  /** Running variance after the update, fed with the unbiased batch variance (C). */
  runningVar: Float64Array;
}

/**
 * Batch normalisation in training mode over (N,H,W) per channel, with PyTorch's running-stat
 * update: `running = (1 - momentum) running + momentum stat`, where the variance fed to the
 * running average is the unbiased one (divided by M - 1) while normalisation uses the biased one.
 *
 * @param x (N,C,H,W) or (N,C)
 * @returns y, the saved statistics and the updated running statistics
 *
 * @example
 * ```ts
 * import { batchNormTrainForward } from "./_reference_nn.ts";
 * const r = batchNormTrainForward([1, 3], [2, 1], [1], [0]);
 * // r.y is [-1, 1] (up to eps), r.mean [2], r.runningVar [0.9 + 0.1 * 2]
 * ```
 */
export function batchNormTrainForward(
  x: Values,
  shape: readonly number[],
  gamma: Values,
  beta: Values,
  options: BatchNormTrainOptions = {},
): BatchNormTrainResult {
  const [n, c, hw] = bnDims(shape);
  const eps = options.eps ?? 1e-5;
  const momentum = options.momentum ?? 0.1;
  const m = n * hw;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  const invStd = new Float64Array(c);
  const runningMean = new Float64Array(c);
  const runningVar = new Float64Array(c);
  const y = new Float64Array(n * c * hw);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < hw; i++) sum += x[(b * c + ch) * hw + i];
    }
    const mu = sum / m;
    let sq = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < hw; i++) sq += (x[(b * c + ch) * hw + i] - mu) ** 2;
    }
    const v = sq / m;
    mean[ch] = mu;
    variance[ch] = v;
    invStd[ch] = 1 / Math.sqrt(v + eps);
    const rm = options.runningMean?.[ch] ?? 0;
    const rv = options.runningVar?.[ch] ?? 1;
    runningMean[ch] = (1 - momentum) * rm + momentum * mu;
    runningVar[ch] = (1 - momentum) * rv + momentum * (m > 1 ? sq / (m - 1) : v);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < hw; i++) {
        const k = (b * c + ch) * hw + i;
        y[k] = (x[k] - mu) * invStd[ch] * gamma[ch] + beta[ch];
      }
    }
  }
  return { y, mean, invStd, variance, runningMean, runningVar };
}

/**
 * Batch normalisation in eval mode: `y = (x - runningMean) / sqrt(runningVar + eps) gamma + beta`.
 *
 * @param x (N,C,H,W) or (N,C)
 * @returns y, same shape as x
 */
export function batchNormEvalForward(
  x: Values,
  shape: readonly number[],
  gamma: Values,
  beta: Values,
  runningMean: Values,
  runningVar: Values,
  eps = 1e-5,
): Float64Array {
  const [n, c, hw] = bnDims(shape);
  const y = new Float64Array(n * c * hw);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const scale = gamma[ch] / Math.sqrt(runningVar[ch] + eps);
      for (let i = 0; i < hw; i++) {
        const k = (b * c + ch) * hw + i;
        y[k] = (x[k] - runningMean[ch]) * scale + beta[ch];
      }
    }
  }
  return y;
}

/** Gradients from {@link batchNormBackward}. */
export interface BatchNormGrads {
  /** Gradient of the input, same shape as x. */
  dx: Float64Array;
  /** Gradient of gamma (C): sum of dy * xhat. */
  dgamma: Float64Array;
  /** Gradient of beta (C): sum of dy. */
  dbeta: Float64Array;
}

/**
 * Batch normalisation backward (training mode) from the saved mean and invStd:
 * `dx = gamma invStd / M (M dy - sum dy - xhat sum(dy xhat))`, xhat = (x - mean) invStd.
 *
 * @param x forward input (N,C,H,W) or (N,C)
 * @param dy gradient of the output, same shape
 * @returns dx, dgamma, dbeta
 */
export function batchNormBackward(
  x: Values,
  dy: Values,
  shape: readonly number[],
  gamma: Values,
  mean: Values,
  invStd: Values,
): BatchNormGrads {
  const [n, c, hw] = bnDims(shape);
  const m = n * hw;
  const dx = new Float64Array(n * c * hw);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let sdy = 0;
    let sdyx = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < hw; i++) {
        const k = (b * c + ch) * hw + i;
        sdy += dy[k];
        sdyx += dy[k] * (x[k] - mean[ch]) * invStd[ch];
      }
    }
    dbeta[ch] = sdy;
    dgamma[ch] = sdyx;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < hw; i++) {
        const k = (b * c + ch) * hw + i;
        const xhat = (x[k] - mean[ch]) * invStd[ch];
        dx[k] = (gamma[ch] * invStd[ch] / m) * (m * dy[k] - sdy - xhat * sdyx);
      }
    }
  }
  return { dx, dgamma, dbeta };
}

/**
 * Global average pool: `y[n,c] = mean over (h,w) of x[n,c,h,w]`.
 *
 * @param x (N,C,H,W)
 * @returns y (N,C)
 */
export function globalAvgPoolForward(x: Values, shape: readonly number[]): Float64Array {
  const [n, c, h, w] = dims4(shape, "x");
  const hw = h * w;
  const y = new Float64Array(n * c);
  for (let i = 0; i < n * c; i++) {
    let sum = 0;
    for (let j = 0; j < hw; j++) sum += x[i * hw + j];
    y[i] = sum / hw;
  }
  return y;
}

/**
 * Global average pool backward: `dx[n,c,h,w] = dy[n,c] / (H W)`.
 *
 * @param dy (N,C)
 * @param xShape [N,C,H,W] of the forward input
 * @returns dx (N,C,H,W)
 */
export function globalAvgPoolBackward(dy: Values, xShape: readonly number[]): Float64Array {
  const [n, c, h, w] = dims4(xShape, "x");
  const hw = h * w;
  const dx = new Float64Array(n * c * hw);
  for (let i = 0; i < n * c; i++) {
    for (let j = 0; j < hw; j++) dx[i * hw + j] = dy[i] / hw;
  }
  return dx;
}

/** Hyper-parameters of one SGD step. */
export interface SgdStep {
  /** Learning rate. */
  lr: number;
  /** Momentum factor. */
  momentum: number;
  /** L2 weight decay added to the gradient. */
  weightDecay: number;
}

/**
 * One SGD step with PyTorch semantics (dampening 0, no Nesterov), in place:
 * `v = momentum v + (g + weightDecay p); p -= lr v`.
 *
 * @example
 * ```ts
 * import { sgdUpdate } from "./_reference_nn.ts";
 * const p = [1], g = [0.5], v = [0];
 * sgdUpdate(p, g, v, { lr: 0.1, momentum: 0.9, weightDecay: 0 });
 * // p is [0.95], v is [0.5]
 * ```
 */
export function sgdUpdate(
  params: { [i: number]: number; length: number },
  grads: Values,
  velocity: { [i: number]: number; length: number },
  step: SgdStep,
): void {
  for (let i = 0; i < params.length; i++) {
    const v = step.momentum * velocity[i] + (grads[i] + step.weightDecay * params[i]);
    velocity[i] = v;
    params[i] -= step.lr * v;
  }
}

/**
 * Option-A shortcut: `y[n,f,i,j] = x[n, f - B, i s, j s]` for `0 <= f - B < C`, else 0, with
 * `B = floor((F - C) / 2)` zero channels in front.
 *
 * @param x input (N,C,H,W)
 * @param xShape [N,C,H,W]
 * @param channels F
 * @param stride s
 * @returns y (N,F,ceil(H/s),ceil(W/s))
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shortcutPadForward } from "./_reference_nn.ts";
 * assert.deepEqual(Array.from(shortcutPadForward([1, 2, 3, 4], [1, 1, 2, 2], 3, 2)), [0, 1, 0]);
 * ```
 */
export function shortcutPadForward(
  x: Values,
  xShape: readonly number[],
  channels: number,
  stride: number,
): Float64Array {
  const [n, c, h, w] = dims4(xShape, "x");
  const ho = Math.ceil(h / stride);
  const wo = Math.ceil(w / stride);
  const before = Math.floor((channels - c) / 2);
  const y = new Float64Array(n * channels * ho * wo);
  for (let b = 0; b < n; b++) {
    for (let ci = 0; ci < c; ci++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          y[((b * channels + ci + before) * ho + i) * wo + j] =
            x[((b * c + ci) * h + i * stride) * w + j * stride];
        }
      }
    }
  }
  return y;
}

/**
 * Option-A shortcut backward: the transpose of {@link shortcutPadForward}.
 *
 * @param dy gradient of the output (N,F,ceil(H/s),ceil(W/s))
 * @param xShape [N,C,H,W] of the forward input
 * @param channels F
 * @param stride s
 * @returns dx (N,C,H,W)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shortcutPadBackward } from "./_reference_nn.ts";
 * assert.deepEqual(Array.from(shortcutPadBackward([5, 6, 7], [1, 1, 2, 2], 3, 2)), [6, 0, 0, 0]);
 * ```
 */
export function shortcutPadBackward(
  dy: Values,
  xShape: readonly number[],
  channels: number,
  stride: number,
): Float64Array {
  const [n, c, h, w] = dims4(xShape, "x");
  const ho = Math.ceil(h / stride);
  const wo = Math.ceil(w / stride);
  const before = Math.floor((channels - c) / 2);
  const dx = new Float64Array(n * c * h * w);
  for (let b = 0; b < n; b++) {
    for (let ci = 0; ci < c; ci++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          dx[((b * c + ci) * h + i * stride) * w + j * stride] =
            dy[((b * channels + ci + before) * ho + i) * wo + j];
        }
      }
    }
  }
  return dx;
}

/** Window of a max pool: square kernel, stride and padding (padded cells never win). */
export interface PoolGeometry {
  /** Window size (default 3). */
  kernel?: number;
  /** Step between windows (default 2). */
  stride?: number;
  /** Cells outside the input on every side (default 1). */
  padding?: number;
}

/**
 * Max pool forward. Ties go to the first maximum in row-major window order, as PyTorch.
 *
 * @param x input (N,C,H,W)
 * @param shape [N,C,H,W]
 * @returns y (N,C,Ho,Wo) and `argmax`, the winning input index within each (H,W) plane
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxPool2dForward } from "./_reference_nn.ts";
 * const { y, argmax } = maxPool2dForward([1, 5, 3, 2], [1, 1, 2, 2], { kernel: 2, padding: 0 });
 * assert.deepEqual([Array.from(y), Array.from(argmax)], [[5], [1]]);
 * ```
 */
export function maxPool2dForward(
  x: Values,
  shape: readonly number[],
  geometry: PoolGeometry = {},
): { y: Float64Array; argmax: Int32Array } {
  const [n, c, h, w] = dims4(shape, "x");
  const k = geometry.kernel ?? 3;
  const s = geometry.stride ?? 2;
  const p = geometry.padding ?? 1;
  const ho = convOutputSize(h, k, s, p);
  const wo = convOutputSize(w, k, s, p);
  const y = new Float64Array(n * c * ho * wo);
  const argmax = new Int32Array(n * c * ho * wo);
  for (let plane = 0; plane < n * c; plane++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        let best = -Infinity;
        let at = -1;
        for (let a = 0; a < k; a++) {
          const r = i * s - p + a;
          if (r < 0 || r >= h) continue;
          for (let b = 0; b < k; b++) {
            const col = j * s - p + b;
            if (col < 0 || col >= w) continue;
            const v = x[plane * h * w + r * w + col];
            if (v > best) {
              best = v;
              at = r * w + col;
            }
          }
        }
        y[(plane * ho + i) * wo + j] = best;
        argmax[(plane * ho + i) * wo + j] = at;
      }
    }
  }
  return { y, argmax };
}

/**
 * Max pool backward: each output's gradient goes to the input that won its window (summed where
 * windows overlap).
 *
 * @param dy gradient of the output (N,C,Ho,Wo)
 * @param argmax winners from {@link maxPool2dForward}
 * @param xShape [N,C,H,W] of the forward input
 * @returns dx (N,C,H,W)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxPool2dBackward } from "./_reference_nn.ts";
 * assert.deepEqual(Array.from(maxPool2dBackward([7], [1], [1, 1, 2, 2])), [0, 7, 0, 0]);
 * ```
 */
export function maxPool2dBackward(
  dy: Values,
  argmax: ArrayLike<number>,
  xShape: readonly number[],
): Float64Array {
  const [n, c, h, w] = dims4(xShape, "x");
  const perPlane = dy.length / (n * c);
  const dx = new Float64Array(n * c * h * w);
  for (let i = 0; i < dy.length; i++) {
    const plane = Math.floor(i / perPlane);
    dx[plane * h * w + argmax[i]] += dy[i];
  }
  return dx;
}
