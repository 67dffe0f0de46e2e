/**
 * End-to-end runs of `deno task train` on real Fashion-MNIST with the smoke preset, with the
 * task's own permission flags so they are the ones users get.
 */

import { deepStrictEqual as deepEqual, match, ok, strictEqual as equal } from "node:assert/strict";
import { validateMetricsFile } from "../../lib/eval/metrics.ts";
import { readFeatureDir } from "../../lib/features/load.ts";
import { GEMM_TUNE_KEY } from "../../lib/ops/gemm.ts";
import { stepMemory } from "../../lib/nn/memory.ts";
import { describeResNet } from "../../lib/nn/spec.ts";
import { loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { modelSpec, presetConfig } from "../../lib/train/config.ts";
import { runExperiment } from "../../lib/train/experiment.ts";
import { parseTrainArgs } from "../../lib/train/flags.ts";
import { exists } from "../../lib/io/_paths.ts";
import { noGpu } from "../_gpu.ts";
import { waitUntil } from "../_wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const RUNS = `runs/_test-${Deno.pid}`;
const SMOKE = ["--preset", "smoke", "--epochs", "6", "--quiet"];

/** A task's own command line (its permissions), run directly so a kill reaches it. */
const TASKS: Record<string, string> = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`))
  .tasks;

function spawn(command: string[], cwd = ROOT): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: command,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
  }).spawn();
}

function train(args: string[]): Deno.ChildProcess {
  return spawn([...TASKS.train.split(/\s+/).slice(1), ...args]);
}

async function output(child: Deno.ChildProcess): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await child.output();
  const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  return { code, out };
}

function run(args: string[]): Promise<{ code: number; out: string }> {
  return output(train(args));
}

/** `deno task NAME ARGS` with the task's permissions, from `cwd`. */
function task(name: string, args: string[], cwd = ROOT) {
  const [, ...flags] = TASKS[name].split(/\s+/);
  const script = flags.pop()!;
  return output(spawn([...flags, `${ROOT}${script}`, ...args], cwd));
}

/** SHA-256 of every file below `dir`, by relative path. */
async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (sub: string) => {
    for await (const entry of Deno.readDir(`${dir}/${sub}`)) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory) await walk(rel);
      else {
        const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(`${dir}/${rel}`));
        out[rel] = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
      }
    }
  };
  await walk("");
  return out;
}

async function missing(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => false, () => true);
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
            "figures/reliability.svg",
            "predictions/crt.arrow",
          ]
        ) {
          ok((await Deno.stat(`${dir}/${file}`)).size > 0, `${file} is empty`);
        }
        const features = await readFeatureDir(`${dir}/features`);
        equal(features.train.rows, 14866);
        equal(features.val.rows, 200);
        equal(features.test.rows, 256);
        equal(features.train.dim, 16);
        equal(features.classifier?.classCount, 10);
        const checkpoint = await loadCheckpoint(`${dir}/checkpoint.bin`);
        equal(checkpoint.epoch, 6);
        // The kernel variants used are recorded, per family and pass, in both places.
        const tuning = JSON.parse(await Deno.readTextFile(`${dir}/run.json`)).tuning;
        for (const key of [GEMM_TUNE_KEY, "conv2d.forward.v1", "conv2d.backward_weight.v1"]) {
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
          await waitUntil(() => exists(checkpoint), 30);
          child.kill("SIGKILL");
          const status = await child.status;
          equal(status.success, false, "the run finished before it could be killed");
          await child.stdout.cancel();
          await child.stderr.cancel();
          const epoch = (await loadCheckpoint(checkpoint)).epoch;
          ok(epoch >= 1 && epoch < 6, `killed after epoch ${epoch}`);
          // A resumed run keeps its own settings: flags that would change a result are refused.
          const config = await Deno.readTextFile(`${ROOT}${killed}/config.json`);
          let { code, out } = await run([
            "--resume",
            "--out",
            killed,
            "--seed",
            "3",
            "--lr",
            "0.5",
          ]);
          equal(code, 2, out);
          match(
            out,
            /Cannot resume .*killed with new settings: --seed 3 \(the run has seed 0\), --lr 0\.5 \(the run has stage1\.lr 0\.1\)/,
          );
          equal(await Deno.readTextFile(`${ROOT}${killed}/config.json`), config);
          // The same values and output-only flags pass.
          ({ code, out } = await run(["--resume", "--out", killed, "--quiet", "--lr", "0.1"]));
          equal(code, 0, out);
          equal(await Deno.readTextFile(`${ROOT}${killed}/config.json`), config);
          deepEqual(await metricsOf(killed), await metricsOf(first));
        },
      );

      await t.step("no command changes a finished run", async () => {
        const dir = `${ROOT}${first}`;
        const before = await hashTree(dir);
        // --stage2-only writes a folder of its own, by default runs/stage2-<time>.
        let { code, out } = await run(["--stage2-only", "--features", `${first}/features`]);
        equal(code, 0, out);
        const made = /run folder (runs\/stage2-[\d-]+)/.exec(out)?.[1];
        ok(made, out);
        try {
          const record = JSON.parse(await Deno.readTextFile(`${ROOT}${made}/run.json`));
          equal(record.features, `${first}/features`);
          equal(record.stage1History.length, 6, "the features' stage-1 history is carried over");
          match(await Deno.readTextFile(`${ROOT}${made}/report.md`), /figures\/stage1\.svg/);
          deepEqual(await metricsOf(made), await metricsOf(first));
        } finally {
          await Deno.remove(`${ROOT}${made}`, { recursive: true });
        }
        // --resume of a finished run and a new run in its folder are refused.
        ({ code, out } = await run(["--resume", "--out", first, "--quiet"]));
        equal(code, 2, out);
        match(out, /Cannot resume .*first: the run has finished/);
        ({ code, out } = await run([...SMOKE, "--out", first]));
        equal(code, 2, out);
        match(out, /already holds a run/);
        // deno task stage2 writes into a new folder runs/stage2-<time>...
        ({ code, out } = await task("stage2", ["--features", `${first}/features`]));
        equal(code, 0, out);
        const written = /metrics written to (runs\/stage2-[\d-]+\/metrics\.json)/.exec(out)?.[1];
        ok(written, out);
        try {
          // ...and refuses to overwrite the file it wrote.
          const again = ["--features", `${first}/features`, "--out", written];
          ({ code, out } = await task("stage2", again));
          equal(code, 2, out);
          match(out, /Cannot write the metrics to .*: the file exists/);
        } finally {
          await Deno.remove(`${ROOT}${written.replace(/\/metrics\.json$/, "")}`, {
            recursive: true,
          });
        }
        ({ code, out } = await task("features", [`${first}/features`]));
        equal(code, 0, out);
        deepEqual(await hashTree(dir), before);
      });

      await t.step("a failed --stage2-only writes nothing", async () => {
        const runsBefore = [...Deno.readDirSync(`${ROOT}runs`)].map((e) => e.name).sort();
        for (const extra of [[], ["--out", `${RUNS}/stage2-failed`]]) {
          const { code, out } = await run([
            "--stage2-only",
            "--features",
            `${RUNS}/nothing/features`,
            "--quiet",
            ...extra,
          ]);
          equal(code, 1, out);
          match(out, /nothing\/features\/\w+\.arrow: no such file/);
        }
        ok(await missing(`${ROOT}${RUNS}/stage2-failed`));
        ok(await missing(`${ROOT}${RUNS}/nothing`));
        deepEqual([...Deno.readDirSync(`${ROOT}runs`)].map((e) => e.name).sort(), runsBefore);
      });

      await t.step(
        "paths outside a task's sandbox are refused with the command that works",
        async () => {
          const outside = await Deno.makeTempDir();
          try {
            let { code, out } = await run([...SMOKE, "--out", `${outside}/run`]);
            equal(code, 2, out);
            const command =
              `deno run --allow-read --allow-write=${outside}/run --allow-env=LTKIT_DATA,` +
              `LTKIT_TUNE,XDG_RUNTIME_DIR,DENO_WEBGPU_BACKEND scripts/train.ts ${
                SMOKE.join(" ")
              } --out ${outside}/run`;
            ok(out.includes(command), out);
            ok(await missing(`${outside}/run`));
            // Stage 2 refuses before computing anything, and the command it gives works.
            const metrics = `${outside}/m.json`;
            ({ code, out } = await task("stage2", [
              "--features",
              `${first}/features`,
              "--out",
              metrics,
            ]));
            equal(code, 2, out);
            ok(!out.includes("stage 2: "), `stage 2 ran before refusing:\n${out}`);
            const given = /\n\s+(deno run .*)/.exec(out)?.[1];
            equal(
              given,
              `deno run --allow-read=${first}/features,${outside} --allow-write=${outside} ` +
                `scripts/stage2.ts --features ${first}/features --out ${metrics}`,
            );
            ({ code, out } = await output(spawn(given!.split(" ").slice(1))));
            equal(code, 0, out);
            await Deno.stat(metrics);
          } finally {
            await Deno.remove(outside, { recursive: true });
          }
        },
      );

      await t.step("absurd sizes are refused before anything is created", async () => {
        const absurd = `${RUNS}/absurd`;
        const cases: [string[], RegExp][] = [
          [["--epochs", "1e12"], /Invalid --epochs "1e12": expected an integer 1\.\.10000/],
          [
            ["--batch", "2", "--steps-per-epoch", "null", "--epochs", "10000"],
            /Cannot train stage 1: 10000 epochs make 74330000 steps, more than the 16777216/,
          ],
          // --lr keeps the learning rate, which --batch alone would scale past its limit.
          [["--width", "512", "--batch", "4096", "--lr", "0.1"], /Cannot/],
          [
            ["--batch", "4096"],
            /stage1\.lr is 12\.8; .*scaled linearly with --batch \(0\.1 x 4096 \/ 32\); give --lr/,
          ],
        ];
        for (const [args, pattern] of cases) {
          const { code, out } = await run([...SMOKE, ...args, "--out", absurd]);
          ok(code === 1 || code === 2, `${args.join(" ")}: exit ${code}\n${out}`);
          match(out, pattern);
          ok(await missing(`${ROOT}${absurd}`), `${args.join(" ")} left ${absurd}`);
        }
        const config = JSON.parse(await Deno.readTextFile(`${ROOT}${first}/config.json`));
        config.stage1.epochs = 1e12;
        await Deno.writeTextFile(`${ROOT}${RUNS}/absurd.json`, JSON.stringify(config));
        const { code, out } = await run(["--config", `${RUNS}/absurd.json`, "--out", absurd]);
        equal(code, 2, out);
        match(out, /stage1\.epochs is 1000000000000; expected an integer 1\.\.10000/);
        ok(await missing(`${ROOT}${absurd}`));
      });

      await t.step("bad flags and bad folders get clear errors", async () => {
        const cases: [string[], RegExp][] = [
          [["--epochs=-1"], /Invalid --epochs "-1": expected an integer 1\.\.10000/],
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

Deno.test({
  name: "a run whose batch the device splits records the split in run.json, the log, the report " +
    "and --timings",
  ignore: noGpu,
  sanitizeResources: false,
  async fn() {
    // A per-buffer limit that holds half a smoke batch's largest tensor: 2 micro-batches.
    const config = presetConfig("smoke");
    const batch = config.stage1.batch;
    const spec = modelSpec(config, 10, [1, 28, 28]);
    const limit = stepMemory(spec, batch / 2).largest.bytes;
    const out = `${RUNS}/split`;
    const again = `${out}-features`;
    const rerun = `${out}-rerun`;
    const args = parseTrainArgs([
      ...["--preset", "smoke", "--epochs", "1", "--steps-per-epoch", "3"],
      ...["--methods", "tau", "--eval-limit", "60", "--timings", "--out", `${ROOT}${out}`],
    ]);
    try {
      const lines: string[] = [];
      const printed: string[] = [];
      const [write, print] = [Deno.stderr.writeSync, console.log];
      const capture = (p: Uint8Array) => {
        lines.push(new TextDecoder().decode(p));
        return p.length;
      };
      Deno.stderr.writeSync = capture;
      console.log = (...parts: unknown[]) => void printed.push(parts.join(" "));
      try {
        await runExperiment(args, { maxStorageBufferBindingSize: limit, maxBufferSize: limit });
      } finally {
        Deno.stderr.writeSync = write;
        console.log = print;
      }
      // --timings times the step as it trains: split, and says so.
      ok(
        printed.some((t) => t.includes(`batch ${batch} as 2 micro-batches of ${batch / 2}`)),
        printed.join("\n"),
      );
      const log = lines.join("");
      const split = `batch ${batch} runs as 2 micro-batches of ${batch / 2} (gradients summed, ` +
        "one update per step; batch-norm statistics and running-statistic updates per " +
        "micro-batch)";
      ok(log.includes(`stage 1: ${describeResNet(spec)}, 1 epochs; ${split}`), log);
      const record = JSON.parse(await Deno.readTextFile(`${ROOT}${out}/run.json`));
      deepEqual(record.stage1MicroBatches, { count: 2, size: batch / 2 });
      const report = await Deno.readTextFile(`${ROOT}${out}/report.md`);
      ok(report.includes(`Stage 1 on this device: ${split}; a device with other buffer`), report);
      // config.json holds what was asked for, not the device's split: a rerun plans its own.
      ok(!(await Deno.readTextFile(`${ROOT}${out}/config.json`)).includes("micro"));
      // Features from the checkpoint on the same device: the network is built at the
      // micro-batch (the whole batch does not fit), and the split it was trained with is kept.
      await runExperiment(
        parseTrainArgs([
          ...["--preset", "smoke", "--methods", "tau", "--eval-limit", "60", "--quiet"],
          ...["--from-checkpoint", `${ROOT}${out}/checkpoint.bin`, "--out", `${ROOT}${again}`],
        ]),
        { maxStorageBufferBindingSize: limit, maxBufferSize: limit },
      );
      const features = JSON.parse(await Deno.readTextFile(`${ROOT}${again}/run.json`));
      deepEqual(features.stage1MicroBatches, { count: 2, size: batch / 2 });
      // A rerun from its config.json on a device that runs the batch whole says that the
      // numbers will differ, and records its own split.
      lines.length = 0;
      Deno.stderr.writeSync = capture;
      try {
        await runExperiment(
          parseTrainArgs([
            ...["--config", `${ROOT}${out}/config.json`, "--out", `${ROOT}${rerun}`],
            ...["--methods", "tau"],
          ]),
        );
      } finally {
        Deno.stderr.writeSync = write;
      }
      ok(
        lines.join("").includes(
          `ran batch ${batch} as 2 micro-batches of ${batch / 2}, this device runs it whole; ` +
            "batch-norm statistics are per micro-batch, so the numbers differ",
        ),
        lines.join(""),
      );
      const whole = JSON.parse(await Deno.readTextFile(`${ROOT}${rerun}/run.json`));
      deepEqual(whole.stage1MicroBatches, { count: 1, size: batch });
    } finally {
      // The run folders and this file's runs/ folder (the first test made and removes it too).
      for (const dir of [out, again, rerun, RUNS]) {
        await Deno.remove(`${ROOT}${dir}`, { recursive: true }).catch(() => {});
      }
    }
  },
});
