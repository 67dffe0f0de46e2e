/**
 * Plain-loop CPU references for kernels/classifier.wgsl, in float64: the GPU results are checked
 * against these. They use the logical layout, unpadded: features (N, D) row-major and a model as
 * W (C, D), b (C), f (C) with logits `f * (W x + b)`.
 *
 * @module
 */

/** A model in the logical layout (any numeric arrays). */
export interface ModelRef {
  weight: ArrayLike<number>;
  bias: ArrayLike<number>;
  scale: ArrayLike<number>;
}

/** `out[r, c] = f_c (W_c . x_r + b_c) + offset_c`, (N, C). */
export function logitsRef(
  x: ArrayLike<number>,
  dim: number,
  model: ModelRef,
  classes: number,
  offset?: ArrayLike<number>,
): Float64Array {
  const n = x.length / dim;
  const out = new Float64Array(n * classes);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < classes; c++) {
      let acc = 0;
      for (let k = 0; k < dim; k++) acc += model.weight[c * dim + k] * x[r * dim + k];
      acc += model.bias[c];
      out[r * classes + c] = model.scale[c] * acc + (offset?.[c] ?? 0);
    }
  }
  return out;
}

/** ||W_c|| for each row of a (C, D) weight matrix, (C). */
export function weightNormsRef(weight: ArrayLike<number>, classes: number, dim: number): number[] {
  const norms: number[] = [];
  for (let c = 0; c < classes; c++) {
    let acc = 0;
    for (let k = 0; k < dim; k++) acc += weight[c * dim + k] ** 2;
    norms.push(Math.sqrt(acc));
  }
  return norms;
}

/** The tau-normalised model: W_c ||W_c||^-tau (a zero row keeps scale 1), b = 0, f = 1. */
export function tauWeightsRef(
  model: ModelRef,
  classes: number,
  dim: number,
  tau: number,
): { weight: Float64Array; bias: Float64Array; scale: Float64Array } {
  const weight = new Float64Array(classes * dim);
  const norms = weightNormsRef(model.weight, classes, dim);
  for (let c = 0; c < classes; c++) {
    const s = norms[c] === 0 ? 1 : Math.pow(norms[c], -tau);
    for (let k = 0; k < dim; k++) weight[c * dim + k] = model.weight[c * dim + k] * s;
  }
  return { weight, bias: new Float64Array(classes), scale: new Float64Array(classes).fill(1) };
}

/**
 * The tau sweep, (T, N, C): `tau-norm` gives `(W_c . x) ||W_c||^-tau`; `logit-adjust` gives
 * `f_c (W_c . x + b_c) - tau * logPrior_c`.
 */
export function sweepRef(
  x: ArrayLike<number>,
  dim: number,
  model: ModelRef,
  classes: number,
  mode: "tau-norm" | "logit-adjust",
  taus: readonly number[],
  logPrior?: ArrayLike<number>,
): Float64Array {
  const n = x.length / dim;
  const out = new Float64Array(taus.length * n * classes);
  taus.forEach((tau, t) => {
    const logits = mode === "tau-norm"
      ? logitsRef(x, dim, tauWeightsRef(model, classes, dim, tau), classes)
      : logitsRef(x, dim, model, classes, Array.from(logPrior!, (v) => -tau * v));
    out.set(logits, t * n * classes);
  });
  return out;
}

/** `(x[r] - centre) / ||x[r] - centre||`, zero rows stay zero, (N, D). */
export function normalizeRowsRef(
  x: ArrayLike<number>,
  dim: number,
  centre?: ArrayLike<number>,
): Float64Array {
  const n = x.length / dim;
  const out = new Float64Array(n * dim);
  for (let r = 0; r < n; r++) {
    let acc = 0;
    for (let k = 0; k < dim; k++) acc += (x[r * dim + k] - (centre?.[k] ?? 0)) ** 2;
    const inv = acc === 0 ? 0 : 1 / Math.sqrt(acc);
    for (let k = 0; k < dim; k++) out[r * dim + k] = (x[r * dim + k] - (centre?.[k] ?? 0)) * inv;
  }
  return out;
}

/** Mean of each column, (D). */
export function columnMeanRef(x: ArrayLike<number>, dim: number): Float64Array {
  const n = x.length / dim;
  const out = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let k = 0; k < dim; k++) out[k] += x[r * dim + k];
  return out.map((v) => v / Math.max(n, 1));
}

/** Mean of the rows of each class (0 for an empty class), (C, D). */
export function classMeanRef(
  x: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
  classes: number,
): Float64Array {
  const out = new Float64Array(classes * dim);
  const counts = new Float64Array(classes);
  for (let r = 0; r < labels.length; r++) {
    counts[labels[r]]++;
    for (let k = 0; k < dim; k++) out[labels[r] * dim + k] += x[r * dim + k];
  }
  for (let c = 0; c < classes; c++) {
    for (let k = 0; k < dim; k++) out[c * dim + k] = counts[c] ? out[c * dim + k] / counts[c] : 0;
  }
  return out;
}

