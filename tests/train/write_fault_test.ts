/**
 * A full disk in the middle of a smoke run: the failed write says which file and what it was,
 * nothing half-written stays behind, the last good checkpoint loads, and --resume finishes.
 */

import { ok, strictEqual as equal } from "node:assert/strict";
import { injectWriteFault, resetWriteFault } from "../../lib/io/_atomic.ts";
import { loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { runExperiment } from "../../lib/train/experiment.ts";
import { parseTrainArgs } from "../../lib/train/flags.ts";
import { noGpu } from "../_gpu.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The train task's command line: resuming with its permissions, /proc is out of reach. */
const TASK: string[] = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.train
  .split(/\s+/).slice(1);

/** Every temporary name the kit has ever used. */
const TEMPORARY = /\.partial$|\.tmp-\d+$/;

async function temporaries(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) found.push(...await temporaries(`${dir}/${e.name}`));
    else if (TEMPORARY.test(e.name)) found.push(`${dir}/${e.name}`);
  }
  return found;
}

Deno.test({
  name: "a full disk at the epoch-2 checkpoint keeps epoch 1's, leaves no temporary, and resumes",
  ignore: noGpu,
  sanitizeResources: false,
  async fn() {
    // Under runs/, where the train task may write.
    const rel = `runs/_fault-${Deno.pid}`;
    const dir = `${ROOT}${rel}`;
    await Deno.mkdir(dir, { recursive: true });
    try {
      const checkpoint = `${dir}/checkpoint.bin`;
      // The smoke preset trains 2 epochs and saves a checkpoint after each.
      injectWriteFault({ failAt: 2, path: /\/checkpoint\.bin$/ });
      const error = await runExperiment(
        parseTrainArgs(["--preset", "smoke", "--out", dir, "--quiet"]),
      )
        .then(() => null, (e: Error) => e);
      resetWriteFault();
      ok(error, "the run did not fail");
      equal(
        error.message,
        `Cannot write checkpoint ${checkpoint}: No space left on device (os error 28)`,
      );
      equal((error as { code?: string }).code, "ENOSPC");
      equal((await temporaries(dir)).join(", "), "");
      equal((await loadCheckpoint(checkpoint)).epoch, 1);

      // A killed writer's leftovers (pids above Linux's largest pid_max, older than the resuming
      // process) go on resume.
      const stale = [
        `${dir}/features/.train.arrow.${2 ** 22 + 17}.partial`,
        `${dir}/checkpoint.bin.tmp-${2 ** 22 + 18}`,
      ];
      for (const path of stale) {
        await Deno.writeTextFile(path, "left by a killed run");
        await Deno.utime(path, 0, 0);
      }
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [...TASK, "--resume", "--out", rel, "--quiet"],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
        env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
      }).output();
      const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
      equal(code, 0, out);
      const done = await loadCheckpoint(checkpoint);
      equal(done.epoch, 2);
      equal(done.history.length, 2);
      await Deno.stat(`${dir}/metrics.json`);
      await Deno.stat(`${dir}/report.md`);
      equal((await temporaries(dir)).join(", "), "");
    } finally {
      resetWriteFault();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
