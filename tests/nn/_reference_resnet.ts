/**
 * A plain-loop CPU ResNet forward in float64, written independently of the GPU code, used to
 * check the GPU network end to end. BN uses batch statistics (training mode) or the given
 * running statistics (evaluation mode).
 */

import type { ResNetSpec } from "../../lib/nn/spec.ts";

type Params = Map<string, Float64Array>;

interface Act {
  data: Float64Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

function conv(x: Act, weight: Float64Array, cout: number, k: number, stride: number): Act {
  const pad = Math.floor(k / 2);
  const ho = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(x.n * cout * ho * wo);
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let sum = 0;
          for (let ci = 0; ci < x.c; ci++) {
            for (let ky = 0; ky < k; ky++) {
              const iy = oy * stride - pad + ky;
              if (iy < 0 || iy >= x.h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox * stride - pad + kx;
                if (ix < 0 || ix >= x.w) continue;
                sum += x.data[((n * x.c + ci) * x.h + iy) * x.w + ix] *
                  weight[((co * x.c + ci) * k + ky) * k + kx];
              }
            }
          }
          out[((n * cout + co) * ho + oy) * wo + ox] = sum;
        }
      }
    }
  }
  return { data: out, n: x.n, c: cout, h: ho, w: wo };
}

function batchNorm(
  x: Act,
  gamma: Float64Array,
  beta: Float64Array,
  running: { mean: Float64Array; variance: Float64Array } | null,
  eps: number,
): Act {
  const out = new Float64Array(x.data.length);
  const hw = x.h * x.w;
  const count = x.n * hw;
  for (let c = 0; c < x.c; c++) {
    let mean: number, variance: number;
    if (running) {
      mean = running.mean[c];
      variance = running.variance[c];
    } else {
      let s = 0;
      for (let n = 0; n < x.n; n++) {
        for (let i = 0; i < hw; i++) s += x.data[(n * x.c + c) * hw + i];
      }
      mean = s / count;
      let v = 0;
      for (let n = 0; n < x.n; n++) {
        for (let i = 0; i < hw; i++) v += (x.data[(n * x.c + c) * hw + i] - mean) ** 2;
      }
      variance = v / count;
    }
    const inv = 1 / Math.sqrt(variance + eps);
    for (let n = 0; n < x.n; n++) {
      for (let i = 0; i < hw; i++) {
        const j = (n * x.c + c) * hw + i;
        out[j] = gamma[c] * (x.data[j] - mean) * inv + beta[c];
      }
    }
  }
  return { ...x, data: out };
}

const relu = (x: Act): Act => ({ ...x, data: x.data.map((v) => Math.max(v, 0)) });
const add = (a: Act, b: Act): Act => ({ ...a, data: a.data.map((v, i) => v + b.data[i]) });

/** Forward to logits and mean cross-entropy loss. */
export function referenceForward(
  spec: ResNetSpec,
  params: Params,
  input: Float32Array,
  labels: Int32Array,
  mode: "train" | "eval",
  state: Params = new Map(),
  eps = 1e-5,
): { features: Float64Array; logits: Float64Array; loss: number } {
  const get = (name: string) => {
    const p = params.get(name) ?? state.get(name);
    if (!p) throw new Error(`reference: no parameter ${name}`);
    return p;
  };
  const convBn = (x: Act, name: string, cout: number, k: number, stride: number) => {
    const y = conv(x, get(`${name}.conv.weight`), cout, k, stride);
    const running = mode === "eval"
      ? { mean: get(`${name}.bn.running_mean`), variance: get(`${name}.bn.running_var`) }
      : null;
    return batchNorm(y, get(`${name}.bn.weight`), get(`${name}.bn.bias`), running, eps);
  };
  const [c, h, w] = spec.input;
  const n = labels.length;
  let x: Act = { data: Float64Array.from(input), n, c, h, w };
  x = relu(convBn(x, "stem", spec.stem, 3, 1));
  let cin = spec.stem;
  for (const [si, stage] of spec.stages.entries()) {
    for (let bi = 0; bi < stage.blocks; bi++) {
      const name = `stage${si + 1}.block${bi + 1}`;
      const stride = bi === 0 ? stage.stride : 1;
      const a = relu(convBn(x, `${name}.1`, stage.channels, 3, stride));
      const b = convBn(a, `${name}.2`, stage.channels, 3, 1);
      const short = stride !== 1 || cin !== stage.channels
        ? convBn(x, `${name}.shortcut`, stage.channels, 1, stride)
        : x;
      x = relu(add(b, short));
      cin = stage.channels;
    }
  }
  const hw = x.h * x.w;
  const features = new Float64Array(n * x.c);
  for (let i = 0; i < n * x.c; i++) {
    let s = 0;
    for (let j = 0; j < hw; j++) s += x.data[i * hw + j];
    features[i] = s / hw;
  }
  const weight = get("fc.weight");
  const bias = get("fc.bias");
  const k = spec.classes;
  const logits = new Float64Array(n * k);
  let loss = 0;
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) {
      let s = bias[j];
      for (let f = 0; f < x.c; f++) s += features[r * x.c + f] * weight[j * x.c + f];
      logits[r * k + j] = s;
      max = Math.max(max, s);
    }
    let z = 0;
    for (let j = 0; j < k; j++) z += Math.exp(logits[r * k + j] - max);
    loss += Math.log(z) + max - logits[r * k + labels[r]];
  }
  return { features, logits, loss: loss / n };
}
