/**
 * End-to-end runs of `deno task train` on real Fashion-MNIST with the smoke preset, with the
 * task's own permission flags so they are the ones users get.
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { validateMetricsFile } from "../../lib/eval/metrics.ts";
import { readFeatureDir } from "../../lib/features/reader.ts";
import { loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { noGpu } from "../_gpu.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const RUNS = `runs/_test-${Deno.pid}`;
const SMOKE = ["--preset", "smoke", "--epochs", "6", "--quiet"];

/** The train task's own command line (its permissions), run directly so a kill reaches it. */
const TASK: string[] = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.train
  .split(/\s+/).slice(1);

function train(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [...TASK, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
  }).spawn();
}

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await train(args).output();
  const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  return { code, out };
}

async function metricsOf(dir: string) {
  const file = validateMetricsFile(
    JSON.parse(await Deno.readTextFile(`${ROOT}${dir}/metrics.json`)),
  );
  return Object.fromEntries(
    Object.entries(file.methods).map(([k, m]) => [k, [m.test.all, m.val.all, m.test.per_class]]),
  );
}

Deno.test({
  name: "deno task train runs end to end, reproduces from config.json and resumes after a kill",
  ignore: noGpu,
  sanitizeResources: false,
  async fn(t) {
    await Deno.mkdir(`${ROOT}${RUNS}`, { recursive: true });
    try {
      const first = `${RUNS}/first`;
      await t.step("a smoke run writes every output", async () => {
        const { code, out } = await run([...SMOKE, "--out", first]);
        equal(code, 0, out);
        const dir = `${ROOT}${first}`;
        for (
          const file of [
            "config.json",
            "checkpoint.bin",
            "metrics.json",
            "run.json",
            "report.md",
            "report.html",
            "figures/accuracy_vs_count.svg",
            "figures/weight_norms.svg",
            "figures/stage1.svg",
            "figures/tau_curves.svg",
          ]
        ) {
          ok((await Deno.stat(`${dir}/${file}`)).size > 0, `${file} is empty`);
        }
        const features = await readFeatureDir(`${dir}/features`);
        equal(features.train.rows, 14866);
        equal(features.val.rows, 200);
        equal(features.test.rows, 256);
        equal(features.train.dim, 16);
        equal(features.classifier.classCount, 10);
        const checkpoint = await loadCheckpoint(`${dir}/checkpoint.bin`);
        equal(checkpoint.epoch, 6);
        // The kernel variants used are recorded, per family and pass, in both places.
        const tuning = JSON.parse(await Deno.readTextFile(`${dir}/run.json`)).tuning;
        for (const key of ["gemm.v2", "conv2d.forward.v1", "conv2d.backward_weight.v1"]) {
          ok(key in tuning.choices, `run.json records no ${key}`);
          deepEqual(checkpoint.tuning?.choices[key], tuning.choices[key]);
        }
        const metrics = validateMetricsFile(
          JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`)),
        );
        deepEqual(Object.keys(metrics.methods), [
          "joint",
          "ncm",
          "ncm_l2",
          "crt",
          "tau",
          "lws",
          "la",
          "bsm",
        ]);
        const report = await Deno.readTextFile(`${dir}/report.md`);
        match(report, /\| cRT /);
        match(report, /figures\/weight_norms\.svg/);
        const html = await Deno.readTextFile(`${dir}/report.html`);
        match(html, /<svg/);
      });

      await t.step("feeding config.json back gives the same metrics", async () => {
        const again = `${RUNS}/again`;
        const { code, out } = await run([
          "--config",
          `${first}/config.json`,
          "--quiet",
          "--out",
          again,
        ]);
        equal(code, 0, out);
        deepEqual(await metricsOf(again), await metricsOf(first));
        const tuning = async (d: string) =>
          JSON.parse(await Deno.readTextFile(`${ROOT}${d}/run.json`)).tuning.choices;
        deepEqual(await tuning(again), await tuning(first));
      });

      await t.step("--from-checkpoint and --stage2-only redo the later stages alike", async () => {
        const again = `${RUNS}/from-checkpoint`;
        let { code, out } = await run([
          "--config",
          `${first}/config.json`,
          "--from-checkpoint",
          `${first}/checkpoint.bin`,
          "--out",
          again,
          "--quiet",
        ]);
        equal(code, 0, out);
        deepEqual(await metricsOf(again), await metricsOf(first));
        ({ code, out } = await run([
          "--stage2-only",
          "--features",
          `${first}/features`,
          "--out",
          `${RUNS}/stage2-only`,
          "--quiet",
        ]));
        equal(code, 0, out);
        deepEqual(await metricsOf(`${RUNS}/stage2-only`), await metricsOf(first));
        const stage1Only = `${RUNS}/stage1-only`;
        ({ code, out } = await run([
          ...SMOKE,
          "--epochs",
          "1",
          "--stage1-only",
          "--out",
          stage1Only,
        ]));
        equal(code, 0, out);
        await Deno.stat(`${ROOT}${stage1Only}/features/test.arrow`);
        await Deno.stat(`${ROOT}${stage1Only}/metrics.json`).then(
          () => Promise.reject(new Error("--stage1-only ran stage 2")),
          () => {},
        );
      });

      await t.step(
        "a run killed in stage 1 resumes and finishes with the same results",
        async () => {
          const killed = `${RUNS}/killed`;
          const child = train([...SMOKE, "--out", killed]);
          const checkpoint = `${ROOT}${killed}/checkpoint.bin`;
          for (let i = 0; i < 6000; i++) {
            try {
              await Deno.stat(checkpoint);
              break;
            } catch {
              await new Promise((r) => setTimeout(r, 5));
            }
          }
          child.kill("SIGKILL");
          const status = await child.status;
          equal(status.success, false, "the run finished before it could be killed");
          await child.stdout.cancel();
          await child.stderr.cancel();
          const epoch = (await loadCheckpoint(checkpoint)).epoch;
          ok(epoch >= 1 && epoch < 6, `killed after epoch ${epoch}`);
          const { code, out } = await run(["--resume", "--out", killed, "--quiet"]);
          equal(code, 0, out);
          deepEqual(await metricsOf(killed), await metricsOf(first));
        },
      );

      await t.step("bad flags and bad folders get clear errors", async () => {
        const cases: [string[], RegExp][] = [
          [["--epochs=-1"], /Invalid --epochs "-1": expected an integer >= 1/],
          [["--epochs", "-1"], /--epochs.*argument is ambiguous.*--epochs=-XYZ/],
          [["--frobnicate"], /Unknown option '--frobnicate'/],
          [["--sampler", "random"], /use one of instance, class, sqrt, progressive/],
          [["--preset", "smoke", "--out", first], /already holds a run; continue it with --resume/],
          [
            ["--config", `${RUNS}/missing.json`],
            /Cannot read config .*missing\.json: no such file/,
          ],
          [["--resume", "--out", `${RUNS}/nothing`], /Cannot read config .*nothing\/config\.json/],
        ];
        for (const [args, pattern] of cases) {
          const { code, out } = await run(args);
          equal(code === 1 || code === 2, true, `${args.join(" ")}: exit ${code}`);
          match(out, pattern, args.join(" "));
        }
      });
    } finally {
      await Deno.remove(`${ROOT}${RUNS}`, { recursive: true });
    }
  },
});
