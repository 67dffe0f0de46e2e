/**
 * A ResNet on the GPU with an explicit per-layer backward. Every parameter, activation, gradient
 * and optimizer buffer is allocated once, at construction, for a fixed batch size; a training
 * step is a {@link Sequence} of prepared dispatches that is recorded again each step. The layers
 * come from the description's plan ({@link planResNet}): 3x3 or 7x7 stems with an optional max
 * pool, basic or (grouped) bottleneck blocks, option-A (zero-pad) or option-B (1x1 conv)
 * shortcuts.
 *
 * Shapes, with B the batch: input (B,C,H,W) f32, labels (B) i32, features (B,F) f32,
 * logits (B,K) f32. Parameters: conv weights (Cout,Cin/groups,KH,KW), BN gamma/beta (C), linear
 * weight (K,F) and bias (K).
 *
 * @module
 */

import type { Rng } from "../data/rng.ts";
import type { Gpu } from "../gpu/device.ts";
import { describeWork, type Recordable, Sequence } from "../gpu/kernel.ts";
import { Tensor } from "../gpu/tensor.ts";
import {
  prepareBatchNormBackward,
  prepareBatchNormEvalForward,
  prepareBatchNormTrainForward,
} from "../ops/batchnorm.ts";
import {
  prepareGroupedConv2dBackwardInput,
  prepareGroupedConv2dBackwardWeight,
  prepareGroupedConv2dForward,
} from "../ops/conv2d_grouped.ts";
import { prepareAddRelu, prepareReluBackward } from "../ops/elementwise.ts";
import { prepareGemm } from "../ops/gemm.ts";
import {
  prepareGlobalAvgPoolBackward,
  prepareGlobalAvgPoolForward,
  prepareMaxPool2dBackward,
  prepareMaxPool2dForward,
} from "../ops/pool.ts";
import { prepareColSum } from "../ops/reduce.ts";
import { prepareShortcutPadBackward, prepareShortcutPadForward } from "../ops/shortcut.ts";
import { prepareCrossEntropyBackward, prepareCrossEntropyForward } from "../ops/softmax.ts";
import { assertBatchFits } from "./memory.ts";
import { type ConvPlan, featureDim, planResNet, type ResNetSpec } from "./spec.ts";

/**
 * A trainable parameter with its gradient and SGD velocity.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { ResNet, resnet } from "./mod.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const net = await ResNet.create(gpu, resnet("tiny", [1, 4, 4], 2, [2], 1, 2), { batch: 2 });
 * const stem: Param = net.params[0];
 * assert.equal(stem.name, "stem.conv.weight");
 * assert.deepEqual(stem.value.shape, [2, 1, 3, 3]);
 * assert.equal(stem.init.kind, "kaiming-normal-fan-out");
 * net.destroy();
 * gpu.destroy();
 * ```
 */
export interface Param {
  /** Dotted name, e.g. `stage1.block1.1.conv.weight`; checkpoints store tensors by it. */
  readonly name: string;
  /** The parameter. */
  readonly value: Tensor;
  /** Its gradient, same shape; overwritten by every training step. */
  readonly grad: Tensor;
  /** Its SGD momentum buffer, same shape. */
  readonly velocity: Tensor;
  /** How to initialise it. */
  readonly init: ParamInit;
}

/**
 * Initialisation rules: the recipe's, and Kaiming-normal with fan_in for `init: "fan-in"` specs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ParamInit } from "./resnet.ts";
 * const rules: ParamInit[] = [
 *   { kind: "kaiming-normal-fan-out", fanOut: 16 * 3 * 3 }, // conv weights
 *   { kind: "constant", value: 1 }, // BN gamma
 *   { kind: "uniform", bound: 1 / Math.sqrt(64) }, // linear layer
 * ];
 * assert.deepEqual(rules.map((r) => r.kind), ["kaiming-normal-fan-out", "constant", "uniform"]);
 * ```
 */
export type ParamInit =
  | { kind: "kaiming-normal-fan-out"; fanOut: number }
  | { kind: "kaiming-normal-fan-in"; fanIn: number }
  | { kind: "constant"; value: number }
  | { kind: "uniform"; bound: number };

