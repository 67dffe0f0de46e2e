import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  ok,
  strictEqual as equal,
} from "node:assert/strict";
import {
  argmaxRows,
  balancedAccuracy,
  chooseTau,
  formatMetricsTable,
  validateMetricsFile,
} from "../../lib/eval/metrics.ts";
import { writeMetricsFile } from "../../lib/eval/write_metrics.ts";
import {
  FASHION_LT100_COUNTS,
  type FeatureSet,
  makeSyntheticFeatures,
  readFeatureDir,
  writeFeatureDir,
} from "../../lib/features/mod.ts";
import { Stage2Context } from "../../lib/stage2/context.ts";
import { runCrt } from "../../lib/stage2/crt.ts";
import { runLogitAdjust } from "../../lib/stage2/logit_adjust.ts";
import { tauValues } from "../../lib/stage2/method.ts";
import { runNcm } from "../../lib/stage2/ncm.ts";
import { logitsRef, ncmRef, tauWeightsRef } from "../../lib/ops/_reference_classifier.ts";
import { runStage2 } from "../../lib/stage2/run.ts";
import { runTauNorm } from "../../lib/stage2/tau_norm.ts";
import { assertClose, maxRelativeError, noGpu, testGpu } from "../_gpu.ts";

// Odd fixture sizes: D = 10 is padded to 12 on the GPU, C = 5.
const FIXTURE = {
  trainCounts: [60, 30, 15, 8, 4],
  featureDim: 10,
  valPerClass: 8,
  testPerClass: 12,
  seed: 5,
  separation: 2,
};

function joined(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Smallest gap between the top two logits of any row: the fixture must have no near-ties. */
function minMargin(logits: ArrayLike<number>, classes: number): number {
  let worst = Infinity;
  for (let r = 0; r < logits.length / classes; r++) {
    const row = Array.from({ length: classes }, (_, c) => logits[r * classes + c]).sort((a, b) =>
      b - a
    );
    worst = Math.min(worst, row[0] - row[1]);
  }
  return worst;
}

function check(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) {
  console.log(`${label}: max error ${maxRelativeError(actual, expected).toExponential(2)}`);
  assertClose(actual, expected, tol, label);
}

Deno.test({
  name: "NCM (cosine and centred L2) matches the CPU reference on fixture features",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const set = makeSyntheticFeatures(FIXTURE);
    const { train, val, test } = set;
    const ctx = await Stage2Context.create(gpu, set);
    try {
      for (const mode of ["cosine", "l2"] as const) {
        const result = await runNcm(ctx, mode);
        const evalX = joined(val.features, test.features);
        const ref = ncmRef(train.features, train.label, evalX, train.dim, 5, mode);
        const scores = joined(result.logits.val, result.logits.test);
        check(`ncm ${mode} scores`, scores, ref.scores, 1e-5);
        const margin = minMargin(ref.scores, 5);
        console.log(`ncm ${mode} smallest top-2 margin ${margin.toExponential(2)}`);
        ok(margin > 1e-5, "fixture has no near-ties (10x the float error)");
        deepEqual(argmaxRows(scores, 5), argmaxRows(ref.scores, 5));
        const centres = mode === "cosine" ? ref.centres : ref.centres.map((v) => 2 * v);
        check(`ncm ${mode} weights`, result.model.weight, centres, 1e-5);
      }
    } finally {
      ctx.destroy();
    }
  },
});

Deno.test({
  name: "tau-norm and logit adjustment match the CPU reference: curve, chosen tau, logits",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const set = makeSyntheticFeatures(FIXTURE);
    const { val, test, classifier } = set;
    const d = classifier.featureDim;
    const joint = {
      weight: classifier.weight,
      bias: classifier.bias,
      scale: new Float32Array(5).fill(1),
    };
    const taus = tauValues({ start: 0, stop: 2, step: 0.1 });
    equal(taus.length, 21);
    const ctx = await Stage2Context.create(gpu, set);
    try {
      const tauResult = await runTauNorm(ctx);
      const curve = taus.map((tau) => {
        const logits = logitsRef(val.features, d, tauWeightsRef(joint, 5, d, tau), 5);
        ok(minMargin(logits, 5) > 1e-4, `no near-ties at tau ${tau}`);
        return { tau, val_all: balancedAccuracy(logits, val.label, 5) };
      });
      deepEqual(tauResult.tauCurve, curve);
      const tau = chooseTau(curve);
      equal(tauResult.tau, tau);
      console.log(`tau-norm chose tau ${tau}`);
      const expected = tauWeightsRef(joint, 5, d, tau);
      check(
        "tau-norm test logits",
        tauResult.logits.test,
        logitsRef(test.features, d, expected, 5),
        1e-5,
      );
      check("tau-norm weights", tauResult.model.weight, expected.weight, 1e-6);

      const laResult = await runLogitAdjust(ctx);
      const logPrior = FIXTURE.trainCounts.map((n) => Math.log(n / 117));
      const laCurve = taus.map((t) => {
        const logits = logitsRef(val.features, d, joint, 5, logPrior.map((v) => -t * v));
        return { tau: t, val_all: balancedAccuracy(logits, val.label, 5) };
      });
      deepEqual(laResult.tauCurve, laCurve);
      equal(laResult.tau, chooseTau(laCurve));
      const offset = logPrior.map((v) => -laResult.tau! * v);
      check(
        "logit-adjusted test logits",
        laResult.logits.test,
        logitsRef(test.features, d, joint, 5, offset),
        1e-5,
      );
    } finally {
      ctx.destroy();
    }
  },
});

