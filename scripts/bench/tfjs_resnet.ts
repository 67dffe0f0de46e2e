/**
 * The tfjs-webgpu peer of the training benchmarks: any CIFAR- or ImageNet-style network of the
 * backbone table, built from the same plan as ltkit's (`planResNet`), in tfjs-core ops, NHWC,
 * trained with momentum SGD on one fixed batch. Convolution + batch norm (batch statistics, as
 * in training) per `ConvPlan`; the stem's max pool; option-A shortcuts as subsampling (a reshape
 * and a slice, since tfjs has no gradient for strided slices) and zero channels half before and
 * half after; option B as a 1x1 convolution + batch norm.
 *
 * Bench-only: the kit itself never imports tfjs.
 *
 * @module
 */

import { type ConvPlan, planResNet, type ResNetSpec } from "../../lib/nn/spec.ts";
import { median } from "./common.ts";
import type { FixedBatch } from "./train_step.ts";
import type { Tfjs } from "./tfjs.ts";

type Tf = Tfjs["tf"];
type Variable = ReturnType<Tf["variable"]>;
type Tensor4D = ReturnType<Tf["tensor4d"]>;
type Scalar = ReturnType<Tf["scalar"]>;

type GradConfig = Parameters<Tf["registerGradient"]>[0];
type TfTensor = ReturnType<Tf["tensor"]>;

/**
 * Registers, where missing, the gradients of the kernels the peer's step runs through. tfjs-core's
 * node entry registers no gradients (the `@tensorflow/tfjs` bundle does), and its
 * `dist/register_all_gradients.js` cannot load in Deno (extension-less ESM imports), so these are
 * tfjs-core 4.22.0's own gradient functions, ported with the same ops.
 */
function registerPeerGradients(tf: Tf): void {
  const bu = tf.backend_util;
  const engine = tf.engine();
  // Sums a broadcast gradient back to an input's shape.
  const unbroadcast = (g: TfTensor, shape: number[], out: number[]) => {
    const axes = bu.getReductionAxes(shape, out);
    return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape);
  };
  const saveAB = { inputsToSave: ["a", "b"] };
  const configs: GradConfig[] = [
    {
      kernelName: "Conv2D",
      inputsToSave: ["x", "filter"],
      gradFunc: (dy, [x, filter], attrs) => {
        const { strides, pad, dataFormat, dimRoundingMode } = attrs;
        const common = { strides, pad, dataFormat, dimRoundingMode };
        return {
          x: () =>
            engine.runKernel("Conv2DBackpropInput", { dy: dy as TfTensor, filter }, {
              ...common,
              inputShape: x.shape,
            }) as TfTensor,
          filter: () =>
            engine.runKernel("Conv2DBackpropFilter", { x, dy: dy as TfTensor }, {
              ...common,
              filterShape: filter.shape,
            }) as TfTensor,
        };
      },
    },
    {
      kernelName: "Add",
      ...saveAB,
      gradFunc: (dy, [a, b]) => {
        const out = bu.assertAndGetBroadcastShape(a.shape, b.shape);
        return {
          a: () => unbroadcast(dy as TfTensor, a.shape, out),
          b: () => unbroadcast(dy as TfTensor, b.shape, out),
        };
      },
    },
    {
      kernelName: "Sub",
      ...saveAB,
      gradFunc: (dy, [a, b]) => {
        const out = bu.assertAndGetBroadcastShape(a.shape, b.shape);
        return {
          a: () => unbroadcast(dy as TfTensor, a.shape, out),
          b: () => tf.neg(unbroadcast(dy as TfTensor, b.shape, out)),
        };
      },
    },
    {
      kernelName: "Multiply",
      ...saveAB,
      gradFunc: (dy, [a, b]) => {
        const out = bu.assertAndGetBroadcastShape(a.shape, b.shape);
        return {
          a: () => unbroadcast(tf.mul(dy as TfTensor, b), a.shape, out),
          b: () => unbroadcast(tf.mul(dy as TfTensor, a), b.shape, out),
        };
      },
    },
    {
      kernelName: "Mean",
      inputsToSave: ["x"],
      gradFunc: (dy, [x], attrs) => {
        const axes = tf.util.parseAxisParam(attrs.axis as number[], x.shape);
        const size = axes.reduce((n, axis) => n * x.shape[axis], 1);
        const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        return {
          x: () => tf.div(tf.mul(tf.reshape(dy as TfTensor, kept), tf.ones(x.shape)), size),
        };
      },
    },
    {
      kernelName: "Sum",
      inputsToSave: ["x"],
      gradFunc: (dy, [x], attrs) => {
        const axes = tf.util.parseAxisParam(attrs.axis as number[], x.shape);
        const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        return { x: () => tf.mul(tf.reshape(dy as TfTensor, kept), tf.ones(x.shape)) };
      },
    },
    {
      kernelName: "Reshape",
      inputsToSave: ["x"],
      gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as TfTensor, x.shape) }),
    },
    { kernelName: "Cast", gradFunc: (dy) => ({ x: () => (dy as TfTensor).clone() }) },
    { kernelName: "Identity", gradFunc: (dy) => ({ x: () => tf.cast(dy as TfTensor, "float32") }) },
    {
      kernelName: "Square",
      inputsToSave: ["x"],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as TfTensor, tf.mul(x, 2)) }),
    },
    {
      kernelName: "Rsqrt",
      inputsToSave: ["x"],
      gradFunc: (dy, [x]) => ({
        x: () => tf.neg(tf.div(dy as TfTensor, tf.mul(tf.pow(x, 1.5), 2))),
      }),
    },
    {
      kernelName: "Relu",
      inputsToSave: ["x"],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as TfTensor, tf.step(x)) }),
    },
    {
      kernelName: "BatchMatMul",
      ...saveAB,
      gradFunc: (dy, [a, b], attrs) => {
        if (attrs.transposeA || attrs.transposeB) {
          throw new Error("Cannot differentiate matMul: the peer uses no transposes");
        }
        return {
          a: () => tf.matMul(dy as TfTensor, b, false, true),
          b: () => tf.matMul(a, dy as TfTensor, true, false),
        };
      },
    },
    {
      kernelName: "MaxPool",
      inputsToSave: ["x"],
      outputsToSave: [true],
      gradFunc: (dy, [x, y], attrs) => {
        const { filterSize, strides, pad, dimRoundingMode } = attrs;
        return {
          x: () =>
            engine.runKernel("MaxPoolGrad", { dy: dy as TfTensor, input: x, output: y }, {
              filterSize,
              strides,
              pad,
              dimRoundingMode,
            }) as TfTensor,
        };
      },
    },
    {
      kernelName: "Slice",
      inputsToSave: ["x"],
      gradFunc: (dy, [x], attrs) => {
        const [begin, size] = tf.slice_util.parseSliceParams(
          x,
          attrs.begin as number[],
          attrs.size as number[],
        );
        const paddings = x.shape.map((d, i) =>
          [begin[i], d - begin[i] - size[i]] as [number, number]
        );
        return { x: () => tf.pad(dy as TfTensor, paddings) };
      },
    },
    {
      kernelName: "PadV2",
      inputsToSave: ["x"],
      gradFunc: (dy, [x], attrs) => {
        const begin = (attrs.paddings as [number, number][]).map((p) => p[0]);
        return { x: () => tf.slice(dy as TfTensor, begin, x.shape) };
      },
    },
  ];
  for (const config of configs) {
    if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
  }
}