/**
 * A non-trainable state tensor (BN running statistics).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet, ResNet } from "./mod.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const net = await ResNet.create(gpu, resnet("tiny", [1, 4, 4], 2, [2], 1, 2), { batch: 2 });
 * const runningVar: StateBuffer = net.state[1];
 * assert.equal(runningVar.name, "stem.bn.running_var");
 * assert.equal(runningVar.initial, 1);
 * net.destroy();
 * gpu.destroy();
 * ```
 */
export interface StateBuffer {
  /** Dotted name, e.g. `stem.bn.running_mean`. */
  readonly name: string;
  /** The values. */
  readonly value: Tensor;
  /** The value {@link ResNet.initialize} fills it with. */
  readonly initial: number;
}

/**
 * Options of {@link ResNet.create}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ResNetOptions } from "./resnet.ts";
 * const options: ResNetOptions = { batch: 128, bnMomentum: 0.1, bnEps: 1e-5 };
 * assert.equal(options.batch, 128);
 * ```
 */
export interface ResNetOptions {
  /** Batch size the buffers are allocated for. */
  batch: number;
  /** BN running-average momentum (PyTorch convention, default 0.1). */
  bnMomentum?: number;
  /** BN epsilon (default 1e-5). */
  bnEps?: number;
  /**
   * Multiplies the loss gradient (default 1). A micro-batch of m images of a B-image step uses
   * m / B, so that the micro-batches' gradients sum to the gradient of the step's mean loss.
   */
  lossScale?: number;
}

interface ConvBn {
  plan: ConvPlan;
  conv: Param;
  gamma: Param;
  beta: Param;
  runningMean: StateBuffer;
  runningVar: StateBuffer;
  mean: Tensor;
  invStd: Tensor;
  /** Conv output (B,Cout,Ho,Wo), kept for BN backward. */
  pre: Tensor;
  /** BN output (B,Cout,Ho,Wo), after the ReLU where one is fused. */
  out: Tensor;
}

const SHAPE = (t: Tensor) => t.shape as number[];

/** The layer's name for timing tables: `stage1.block1.1` of `stage1.block1.1.conv.weight`. */
const layerName = (l: ConvBn) => l.conv.name.replace(/\.conv\.weight$/, "");

/** FLOPs of the convolution (each of its three passes): 2 per multiply-add. */
const convFlops = (l: ConvBn) => 2 * l.pre.size * (l.conv.value.size / l.conv.value.shape[0]);

/**
 * ResNet with prepared forward (train and eval), loss, backward and parameter lists.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../data/rng.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet, ResNet } from "./mod.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const spec = resnet("tiny", [1, 8, 8], 4, [4, 8], 1, 3); // a tiny ResNet, for speed
 * const net = await ResNet.create(gpu, spec, { batch: 2 });
 * net.initialize(new Rng(0));
 * net.input.write(new Float32Array(net.input.size).fill(0.5));
 * net.labels.write([0, 2]);
 * net.resetMetrics();
 * net.trainStep.record(); // forward, loss, backward: gradients in net.params[i].grad
 * await gpu.sync();
 * const [loss] = await net.lossSum.read();
 * assert.equal(Number.isFinite(loss), true);
 * assert.equal(net.parameterCount, 1319);
 * net.evalForward.record();
 * assert.equal((await net.logits.read()).length, 6);
 * net.destroy();
 * gpu.destroy();
 * ```
 */
export class ResNet {
  /** The device everything lives on. */
  readonly gpu: Gpu;
  /** The network description. */
  readonly spec: ResNetSpec;
  /** Batch size every buffer is allocated for. */
  readonly batch: number;
  /** Trainable parameters, in forward order (stem, stages, linear head). */
  readonly params: Param[] = [];
  /** BN running statistics. */
  readonly state: StateBuffer[] = [];
  /** (B,C,H,W) f32 images; write a batch here before recording a step. */
  readonly input: Tensor;
  /** (B) i32 labels; write them here before recording a training step. */
  readonly labels: Tensor;
  /** (B,F) f32 pooled features, the input of the linear head. */
  readonly features: Tensor;
  /** (B,K) f32 logits. */
  readonly logits: Tensor;
  /** (B) per-row loss of the last forward. */
  readonly rowLoss: Tensor;
  /** (1) mean loss, accumulated over steps until {@link resetMetrics}. */
  readonly lossSum: Tensor;
  /** (1) u32 correct predictions, accumulated over steps until {@link resetMetrics}. */
  readonly correct: Tensor;
  /** Training forward + loss + backward (gradients overwritten). */
  trainStep!: Sequence;
  /** Evaluation forward (running BN statistics) up to logits. */
  evalForward!: Sequence;
  readonly #owned: Tensor[] = [];
  readonly #options: Required<ResNetOptions>;

