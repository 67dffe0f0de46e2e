import { deepStrictEqual as deepEqual, ok, strictEqual as equal, throws } from "node:assert/strict";
import { validateMetricsFile } from "../../lib/eval/metrics.ts";
import { fromMetrics, writeReport } from "../../lib/eval/report.ts";
import { makeSyntheticFeatures, writeFeatureDir } from "../../lib/features/mod.ts";
import type { Stage2Context } from "../../lib/stage2/context.ts";
import type { MethodResult } from "../../lib/stage2/method.ts";
import {
  METHOD_NAMES,
  type MethodRow,
  methodRow,
  METHODS,
  parseMethods,
  registerMethod,
} from "../../lib/stage2/registry.ts";
import { presetConfig, validateConfig } from "../../lib/train/config.ts";
import { parseTrainArgs, trainHelp } from "../../lib/train/flags.ts";
import { main as stage2Main } from "../../scripts/stage2.ts";
import { quietly } from "../_console.ts";
import { noGpu } from "../_gpu.ts";

/** A method that always predicts the class prior: logits = log(n_c / N) for every row. */
function priorRun(ctx: Stage2Context): Promise<MethodResult> {
  const c = ctx.classes;
  const bias = Float32Array.from(ctx.logPrior);
  const rows = (n: number) => {
    const out = new Float32Array(n * c);
    for (let r = 0; r < n; r++) out.set(bias, r * c);
    return out;
  };
  return Promise.resolve({
    name: "prior",
    logits: { val: rows(ctx.features.val.rows), test: rows(ctx.features.test.rows) },
    model: {
      weight: new Float32Array(c * ctx.dim),
      bias,
      scale: new Float32Array(c).fill(1),
    },
    wallMs: 0,
  });
}

const PRIOR: MethodRow = {
  name: "prior",
  label: "Class prior",
  help: "predicts the most frequent training class (a dummy row)",
  trains: false,
  needsClassifier: false,
  defaults: {},
  run: priorRun,
  weightNorms: true,
  tauCurve: false,
  style: { color: "#123456", dash: "3 1", label: "Prior only" },
};

Deno.test("the method table: built-in rows, names in run order, bad registrations refused", () => {
  deepEqual(METHOD_NAMES, ["joint", "ncm", "ncm_l2", "crt", "tau", "lws", "la", "bsm"]);
  deepEqual(METHODS.map((m) => m.name), METHOD_NAMES);
  equal(new Set(METHODS.map((m) => m.style.color)).size, METHODS.length, "distinct colours");
  deepEqual(METHODS.filter((m) => m.trains).map((m) => m.name), ["crt", "lws", "bsm"]);
  deepEqual(METHODS.filter((m) => m.tauCurve).map((m) => m.name), ["tau", "la"]);
  throws(() => registerMethod({ ...PRIOR, name: "crt" }), /"crt": the name is taken/);
  throws(() => registerMethod({ ...PRIOR, name: "Bad-Name" }), /a key is lowercase letters/);
  throws(() => parseMethods("crt,prior"), /unknown method "prior"/);
});

Deno.test({
  name: "one added row shows in both --help texts, the flags, metrics.json and the report",
  ignore: noGpu,
  async fn() {
    const remove = registerMethod(PRIOR);
    const dir = await Deno.makeTempDir();
    try {
      deepEqual(METHOD_NAMES.at(-1), "prior");
      ok(trainHelp(presetConfig("paper")).includes("la, bsm, prior)"), "train --help");
      const help = await quietly(() => stage2Main(["--help"]));
      equal(help.value, 0);
      ok(help.out.includes("joint,ncm,ncm_l2,crt,tau,lws,la,bsm,prior"), help.out);
      ok(/prior\s+predicts the most frequent training class/.test(help.out), help.out);
      deepEqual(parseTrainArgs(["--methods", "prior,crt"]).overrides.get("stage2.methods"), [
        "prior",
        "crt",
      ]);
      const config = presetConfig("smoke");
      config.stage2.methods = ["joint", "prior"];
      validateConfig(config);

      const features = `${dir}/features`;
      await writeFeatureDir(
        features,
        makeSyntheticFeatures({ trainCounts: [50, 12, 4], featureDim: 5, testPerClass: 6 }),
      );
      const run = await quietly(() =>
        stage2Main([
          ...["--features", features, "--methods", "prior,joint"],
          ...["--out", `${features}/metrics.json`],
        ])
      );
      equal(run.value, 0, run.out);
      ok(run.out.includes("Class prior done in"), run.out);
      ok(/^Class prior\s+/m.test(run.out), "printed table row");
      const metrics = validateMetricsFile(
        JSON.parse(await Deno.readTextFile(`${features}/metrics.json`)),
      );
      deepEqual(Object.keys(metrics.methods), ["joint", "prior"]);
      const prior = metrics.methods.prior;
      equal(prior.label, "Class prior");
      // Every test row is predicted as class 0, the head: its accuracy is 1, the others' 0.
      deepEqual(prior.test.per_class, [1, 0, 0]);

      const report = fromMetrics(metrics, {
        name: "registry",
        adapter: "test",
        preset: "smoke",
        presetReason: "test",
        config: {},
      });
      equal(report.methods[1].label, "Prior only");
      await writeReport(`${dir}/report`, report);
      const md = await Deno.readTextFile(`${dir}/report/report.md`);
      ok(md.includes("| Prior only"), "results table row");
      const norms = await Deno.readTextFile(`${dir}/report/figures/weight_norms.svg`);
      ok(norms.includes("#123456") && norms.includes("Prior only"), "drawn in its own colour");
      equal(methodRow("prior")?.label, "Class prior");
    } finally {
      remove();
      await Deno.remove(dir, { recursive: true });
    }
    equal(methodRow("prior"), undefined);
    deepEqual(METHOD_NAMES.at(-1), "bsm");
  },
});