/** What the peer measured. */
export interface TfjsSteps {
  imagesPerSecond: number;
  /** ms of each timed step (after one untimed, compiling step). */
  stepMs: number[];
  /** Loss of every step, the untimed one first. */
  losses: number[];
  /** Bytes of live tfjs tensors after the steps (its own allocation count). */
  gpuBytes: number;
}

/**
 * Why tfjs cannot train `spec` the way ltkit does, or null when it can: tfjs-core has no grouped
 * convolution (only depthwise), and the option-A subsampling here needs even sizes.
 */
export function tfjsUnsupported(spec: ResNetSpec): string | null {
  const plan = planResNet(spec);
  if ((spec.groups ?? 1) > 1) {
    return `tfjs-core has no grouped convolution (${spec.groups} groups; tf.conv2d takes none ` +
      "and tf.depthwiseConv2d only one channel per group)";
  }
  const odd = plan.blocks.find((b) =>
    b.shortcut === "pad" && b.stride > 1 && (b.input[1] % b.stride || b.input[2] % b.stride)
  );
  return odd ? `${odd.name}'s option-A subsampling needs sizes divisible by its stride` : null;
}

/**
 * Trains `spec` in tfjs on `batch` for one untimed step and `timedSteps` timed ones, each ended by
 * reading its loss back. Weights start as the spec's `init` says (tfjs's own generator, so not
 * ltkit's values); no weight decay and no running BN statistics (neither changes the work much).
 */
