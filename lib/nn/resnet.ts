/**
 * A ResNet on the GPU with an explicit per-layer backward. Every parameter, activation, gradient
 * and optimizer buffer is allocated once, at construction, for a fixed batch size; a training
 * step is a {@link Sequence} of prepared dispatches that is recorded again each step.
 *
 * Shapes, with B the batch: input (B,C,H,W) f32, labels (B) i32, features (B,F) f32,
 * logits (B,K) f32. Parameters: conv weights (Cout,Cin,KH,KW), BN gamma/beta (C), linear
 * weight (K,F) and bias (K).
 *
 * @module
 */

import type { Rng } from "../data/rng.ts";
import type { Gpu } from "../gpu/device.ts";
import { type Recordable, Sequence } from "../gpu/kernel.ts";
import { Tensor } from "../gpu/tensor.ts";
import {
  prepareBatchNormBackward,
  prepareBatchNormEvalForward,
  prepareBatchNormTrainForward,
} from "../ops/batchnorm.ts";
import {
  prepareConv2dBackwardInput,
  prepareConv2dBackwardWeight,
  prepareConv2dForward,
} from "../ops/conv2d.ts";
import { prepareAdd, prepareReluBackward, prepareReluForward } from "../ops/elementwise.ts";
import { prepareGemm } from "../ops/gemm.ts";
import { prepareGlobalAvgPoolBackward, prepareGlobalAvgPoolForward } from "../ops/pool.ts";
import { prepareColSum } from "../ops/reduce.ts";
import { prepareCrossEntropyBackward, prepareCrossEntropyForward } from "../ops/softmax.ts";
import { featureDim, type ResNetSpec, validateResNetSpec } from "./spec.ts";

/** A trainable parameter with its gradient and SGD velocity. */
export interface Param {
  readonly name: string;
  readonly value: Tensor;
  readonly grad: Tensor;
  readonly velocity: Tensor;
  /** How to initialise it. */
  readonly init: ParamInit;
}

/** Initialisation rules from the recipe. */
export type ParamInit =
  | { kind: "kaiming-normal-fan-out"; fanOut: number }
  | { kind: "constant"; value: number }
  | { kind: "uniform"; bound: number };

/** A non-trainable state tensor (BN running statistics). */
export interface StateBuffer {
  readonly name: string;
  readonly value: Tensor;
  readonly initial: number;
}

/** Options of {@link ResNet.create}. */
export interface ResNetOptions {
  /** Batch size the buffers are allocated for. */
  batch: number;
  /** BN running-average momentum (PyTorch convention, default 0.1). */
  bnMomentum?: number;
  /** BN epsilon (default 1e-5). */
  bnEps?: number;
}

interface ConvBn {
  conv: Param;
  gamma: Param;
  beta: Param;
  runningMean: StateBuffer;
  runningVar: StateBuffer;
  mean: Tensor;
  invStd: Tensor;
  stride: number;
  padding: number;
  /** Conv output (B,Cout,Ho,Wo), kept for BN backward. */
  pre: Tensor;
  /** BN output (B,Cout,Ho,Wo). */
  out: Tensor;
}

const SHAPE = (t: Tensor) => t.shape as number[];

/**
 * ResNet with prepared forward (train and eval), loss, backward and parameter lists.
 *
 * @example
 * ```ts ignore
 * const net = await ResNet.create(gpu, resnet8(), { batch: 128 });
 * net.initialize(new Rng(0));
 * net.input.write(images);
 * net.labels.write(labels);
 * net.trainStep.record();
 * await gpu.sync();
 * ```
 */