/**
 * NCM from the definition, independent of the kernels' linear rewriting. `cosine`: class means
 * of unit training features, normalised again, scored by cosine similarity with the test feature.
 * `l2`: features centred by the training mean then normalised, class means of those, scored by
 * minus the squared L2 distance. Returns scores (N_eval, C) and the class centres (C, D).
 */
export function ncmRef(
  trainX: ArrayLike<number>,
  trainLabels: ArrayLike<number>,
  evalX: ArrayLike<number>,
  dim: number,
  classes: number,
  mode: "cosine" | "l2",
): { scores: Float64Array; centres: Float64Array } {
  const centre = mode === "l2" ? columnMeanRef(trainX, dim) : undefined;
  const unitTrain = normalizeRowsRef(trainX, dim, centre);
  const means = classMeanRef(unitTrain, trainLabels, dim, classes);
  const centres = mode === "cosine" ? normalizeRowsRef(means, dim) : means;
  const unitEval = normalizeRowsRef(evalX, dim, centre);
  const n = evalX.length / dim;
  const scores = new Float64Array(n * classes);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < classes; c++) {
      let acc = 0;
      for (let k = 0; k < dim; k++) {
        const a = unitEval[r * dim + k];
        const b = centres[c * dim + k];
        acc += mode === "cosine" ? a * b : (a - b) ** 2;
      }
      scores[r * classes + c] = mode === "cosine" ? acc : -acc;
    }
  }
  return { scores, centres };
}

/** Settings of {@link trainRef}, mirroring the GPU training step. */
export interface TrainRefSpec {
  /** Training features, (N, D). */
  x: ArrayLike<number>;
  dim: number;
  classes: number;
  /** (row, label) pairs for every sample position of every epoch. */
  samples: ArrayLike<number>;
  /** Rate of each step, (S). */
  lr: ArrayLike<number>;
  /** Loss-only logit offset (C), or none. */
  offset?: ArrayLike<number>;
  /** The initial model. */
  model: ModelRef;
  epochLength: number;
  batch: number;
  mode: "crt" | "lws";
  momentum: number;
  weightDecay: number;
}

/**
 * SGD with momentum on softmax cross-entropy of `f (W x + b) + offset`, the GPU step's
 * definition: batches of B consecutive sample positions (the last of an epoch shorter), mean
 * loss, `g += wd * p; v = m v + g; p -= lr v`. Returns the final model and per-step mean loss.
 */
export function trainRef(spec: TrainRefSpec): { model: ModelRef; losses: Float64Array } {
  const { dim: d, classes: cc, batch, epochLength } = spec;
  // Packed as [W | b | f] here for the update loop.
  const model = new Float64Array(cc * d + 2 * cc);
  model.set(Array.from(spec.model.weight));
  model.set(Array.from(spec.model.bias), cc * d);
  model.set(Array.from(spec.model.scale), cc * d + cc);
  const velocity = new Float64Array(model.length);
  const perEpoch = Math.ceil(epochLength / batch);
  const steps = spec.lr.length;
  const losses = new Float64Array(steps);
  const cd = cc * d;
  for (let s = 0; s < steps; s++) {
    const epoch = Math.floor(s / perEpoch);
    const start = (s % perEpoch) * batch;
    const count = Math.min(batch, epochLength - start);
    const grad = new Float64Array(model.length);
    let lossSum = 0;
    for (let r = 0; r < count; r++) {
      const pos = epoch * epochLength + start + r;
      const row = spec.samples[2 * pos];
      const y = spec.samples[2 * pos + 1];
      const u = new Float64Array(cc);
      const a = new Float64Array(cc);
      for (let c = 0; c < cc; c++) {
        let acc = model[cd + c];
        for (let k = 0; k < d; k++) acc += model[c * d + k] * spec.x[row * d + k];
        u[c] = acc;
        a[c] = model[cd + cc + c] * acc + (spec.offset?.[c] ?? 0);
      }
      const top = Math.max(...a);
      let total = 0;
      for (let c = 0; c < cc; c++) total += Math.exp(a[c] - top);
      lossSum += top + Math.log(total) - a[y];
      for (let c = 0; c < cc; c++) {
        const dz = (Math.exp(a[c] - top) / total - (c === y ? 1 : 0)) / count;
        if (spec.mode === "crt") {
          const du = dz * model[cd + cc + c];
          for (let k = 0; k < d; k++) grad[c * d + k] += du * spec.x[row * d + k];
          grad[cd + c] += du;
        } else {
          grad[cd + cc + c] += dz * u[c];
        }
      }
    }
    losses[s] = lossSum / count;
    const [from, to] = spec.mode === "crt" ? [0, cd + cc] : [cd + cc, cd + 2 * cc];
    for (let i = from; i < to; i++) {
      const g = grad[i] + spec.weightDecay * model[i];
      velocity[i] = spec.momentum * velocity[i] + g;
      model[i] -= spec.lr[s] * velocity[i];
    }
  }
  return {
    model: {
      weight: model.subarray(0, cd),
      bias: model.subarray(cd, cd + cc),
      scale: model.subarray(cd + cc),
    },
    losses,
  };
}