export async function timeTfjsResNet(
  tfjs: Tfjs,
  spec: ResNetSpec,
  batch: FixedBatch,
  timedSteps: number,
  lr: number,
): Promise<TfjsSteps> {
  const { tf } = tfjs;
  const unsupported = tfjsUnsupported(spec);
  if (unsupported) throw new RangeError(`Cannot build ${spec.name} in tfjs: ${unsupported}`);
  registerPeerGradients(tf);
  const plan = planResNet(spec);
  const size = batch.labels.length;
  const [c, h, w] = spec.input;
  const x = tf.tidy(() =>
    tf.transpose(tf.tensor4d(batch.images, [size, c, h, w]), [0, 2, 3, 1]) as Tensor4D
  );
  const y = tf.oneHot(tf.tensor1d(batch.labels, "int32"), spec.classes);
  const fanIn = spec.init === "fan-in";

  let seed = 1;
  const variables: Variable[] = [];
  const variable = (t: TfTensor) => {
    const v = tf.variable(t, true, `v${variables.length}`);
    t.dispose();
    variables.push(v);
    return v;
  };
  const convBn = (l: ConvPlan) => {
    const k = l.kernel;
    const fan = (fanIn ? l.cin / l.groups : l.cout) * k * k;
    return {
      // Kaiming normal; BN weight 1, bias 0.
      w: variable(tf.randomNormal([k, k, l.cin, l.cout], 0, Math.sqrt(2 / fan), "float32", seed++)),
      gamma: variable(tf.ones([l.cout])),
      beta: variable(tf.zeros([l.cout])),
      stride: l.stride,
      pad: l.padding,
      relu: l.relu,
    };
  };
  type ConvBn = ReturnType<typeof convBn>;
  const applyConvBn = (l: ConvBn, input: Tensor4D): Tensor4D => {
    const conv = tf.conv2d(input, l.w as unknown as Tensor4D, l.stride, l.pad);
    const { mean, variance } = tf.moments(conv, [0, 1, 2]);
    const norm = tf.add(
      tf.mul(tf.mul(tf.sub(conv, mean), tf.rsqrt(tf.add(variance, 1e-5))), l.gamma),
      l.beta,
    ) as Tensor4D;
    return l.relu ? tf.relu(norm) : norm;
  };
  // Option A: every stride-th pixel (a reshape and a slice), then zero channels on both sides.
  const padShortcut = (input: Tensor4D, stride: number, cout: number): Tensor4D => {
    const [b, ih, iw, cin] = input.shape;
    let sub = input;
    if (stride > 1) {
      const rows = tf.reshape(input, [b * (ih / stride), stride, iw / stride, stride * cin]);
      const kept = tf.slice(rows, [0, 0, 0, 0], [-1, 1, -1, cin]);
      sub = tf.reshape(kept, [b, ih / stride, iw / stride, cin]) as Tensor4D;
    }
    const before = Math.floor((cout - cin) / 2);
    return tf.pad(sub, [[0, 0], [0, 0], [0, 0], [before, cout - cin - before]]) as Tensor4D;
  };
  const stem = convBn(plan.stem);
  const blocks = plan.blocks.map((b) => ({
    main: b.main.map(convBn),
    shortcut: typeof b.shortcut === "string" ? b.shortcut : convBn(b.shortcut),
    stride: b.stride,
    cout: b.output[0],
  }));
  const bound = 1 / Math.sqrt(plan.feature);
  const fcW = variable(
    fanIn
      ? tf.randomNormal(
        [plan.feature, spec.classes],
        0,
        Math.sqrt(2 / plan.feature),
        "float32",
        seed++,
      )
      : tf.randomUniform([plan.feature, spec.classes], -bound, bound, "float32", seed++),
  );
  const fcB = variable(tf.randomUniform([spec.classes], -bound, bound, "float32", seed++));
  const loss = () => {
    let act = applyConvBn(stem, x);
    if (plan.pool) act = tf.maxPool(act, 3, 2, 1);
    for (const b of blocks) {
      const main = b.main.reduce((t, l) => applyConvBn(l, t), act);
      const short = b.shortcut === "identity"
        ? act
        : b.shortcut === "pad"
        ? padShortcut(act, b.stride, b.cout)
        : applyConvBn(b.shortcut, act);
      act = tf.relu(tf.add(main, short));
    }
    const logits = tf.add(tf.matMul(tf.mean(act, [1, 2]), fcW), fcB);
    // Per-row losses, then a plain mean (the default reduction divides by a count of weights).
    return tf.mean(
      tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.NONE),
    ) as Scalar;
  };
  const optimizer = tf.train.momentum(lr, 0.9);
  const losses: number[] = [];
  const stepMs: number[] = [];
  try {
    for (let i = 0; i < 1 + timedSteps; i++) {
      const start = performance.now();
      const value = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss, variables);
        // tfjs types the map as variables; applyGradients takes gradient tensors by name.
        optimizer.applyGradients(grads as unknown as Record<string, Variable>);
        return value;
      });
      losses.push((await value.data())[0]);
      value.dispose();
      if (i > 0) stepMs.push(performance.now() - start);
    }
    return {
      imagesPerSecond: size / (median(stepMs) / 1000),
      stepMs,
      losses,
      gpuBytes: tf.memory().numBytes,
    };
  } finally {
    optimizer.dispose();
    tf.dispose([x, y, ...variables]);
  }
}