  private constructor(gpu: Gpu, spec: ResNetSpec, options: ResNetOptions) {
    planResNet(spec); // validates
    if (!Number.isInteger(options.batch) || options.batch < 1) {
      throw new RangeError(`Cannot build ${spec.name}: batch is ${options.batch}; it must be >= 1`);
    }
    // Refuse a batch whose tensors cannot be allocated before allocating any of them.
    assertBatchFits(spec, options.batch, { maxTensorBytes: gpu.maxTensorBytes });
    this.gpu = gpu;
    this.spec = spec;
    this.batch = options.batch;
    this.#options = { bnMomentum: 0.1, bnEps: 1e-5, lossScale: 1, ...options };
    const b = options.batch;
    this.input = this.#tensor([b, ...spec.input], "input");
    this.labels = this.#tensor([b], "labels", "i32");
    this.features = this.#tensor([b, featureDim(spec)], "features");
    this.logits = this.#tensor([b, spec.classes], "logits");
    this.rowLoss = this.#tensor([b], "row loss");
    this.lossSum = this.#tensor([1], "loss sum");
    this.correct = this.#tensor([1], "correct", "u32");
  }

  /** Allocates everything and prepares the step sequences. */
  static async create(gpu: Gpu, spec: ResNetSpec, options: ResNetOptions): Promise<ResNet> {
    const net = new ResNet(gpu, spec, options);
    try {
      await net.#build();
    } catch (error) {
      net.destroy();
      throw error;
    }
    return net;
  }

  /** Number of trainable values. */
  get parameterCount(): number {
    return this.params.reduce((n, p) => n + p.value.size, 0);
  }

  /** Initialises parameters (recipe rules), velocities and BN running statistics. */
  initialize(rng: Rng): void {
    for (const p of this.params) {
      const data = new Float32Array(p.value.size);
      const init = p.init;
      if (init.kind === "kaiming-normal-fan-out" || init.kind === "kaiming-normal-fan-in") {
        const std = Math.sqrt(
          2 / (init.kind === "kaiming-normal-fan-in" ? init.fanIn : init.fanOut),
        );
        for (let i = 0; i < data.length; i++) data[i] = rng.normal(0, std);
      } else if (init.kind === "uniform") {
        for (let i = 0; i < data.length; i++) {
          data[i] = (rng.nextFloat() * 2 - 1) * init.bound;
        }
      } else {
        data.fill(init.value);
      }
      p.value.write(data);
      p.velocity.write(new Float32Array(p.velocity.size));
    }
    for (const s of this.state) s.value.write(new Float32Array(s.value.size).fill(s.initial));
  }

  /** Zeroes the accumulated loss and correct count (before the next recorded step). */
  resetMetrics(): void {
    this.lossSum.write(new Float32Array(1));
    this.correct.write(new Uint32Array(1));
  }

  /** Frees every buffer. */
  destroy(): void {
    // The two passes share their convolutions, pooling and linear layer: free each op once.
    const ops = new Set([...(this.trainStep?.items ?? []), ...(this.evalForward?.items ?? [])]);
    for (const op of ops) op.destroy();
    for (const t of this.#owned) t.destroy();
  }

  #tensor(shape: number[], label: string, dtype: "f32" | "i32" | "u32" = "f32"): Tensor {
    const t = Tensor.zeros(this.gpu, shape, dtype, label);
    this.#owned.push(t);
    return t;
  }

