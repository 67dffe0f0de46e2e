/**
 * Several seeds: `deno task train --seeds` and `deno task stage2 --seeds` run one folder per seed,
 * summarise mean and sample std, keep finished seeds on a rerun after a kill, and refuse to change
 * a finished summary or a group's settings. Run with the tasks' own permissions.
 */

import { deepStrictEqual as deepEqual, match, ok, strictEqual as equal } from "node:assert/strict";
import { validateMetricsFile } from "../../lib/eval/metrics.ts";
import type { SeedSummary } from "../../lib/eval/seeds.ts";
import { makeSyntheticFeatures, writeFeatureDir } from "../../lib/features/synthetic.ts";
import { exists } from "../../lib/io/_paths.ts";
import { noGpu } from "../_gpu.ts";
import { waitUntil } from "../_wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const RUNS = `runs/_test-seeds-${Deno.pid}`;
const TASKS: Record<string, string> = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`))
  .tasks;

function spawn(name: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [...TASKS[name].split(/\s+/).slice(1), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
  }).spawn();
}

async function run(name: string, args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await spawn(name, args).output();
  return { code, out: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr) };
}

async function json(path: string) {
  return JSON.parse(await Deno.readTextFile(`${ROOT}${path}`));
}

/** Mean and sample std, computed here independently of lib/eval/seeds.ts. */
function meanStd(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return [m, Math.sqrt(ss / (xs.length - 1))];
}

function checkSummary(summary: SeedSummary, metrics: ReturnType<typeof validateMetricsFile>[]) {
  for (const [key, method] of Object.entries(summary.methods)) {
    const values = metrics.map((m) => m.methods[key].test.all);
    const [mean, std] = meanStd(values);
    const stat = method.stats["test.all"];
    deepEqual(stat.values, values, key);
    ok(Math.abs(stat.mean! - mean) < 1e-12, `${key} mean`);
    ok(Math.abs(stat.std! - std) < 1e-12, `${key} std`);
  }
}

Deno.test({
  name: "deno task train --seeds runs each seed, summarises, and continues after a kill",
  ignore: noGpu,
  sanitizeResources: false,
  async fn() {
    await Deno.mkdir(`${ROOT}${RUNS}`, { recursive: true });
    const group = `${RUNS}/train`;
    const args = ["--preset", "smoke", "--methods", "joint,ncm,crt", "--quiet"];
    try {
      // Killed once seed 0 is finished: seed 0 is kept, seed 1 is continued on the rerun.
      const child = spawn("train", [...args, "--seeds", "0,1", "--out", group]);
      const marker = `${ROOT}${group}/seed-0/run.json`;
      await waitUntil(() => exists(marker), 60);
      child.kill("SIGKILL");
      equal((await child.status).success, false, "the group finished before it could be killed");
      await child.stdout.cancel();
      await child.stderr.cancel();
      const seed0 = await Deno.readFile(`${ROOT}${group}/seed-0/metrics.json`);

      // Another setting is refused before any work.
      let { code, out } = await run("train", [
        ...args,
        "--lr",
        "0.5",
        "--seeds",
        "0,1",
        "--out",
        group,
      ]);
      equal(code, 2, out);
      match(out, /Cannot continue the seed group .*stage1\.lr \(0\.1 there, 0\.5 now\)/);

      ({ code, out } = await run("train", [...args, "--seeds", "0,1", "--out", group]));
      equal(code, 0, out);
      deepEqual(await Deno.readFile(`${ROOT}${group}/seed-0/metrics.json`), seed0);
      const metrics = [
        validateMetricsFile(await json(`${group}/seed-0/metrics.json`)),
        validateMetricsFile(await json(`${group}/seed-1/metrics.json`)),
      ];
      deepEqual(metrics.map((m) => m.seed), [0, 1]);
      const summary: SeedSummary = await json(`${group}/summary/summary.json`);
      deepEqual(summary.seeds, [0, 1]);
      checkSummary(summary, metrics);
      match(await Deno.readTextFile(`${ROOT}${group}/summary/summary.md`), / ± /);
      match(await Deno.readTextFile(`${ROOT}${group}/summary/figures/seeds.svg`), /error-bars/);

      // A finished summary stays as it is.
      ({ code, out } = await run("train", [...args, "--seeds", "0,1", "--out", group]));
      equal(code, 2, out);
      match(out, /its summary is finished/);
      ({ code, out } = await run("train", [...args, "--seeds", "0,1", "--seed", "2"]));
      equal(code, 2, out);
      match(out, /--seeds and --seed exclude each other/);
    } finally {
      await Deno.remove(`${ROOT}${RUNS}`, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task stage2 --seeds summarises the trained methods over seeds on one dump",
  ignore: noGpu,
  async fn() {
    await Deno.mkdir(`${ROOT}${RUNS}`, { recursive: true });
    try {
      const features = `${RUNS}/features`;
      await writeFeatureDir(
        `${ROOT}${features}`,
        makeSyntheticFeatures({ trainCounts: [120, 30, 8], featureDim: 6 }),
      );
      const group = `${RUNS}/stage2`;
      const args = ["--features", features, "--methods", "ncm,crt", "--epochs", "2", "--quiet"];
      let { code, out } = await run("stage2", [...args, "--seeds", "3,4,5", "--out", group]);
      equal(code, 0, out);
      match(out, /cRT +\d+\.\d\d ± \d+\.\d\d/);
      const metrics = await Promise.all(
        [3, 4, 5].map(async (s) =>
          validateMetricsFile(await json(`${group}/seed-${s}/metrics.json`))
        ),
      );
      const summary: SeedSummary = await json(`${group}/summary/summary.json`);
      checkSummary(summary, metrics);
      // NCM has no randomness: the same figure for every seed, std 0.
      equal(summary.methods.ncm.stats["test.all"].std, 0);
      ({ code, out } = await run("stage2", [...args, "--seeds", "3,4,5", "--out", group]));
      equal(code, 2, out);
      match(out, /its summary is finished/);
    } finally {
      await Deno.remove(`${ROOT}${RUNS}`, { recursive: true });
    }
  },
});