/** Fashion-MNIST-LT-100's profile at a quarter of the size: 3,718 training rows. */
function longTailed(seed: number): FeatureSet {
  return makeSyntheticFeatures({
    trainCounts: FASHION_LT100_COUNTS.map((n) => Math.round(n / 4)),
    featureDim: 16,
    testPerClass: 100,
    seed,
  });
}

Deno.test({
  name: "on long-tailed features with a head-biased joint classifier, cRT, LWS, tau-norm and " +
    "logit adjustment each raise balanced accuracy",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const set = longTailed(0);
    const { metrics } = await runStage2(set, { gpu, seed: 0 });
    console.log(formatMetricsTable(metrics));
    const m = metrics.methods;
    const joint = m.joint.test;
    ok(joint.many! > joint.few! + 0.3, "the joint classifier is biased towards the head");
    for (const method of ["crt", "lws", "tau", "la"]) {
      ok(
        m[method].test.all > joint.all + 0.03,
        `${method} All ${m[method].test.all} does not beat joint ${joint.all} by 3 points`,
      );
      ok(m[method].test.few! > joint.few!, `${method} raises Few`);
    }
    ok(m.ncm.test.all > joint.all && m.ncm_l2.test.all > joint.all && m.bsm.test.all > joint.all);
    ok(m.tau.tau! > 0 && m.la.tau! > 0, "a positive tau is chosen on validation");
    equal(m.crt.train_loss!.length, 10);
    ok(m.crt.train_loss![9] < m.crt.train_loss![0], "cRT's loss goes down");
    // The joint classifier's weight norms grow with class size; tau-norm flattens them.
    const spread = (v: number[]) => Math.max(...v) / Math.min(...v);
    ok(m.joint.weight_norms[0] > m.joint.weight_norms[9]);
    ok(spread(m.tau.weight_norms) < spread(m.joint.weight_norms));
  },
});

Deno.test({
  name: "stage 2 is deterministic for a seed, and cRT's 10 epochs run in one submit",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const set = makeSyntheticFeatures({ ...FIXTURE, trainCounts: [300, 120, 50, 20, 9] });
    const a = await runStage2(set, { gpu, seed: 7, methods: ["crt", "lws", "bsm", "ncm"] });
    const b = await runStage2(set, { gpu, seed: 7, methods: ["crt", "lws", "bsm", "ncm"] });
    for (const m of ["crt", "lws", "bsm", "ncm"] as const) {
      deepEqual(a.results[m]!.logits, b.results[m]!.logits, `${m} logits`);
      deepEqual(a.results[m]!.model, b.results[m]!.model, `${m} model`);
    }
    const c = await runStage2(set, { gpu, seed: 8, methods: ["crt"] });
    notDeepEqual(a.results.crt!.logits, c.results.crt!.logits, "another seed gives another cRT");

    const ctx = await Stage2Context.create(gpu, set);
    try {
      const submits = gpu.submitCount;
      const dispatches = gpu.dispatchCount;
      const result = await runCrt(ctx, { seed: 7 });
      const steps = 10 * Math.ceil(set.train.rows / 512);
      ok(gpu.dispatchCount - dispatches >= 3 * steps);
      // Training, then evaluation and read-backs: a few submits whatever the number of steps.
      ok(gpu.submitCount - submits <= 4, `${gpu.submitCount - submits} submits`);
      deepEqual(result.logits, a.results.crt!.logits, "runCrt alone = cRT inside runStage2");
    } finally {
      ctx.destroy();
    }
  },
});

Deno.test({
  name: "stage 2 runs from a features folder alone and writes metrics.json",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const dir = await Deno.makeTempDir();
    try {
      await writeFeatureDir(dir, makeSyntheticFeatures(FIXTURE));
      const features = await readFeatureDir(dir);
      const { metrics } = await runStage2(features, {
        gpu,
        methods: ["tau", "joint"],
        source: dir,
      });
      await writeMetricsFile(`${dir}/metrics.json`, metrics);
      const back = validateMetricsFile(JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`)));
      deepEqual(Object.keys(back.methods), ["joint", "tau"]);
      equal(back.source.features, dir);
      equal(back.source.feature_dim, 10);
      deepEqual(back.train_class_counts, FIXTURE.trainCounts);
      deepEqual(back.shot_groups, ["few", "few", "few", "few", "few"]);
      equal(back.methods.tau.tau_curve!.length, 21);
      equal(back.methods.joint.test.confusion!.flat().reduce((x, y) => x + y, 0), 60);
      equal(back.methods.joint.weight_norms.length, 5);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
