/**
 * A plain-loop CPU ResNet forward in float64, written independently of the GPU code and of the
 * network plan (it reads the description itself), used to check the GPU network end to end:
 * 3x3 or 7x7 stems, the stem max pool, basic and bottleneck blocks, grouped convolutions, and
 * option-A and option-B shortcuts. BN uses batch statistics (training mode) or the given
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

function conv(
  x: Act,
  weight: Float64Array,
  cout: number,
  k: number,
  stride: number,
  groups = 1,
): Act {
  const pad = Math.floor(k / 2);
  const cg = x.c / groups;
  const ho = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(x.n * cout * ho * wo);
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let sum = 0;
          const g = Math.floor(co / (cout / groups));
          for (let ci = g * cg; ci < (g + 1) * cg; ci++) {
            for (let ky = 0; ky < k; ky++) {
              const iy = oy * stride - pad + ky;
              if (iy < 0 || iy >= x.h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox * stride - pad + kx;
                if (ix < 0 || ix >= x.w) continue;
                sum += x.data[((n * x.c + ci) * x.h + iy) * x.w + ix] *
                  weight[((co * cg + ci - g * cg) * k + ky) * k + kx];
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

/** 3x3 stride-2 max pool, padding 1 (padding never wins). */
function maxPool(x: Act): Act {
  const ho = Math.floor((x.h - 1) / 2) + 1;
  const wo = Math.floor((x.w - 1) / 2) + 1;
  const out = new Float64Array(x.n * x.c * ho * wo);
  for (let plane = 0; plane < x.n * x.c; plane++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let best = -Infinity;
        for (let iy = 2 * oy - 1; iy <= 2 * oy + 1; iy++) {
          for (let ix = 2 * ox - 1; ix <= 2 * ox + 1; ix++) {
            if (iy >= 0 && iy < x.h && ix >= 0 && ix < x.w) {
              best = Math.max(best, x.data[(plane * x.h + iy) * x.w + ix]);
            }
          }
        }
        out[(plane * ho + oy) * wo + ox] = best;
      }
    }
  }
  return { ...x, data: out, h: ho, w: wo };
}

/** Option A: x[:, :, ::s, ::s] with zero channels, half in front, half behind. */
function padShortcut(x: Act, cout: number, stride: number): Act {
  const ho = Math.ceil(x.h / stride);
  const wo = Math.ceil(x.w / stride);
  const front = Math.floor((cout - x.c) / 2);
  const out = new Float64Array(x.n * cout * ho * wo);
  for (let n = 0; n < x.n; n++) {
    for (let c = 0; c < x.c; c++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          out[((n * cout + c + front) * ho + oy) * wo + ox] =
            x.data[((n * x.c + c) * x.h + oy * stride) * x.w + ox * stride];
        }
      }
    }
  }
  return { data: out, n: x.n, c: cout, h: ho, w: wo };
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
  const convBn = (x: Act, name: string, cout: number, k: number, stride: number, groups = 1) => {
    const y = conv(x, get(`${name}.conv.weight`), cout, k, stride, groups);
    const running = mode === "eval"
      ? { mean: get(`${name}.bn.running_mean`), variance: get(`${name}.bn.running_var`) }
      : null;
    return batchNorm(y, get(`${name}.bn.weight`), get(`${name}.bn.bias`), running, eps);
  };
  const [c, h, w] = spec.input;
  const n = labels.length;
  let x: Act = { data: Float64Array.from(input), n, c, h, w };
  x = relu(convBn(x, "stem", spec.stem, spec.stemKernel ?? 3, spec.stemStride ?? 1));
  if (spec.stemPool) x = maxPool(x);
  let cin = spec.stem;
  for (const [si, stage] of spec.stages.entries()) {
    for (let bi = 0; bi < stage.blocks; bi++) {
      const name = `stage${si + 1}.block${bi + 1}`;
      const stride = bi === 0 ? stage.stride : 1;
      let b: Act;
      if (spec.block === "bottleneck") {
        const inner = stage.inner!;
        const a1 = relu(convBn(x, `${name}.1`, inner, 1, 1));
        const a2 = relu(convBn(a1, `${name}.2`, inner, 3, stride, spec.groups ?? 1));
        b = convBn(a2, `${name}.3`, stage.channels, 1, 1);
      } else {
        const a = relu(convBn(x, `${name}.1`, stage.channels, 3, stride));
        b = convBn(a, `${name}.2`, stage.channels, 3, 1);
      }
      const reshape = stride !== 1 || cin !== stage.channels;
      const short = !reshape
        ? x
        : spec.shortcut === "A"
        ? padShortcut(x, stage.channels, stride)
        : convBn(x, `${name}.shortcut`, stage.channels, 1, stride);
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