  #param(name: string, shape: number[], init: ParamInit): Param {
    const p: Param = {
      name,
      value: this.#tensor(shape, name),
      grad: this.#tensor(shape, `${name}.grad`),
      velocity: this.#tensor(shape, `${name}.velocity`),
      init,
    };
    this.params.push(p);
    return p;
  }

  #stateBuffer(name: string, size: number, initial: number): StateBuffer {
    const s = { name, value: this.#tensor([size], name), initial };
    this.state.push(s);
    return s;
  }

  #convBn(plan: ConvPlan): ConvBn {
    const { name, cin, cout, kernel, groups } = plan;
    const shape = [this.batch, cout, ...plan.output];
    return {
      plan,
      conv: this.#param(
        `${name}.conv.weight`,
        [cout, cin / groups, kernel, kernel],
        this.spec.init === "fan-in"
          ? { kind: "kaiming-normal-fan-in", fanIn: (cin / groups) * kernel * kernel }
          : { kind: "kaiming-normal-fan-out", fanOut: cout * kernel * kernel },
      ),
      gamma: this.#param(`${name}.bn.weight`, [cout], { kind: "constant", value: 1 }),
      beta: this.#param(`${name}.bn.bias`, [cout], { kind: "constant", value: 0 }),
      runningMean: this.#stateBuffer(`${name}.bn.running_mean`, cout, 0),
      runningVar: this.#stateBuffer(`${name}.bn.running_var`, cout, 1),
      mean: this.#tensor([cout], `${name}.bn.mean`),
      invStd: this.#tensor([cout], `${name}.bn.inv_std`),
      pre: this.#tensor(shape, `${name}.conv.out`),
      out: this.#tensor(shape, `${name}.bn.out`),
    };
  }

  /**
   * Appends conv + BN to both forward passes. The convolution is one prepared op shared by the
   * training and evaluation passes; only BN differs (batch against running statistics).
   */
  async #convBnForward(
    l: ConvBn,
    x: Tensor,
    relu: boolean,
    forwardTrain: Recordable[],
    forwardEval: Recordable[],
  ): Promise<void> {
    const gpu = this.gpu;
    const { bnMomentum: momentum, bnEps: eps } = this.#options;
    const { stride, padding, groups } = l.plan;
    const conv = await prepareGroupedConv2dForward(gpu, {
      x,
      w: l.conv.value,
      y: l.pre,
      stride,
      padding,
      groups,
    });
    const common = {
      x: l.pre,
      gamma: l.gamma.value,
      beta: l.beta.value,
      y: l.out,
      runningMean: l.runningMean.value,
      runningVar: l.runningVar.value,
      eps,
      relu,
    };
    forwardTrain.push(
      conv,
      await prepareBatchNormTrainForward(gpu, {
        ...common,
        mean: l.mean,
        invStd: l.invStd,
        momentum,
      }),
    );
    forwardEval.push(conv, await prepareBatchNormEvalForward(gpu, common));
    describeWork(conv, { layer: layerName(l), flops: convFlops(l) });
    describeWork(forwardTrain.at(-1)!, { layer: layerName(l) });
    describeWork(forwardEval.at(-1)!, { layer: layerName(l) });
  }

  /**
   * Backward through (ReLU,) BN and conv. `dOut` is the gradient at the layer's output (after
   * the fused ReLU when `relu`); `dPre` is scratch for the conv-output gradient; the input
   * gradient goes to `dx` (added to it with `accumulate`), or nowhere when `dx` is null.
   */
  async #convBnBackward(
    l: ConvBn,
    x: Tensor,
    dOut: Tensor,
    dPre: Tensor,
    dx: Tensor | null,
    relu: boolean,
    accumulate = false,
  ): Promise<Recordable[]> {
    const gpu = this.gpu;
    const { stride, padding, groups } = l.plan;
    const work: Recordable[] = [
      await prepareBatchNormBackward(gpu, {
        x: l.pre,
        dy: dOut,
        gamma: l.gamma.value,
        mean: l.mean,
        invStd: l.invStd,
        dx: dPre,
        dgamma: l.gamma.grad,
        dbeta: l.beta.grad,
        reluOutput: relu ? l.out : undefined,
      }),
      await prepareGroupedConv2dBackwardWeight(gpu, {
        x,
        dy: dPre,
        dw: l.conv.grad,
        stride,
        padding,
        groups,
      }),
    ];
    if (dx !== null) {
      work.push(
        await prepareGroupedConv2dBackwardInput(gpu, {
          dy: dPre,
          w: l.conv.value,
          dx,
          stride,
          padding,
          groups,
          accumulate,
        }),
      );
    }
    // BN backward first, then the convolution's passes.
    for (const [i, w] of work.entries()) {
      describeWork(w, { layer: layerName(l), flops: i === 0 ? 0 : convFlops(l) });
    }
    return work;
  }

  async #build(): Promise<void> {
    const gpu = this.gpu;
    const spec = this.spec;
    const forwardTrain: Recordable[] = [];
    const forwardEval: Recordable[] = [];
    const convBn = (l: ConvBn, x: Tensor, relu: boolean) =>
      this.#convBnForward(l, x, relu, forwardTrain, forwardEval);

    // Forward. The stem and every conv of a block but the last fuse their ReLU into BN.
    const plan = planResNet(spec);
    const both = (op: Recordable) => {
      forwardTrain.push(op);
      forwardEval.push(op);
    };
    const stem = this.#convBn(plan.stem);
    await convBn(stem, this.input, true);
    let x = stem.out;
    let maxPool: { argmax: Tensor } | null = null;
    if (plan.pool) {
      const shape = [this.batch, spec.stem, ...plan.pool.output];
      const pooled = this.#tensor(shape, "stem.pool.out");
      maxPool = { argmax: this.#tensor(shape, "stem.pool.argmax", "u32") };
      const pool = await prepareMaxPool2dForward(gpu, { x, y: pooled, argmax: maxPool.argmax });
      describeWork(pool, { layer: "stem.pool" });
      both(pool);
      x = pooled;
    }
    const blocks: Block[] = [];
    for (const bp of plan.blocks) {
      const main = bp.main.map((c) => this.#convBn(c));
      const short = typeof bp.shortcut === "string" ? null : this.#convBn(bp.shortcut);
      const last = main[main.length - 1];
      const out = this.#tensor(SHAPE(last.out), `${bp.name}.out`);
      let input = x;
      for (const l of main) {
        await convBn(l, input, l.plan.relu);
        input = l.out;
      }
      let carried = x;
      if (short) {
        await convBn(short, x, false);
        carried = short.out;
      } else if (bp.shortcut === "pad") {
        carried = this.#tensor(SHAPE(out), `${bp.name}.shortcut.out`);
        const pad = await prepareShortcutPadForward(gpu, { x, y: carried, stride: bp.stride });
        describeWork(pad, { layer: `${bp.name}.shortcut` });
        both(pad);
      }
      const residual = await prepareAddRelu(gpu, last.out, carried, out);
      describeWork(residual, { layer: bp.name });
      both(residual);
      blocks.push({ x, main, short, pad: bp.shortcut === "pad", stride: bp.stride, out });
      x = out;
    }

    // Head: global average pool, linear, cross-entropy.
    const f = featureDim(spec);
    const weight = this.#param(
      "fc.weight",
      [spec.classes, f],
      spec.init === "fan-in"
        ? { kind: "kaiming-normal-fan-in", fanIn: f }
        : { kind: "uniform", bound: 1 / Math.sqrt(f) },
    );
    const bias = this.#param("fc.bias", [spec.classes], {
      kind: "uniform",
      bound: 1 / Math.sqrt(f),
    });
    const pool = await prepareGlobalAvgPoolForward(gpu, { x, y: this.features });
    const linear = await prepareGemm(gpu, {
      a: this.features,
      b: weight.value,
      c: this.logits,
      bias: bias.value,
      transB: true,
    });
    const linearFlops = 2 * this.batch * f * spec.classes;
    describeWork(pool, { layer: "head" });
    describeWork(linear, { layer: "head", flops: linearFlops });
    forwardTrain.push(pool, linear);
    forwardEval.push(pool, linear);
    const loss = await prepareCrossEntropyForward(gpu, this.logits, this.labels, {
      loss: this.rowLoss,
      meanLoss: this.lossSum,
      correct: this.correct,
    }, { accumulate: true });

    // Backward, head first. Gradient buffers are scratch shared by every layer of a shape;
    // `scratch(like, busy)` hands out one that holds nothing still needed.
    const pools = new Map<string, Tensor[]>();
    const scratch = (like: Tensor, busy: Tensor[]): Tensor => {
      const key = like.shape.join("x");
      let list = pools.get(key);
      if (!list) pools.set(key, list = []);
      const free = list.find((t) => !busy.includes(t));
      if (free) return free;
      const t = this.#tensor(SHAPE(like), `grad ${key}#${list.length}`);
      list.push(t);
      return t;
    };
    const dLogits = this.#tensor(SHAPE(this.logits), "logits.grad");
    const dFeatures = this.#tensor(SHAPE(this.features), "features.grad");
    let dOut = scratch(x, []);
    const backward: Recordable[] = [
      (await prepareCrossEntropyBackward(gpu, this.logits, this.labels, dLogits, {
        scale: this.#options.lossScale,
      })).dispatch,
      // dW = dLogits^T (K,B) x features (B,F); db = column sums; dFeatures = dLogits x W.
      await prepareGemm(gpu, { a: dLogits, b: this.features, c: weight.grad, transA: true }),
      await prepareColSum(gpu, dLogits, bias.grad),
      await prepareGemm(gpu, { a: dLogits, b: weight.value, c: dFeatures }),
      await prepareGlobalAvgPoolBackward(gpu, { dy: dFeatures, dx: dOut }),
    ];
    describeWork(loss, { layer: "head" });
    for (const [i, w] of backward.entries()) {
      describeWork(w, { layer: "head", flops: i === 1 || i === 3 ? linearFlops : 0 });
    }
    for (const { x, main, short, pad, stride, out } of blocks.reverse()) {
      const dSum = scratch(out, [dOut]);
      backward.push(await prepareReluBackward(gpu, out, dOut, dSum));
      describeWork(backward.at(-1)!, { layer: out.label.replace(/\.out$/, "") });
      // Main path, last conv first; dA is the gradient at the output of conv i.
      let dA = dSum;
      for (let i = main.length - 1; i >= 1; i--) {
        const l = main[i];
        const dPre = scratch(l.out, [dSum, dA]);
        const dPrev = scratch(main[i - 1].out, [dSum, dA, dPre]);
        backward.push(
          ...(await this.#convBnBackward(l, main[i - 1].out, dA, dPre, dPrev, l.plan.relu)),
        );
        dA = dPrev;
      }
      const first = main[0];
      const dPre0 = scratch(first.out, [dSum, dA]);
      if (short || pad) {
        // The shortcut's input gradient lands in dx; the main path adds to it.
        const dx = scratch(x, [dSum, dA, dPre0]);
        if (short) {
          const dPreShort = scratch(out, [dSum, dA, dPre0]);
          backward.push(...(await this.#convBnBackward(short, x, dSum, dPreShort, dx, false)));
        } else {
          backward.push(await prepareShortcutPadBackward(gpu, { dy: dSum, dx, stride }));
          describeWork(backward.at(-1)!, { layer: `${out.label.replace(/\.out$/, "")}.shortcut` });
        }
        backward.push(...(await this.#convBnBackward(first, x, dA, dPre0, dx, true, true)));
        dOut = dx;
      } else {
        // Identity shortcut: dx = dSum + the main path, accumulated into dSum once BN is done.
        backward.push(...(await this.#convBnBackward(first, x, dA, dPre0, dSum, true, true)));
        dOut = dSum;
      }
    }
    if (maxPool) {
      const dStem = scratch(stem.out, [dOut]);
      backward.push(
        await prepareMaxPool2dBackward(gpu, { dy: dOut, argmax: maxPool.argmax, dx: dStem }),
      );
      describeWork(backward.at(-1)!, { layer: "stem.pool" });
      dOut = dStem;
    }
    backward.push(
      ...(await this.#convBnBackward(
        stem,
        this.input,
        dOut,
        scratch(stem.out, [dOut]),
        null,
        true,
      )),
    );

    this.trainStep = new Sequence([...forwardTrain, loss, ...backward]);
    this.evalForward = new Sequence(forwardEval);
  }
}

interface Block {
  /** Block input (B,C,H,W). */
  x: Tensor;
  /** The main path's conv + BN layers, in forward order. */
  main: ConvBn[];
  /** The option-B shortcut's conv + BN, if the block has one. */
  short: ConvBn | null;
  /** Whether the shortcut is option A (subsample and zero-pad). */
  pad: boolean;
  /** The block's stride. */
  stride: number;
  /** Block output (B,F,Ho,Wo), after the ReLU. */
  out: Tensor;
}