export class ResNet {
  readonly gpu: Gpu;
  readonly spec: ResNetSpec;
  readonly batch: number;
  readonly params: Param[] = [];
  readonly state: StateBuffer[] = [];
  readonly input: Tensor;
  readonly labels: Tensor;
  readonly features: Tensor;
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
    validateResNetSpec(spec);
    if (!Number.isInteger(options.batch) || options.batch < 1) {
      throw new RangeError(`Cannot build ${spec.name}: batch is ${options.batch}; it must be >= 1`);
    }
    this.gpu = gpu;
    this.spec = spec;
    this.batch = options.batch;
    this.#options = { bnMomentum: 0.1, bnEps: 1e-5, ...options };
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
      if (init.kind === "kaiming-normal-fan-out") {
        const std = Math.sqrt(2 / init.fanOut);
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
    this.trainStep?.destroy();
    this.evalForward?.destroy();
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

  #convBn(name: string, x: Tensor, cout: number, k: number, stride: number): ConvBn {
    const [b, cin, h, w] = SHAPE(x);
    const padding = Math.floor(k / 2);
    const ho = Math.floor((h + 2 * padding - k) / stride) + 1;
    const wo = Math.floor((w + 2 * padding - k) / stride) + 1;
    return {
      conv: this.#param(`${name}.conv.weight`, [cout, cin, k, k], {
        kind: "kaiming-normal-fan-out",
        fanOut: cout * k * k,
      }),
      gamma: this.#param(`${name}.bn.weight`, [cout], { kind: "constant", value: 1 }),
      beta: this.#param(`${name}.bn.bias`, [cout], { kind: "constant", value: 0 }),
      runningMean: this.#stateBuffer(`${name}.bn.running_mean`, cout, 0),
      runningVar: this.#stateBuffer(`${name}.bn.running_var`, cout, 1),
      mean: this.#tensor([cout], `${name}.bn.mean`),
      invStd: this.#tensor([cout], `${name}.bn.inv_std`),
      stride,
      padding,
      pre: this.#tensor([b, cout, ho, wo], `${name}.conv.out`),
      out: this.#tensor([b, cout, ho, wo], `${name}.bn.out`),
    };
  }

  async #convBnForward(l: ConvBn, x: Tensor, train: boolean): Promise<Recordable[]> {
    const gpu = this.gpu;
    const { bnMomentum: momentum, bnEps: eps } = this.#options;
    const conv = await prepareConv2dForward(gpu, {
      x,
      w: l.conv.value,
      y: l.pre,
      stride: l.stride,
      padding: l.padding,
    });
    const bn = train
      ? await prepareBatchNormTrainForward(gpu, {
        x: l.pre,
        gamma: l.gamma.value,
        beta: l.beta.value,
        y: l.out,
        mean: l.mean,
        invStd: l.invStd,
        runningMean: l.runningMean.value,
        runningVar: l.runningVar.value,
        momentum,
        eps,
      })
      : await prepareBatchNormEvalForward(gpu, {
        x: l.pre,
        gamma: l.gamma.value,
        beta: l.beta.value,
        y: l.out,
        runningMean: l.runningMean.value,
        runningVar: l.runningVar.value,
        eps,
      });
    return [conv, bn];
  }

  /** Backward through BN then conv: `dOut` is the gradient at the BN output; writes `dx`. */
  async #convBnBackward(
    l: ConvBn,
    x: Tensor,
    dOut: Tensor,
    dPre: Tensor,
    dx: Tensor | null,
  ): Promise<Recordable[]> {
    const gpu = this.gpu;
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
      }),
      await prepareConv2dBackwardWeight(gpu, {
        x,
        dy: dPre,
        dw: l.conv.grad,
        stride: l.stride,
        padding: l.padding,
      }),
    ];
    if (dx !== null) {
      work.push(
        await prepareConv2dBackwardInput(gpu, {
          dy: dPre,
          w: l.conv.value,
          dx,
          stride: l.stride,
          padding: l.padding,
        }),
      );
    }
    return work;
  }

  async #build(): Promise<void> {
    const gpu = this.gpu;
    const spec = this.spec;
    const forwardTrain: Recordable[] = [];
    const forwardEval: Recordable[] = [];
    // Backward runs in reverse block order; each entry is prepended.
    const backward: Recordable[][] = [];

    // Gradient scratch, one pair per activation shape, shared by every layer of that shape.
    const scratch = new Map<string, Tensor[]>();
    const grad = (like: Tensor, slot: number): Tensor => {
      const key = like.shape.join("x");
      let list = scratch.get(key);
      if (!list) scratch.set(key, list = []);
      while (list.length <= slot) {
        list.push(this.#tensor(SHAPE(like), `grad ${key}#${list.length}`));
      }
      return list[slot];
    };

    // Stem: conv3x3 + BN + ReLU.
    const stem = this.#convBn("stem", this.input, spec.stem, 3, 1);
    const stemAct = this.#tensor(SHAPE(stem.out), "stem.relu");
    forwardTrain.push(
      ...(await this.#convBnForward(stem, this.input, true)),
      await prepareReluForward(gpu, stem.out, stemAct),
    );
    forwardEval.push(
      ...(await this.#convBnForward(stem, this.input, false)),
      await prepareReluForward(gpu, stem.out, stemAct),
    );
    // dStemAct arrives in slot 0 of its shape; relu backward writes the BN-output grad to slot 1.
    {
      const dAct = grad(stemAct, 0);
      const dBn = grad(stemAct, 1);
      const dPre = grad(stemAct, 2);
      backward.push([
        await prepareReluBackward(gpu, stemAct, dAct, dBn),
        ...(await this.#convBnBackward(stem, this.input, dBn, dPre, null)),
      ]);
    }

    let x = stemAct;
    let cin = spec.stem;
    for (const [si, stage] of spec.stages.entries()) {
      for (let bi = 0; bi < stage.blocks; bi++) {
        const name = `stage${si + 1}.block${bi + 1}`;
        const stride = bi === 0 ? stage.stride : 1;
        const cout = stage.channels;
        const c1 = this.#convBn(`${name}.1`, x, cout, 3, stride);
        const a1 = this.#tensor(SHAPE(c1.out), `${name}.relu1`);
        const c2 = this.#convBn(`${name}.2`, a1, cout, 3, 1);
        const short = stride !== 1 || cin !== cout
          ? this.#convBn(`${name}.shortcut`, x, cout, 1, stride)
          : null;
        const sum = this.#tensor(SHAPE(c2.out), `${name}.sum`);
        const out = this.#tensor(SHAPE(c2.out), `${name}.relu2`);

        for (const [list, train] of [[forwardTrain, true], [forwardEval, false]] as const) {
          list.push(
            ...(await this.#convBnForward(c1, x, train)),
            await prepareReluForward(gpu, c1.out, a1),
            ...(await this.#convBnForward(c2, a1, train)),
          );
          if (short) list.push(...(await this.#convBnForward(short, x, train)));
          list.push(
            await prepareAdd(gpu, c2.out, short ? short.out : x, sum),
            await prepareReluForward(gpu, sum, out),
          );
        }

        // Backward. dOut arrives in slot 0 of out's shape; dx leaves in slot 0 of x's shape.
        // Slots of the output shape: 0 dOut, 1 dSum, 2 dPre (scratch), 3 dA1, 4 dBn1, 6 the
        // shortcut's dPre. Slots of the input shape: 5 main-path dx, 6 shortcut dx, 0 their sum.
        // With an identity shortcut slot 0 is dOut itself, free again once ReLU has read it.
        const dOut = grad(out, 0);
        const dSum = grad(out, 1);
        const dxMain = grad(x, 5);
        const work: Recordable[] = [
          await prepareReluBackward(gpu, out, dOut, dSum),
          ...(await this.#convBnBackward(c2, a1, dSum, grad(out, 2), grad(a1, 3))),
          await prepareReluBackward(gpu, a1, grad(a1, 3), grad(a1, 4)),
          ...(await this.#convBnBackward(c1, x, grad(a1, 4), grad(a1, 2), dxMain)),
        ];
        if (short) {
          const dxShort = grad(x, 6);
          work.push(
            ...(await this.#convBnBackward(short, x, dSum, grad(short.out, 6), dxShort)),
            await prepareAdd(gpu, dxMain, dxShort, grad(x, 0)),
          );
        } else {
          work.push(await prepareAdd(gpu, dxMain, dSum, grad(x, 0)));
        }
        backward.push(work);
        x = out;
        cin = cout;
      }
    }

    // Head: global average pool, linear, cross-entropy.
    const f = featureDim(spec);
    const weight = this.#param("fc.weight", [spec.classes, f], {
      kind: "uniform",
      bound: 1 / Math.sqrt(f),
    });
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
    forwardTrain.push(pool, linear);
    forwardEval.push(pool, linear);
    const loss = await prepareCrossEntropyForward(gpu, this.logits, this.labels, {
      loss: this.rowLoss,
      meanLoss: this.lossSum,
      correct: this.correct,
    }, { accumulate: true });

    const dLogits = this.#tensor(SHAPE(this.logits), "logits.grad");
    const dFeatures = this.#tensor(SHAPE(this.features), "features.grad");
    const head: Recordable[] = [
      (await prepareCrossEntropyBackward(gpu, this.logits, this.labels, dLogits)).dispatch,
      // dW = dLogits^T (K,B) x features (B,F); db = column sums; dFeatures = dLogits x W.
      await prepareGemm(gpu, { a: dLogits, b: this.features, c: weight.grad, transA: true }),
      await prepareColSum(gpu, dLogits, bias.grad),
      await prepareGemm(gpu, { a: dLogits, b: weight.value, c: dFeatures }),
      await prepareGlobalAvgPoolBackward(gpu, { dy: dFeatures, dx: grad(x, 0) }),
    ];

    this.trainStep = new Sequence([
      ...forwardTrain,
      loss,
      ...head,
      ...backward.reverse().flat(),
    ]);
    this.evalForward = new Sequence(forwardEval);
  }
}
