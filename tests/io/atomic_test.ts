import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import {
  AtomicFile,
  injectWriteFault,
  removeStaleTemporaries,
  resetWriteFault,
  temporaryPath,
  writeAtomic,
  writeFileAtomic,
} from "../../lib/io/_atomic.ts";
import { saveCheckpoint } from "../../lib/train/checkpoint.ts";
import { writeMetricsFile } from "../../lib/eval/write_metrics.ts";
import { writeImageTable } from "../../lib/data/arrow_table.ts";
import type { MetricsFile } from "../../lib/eval/metrics.ts";

const ENOSPC = "No space left on device (os error 28)";
/** Above Linux's largest pid_max (2^22), so no process can have these pids. */
const DEAD = [2 ** 22 + 17, 2 ** 22 + 18, 2 ** 22 + 19];

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    resetWriteFault();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("temporaries are DIR/.NAME.PID.partial and a write replaces the file whole", async () => {
  await withDir(async (dir) => {
    equal(temporaryPath(`${dir}/a.bin`), `${dir}/.a.bin.${Deno.pid}.partial`);
    await writeFileAtomic(`${dir}/a.bin`, new Uint8Array([1, 2, 3]), "test file");
    await writeFileAtomic(`${dir}/a.bin`, "new", "test file");
    equal(await Deno.readTextFile(`${dir}/a.bin`), "new");
    const file = await AtomicFile.open(`${dir}/a.bin`, "test file");
    await file.write(new TextEncoder().encode("half"));
    deepEqual(names(dir), [`.a.bin.${Deno.pid}.partial`, "a.bin"]);
    equal(await Deno.readTextFile(`${dir}/a.bin`), "new", "the old file stays until commit");
    await file.commit();
    deepEqual(names(dir), ["a.bin"]);
    equal(await Deno.readTextFile(`${dir}/a.bin`), "half");
  });
});

Deno.test("a failed write names the file and what it is, keeps the old file, leaves no temporary", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/checkpoint.bin`;
    await writeFileAtomic(path, "epoch 1", "checkpoint");
    injectWriteFault({ failAt: 1 });
    const error = await writeFileAtomic(path, "epoch 2".repeat(1000), "checkpoint").then(
      () => null,
      (e: Error) => e,
    );
    ok(error, "the injected fault did not fire");
    equal(error.message, `Cannot write checkpoint ${path}: ${ENOSPC}`);
    equal((error as { code?: string }).code, "ENOSPC");
    equal((error.cause as Error).message, ENOSPC);
    deepEqual(names(dir), ["checkpoint.bin"]);
    equal(await Deno.readTextFile(path), "epoch 1");
    // The fault fires once.
    await writeFileAtomic(path, "epoch 2", "checkpoint");
    equal(await Deno.readTextFile(path), "epoch 2");
  });
});

Deno.test("the Nth write fails, counting only matching paths; streamed writes count each piece", async () => {
  await withDir(async (dir) => {
    injectWriteFault({ failAt: 2, path: /\.json$/ });
    await writeFileAtomic(`${dir}/a.json`, "{}", "config");
    await writeFileAtomic(`${dir}/b.bin`, "x", "other"); // does not count
    await rejects(writeFileAtomic(`${dir}/c.json`, "{}", "metrics"), {
      message: `Cannot write metrics ${dir}/c.json: ${ENOSPC}`,
    });
    deepEqual(names(dir), ["a.json", "b.bin"]);

    injectWriteFault({ failAt: 3 });
    await rejects(
      writeAtomic(`${dir}/stream.arrow`, "feature dump", async (file) => {
        for (let i = 0; i < 5; i++) await file.write(new Uint8Array(1000).fill(i));
      }),
      { message: `Cannot write feature dump ${dir}/stream.arrow: ${ENOSPC}` },
    );
    deepEqual(names(dir), ["a.json", "b.bin"]);

    // An error of the caller's own passes through unchanged, and the temporary goes too.
    await rejects(
      writeAtomic(`${dir}/own.bin`, "test file", async (file) => {
        await file.write(new Uint8Array(10));
        throw new RangeError("Cannot encode: bad value");
      }),
      { name: "RangeError", message: "Cannot encode: bad value" },
    );
    deepEqual(names(dir), ["a.json", "b.bin"]);
  });
});

Deno.test("every writer of the kit goes through the helper", async () => {
  await withDir(async (dir) => {
    const cases: [string, () => Promise<unknown>][] = [
      ["checkpoint", () =>
        saveCheckpoint(`${dir}/checkpoint.bin`, {
          epoch: 1,
          step: 1,
          rngState: [0, 1],
          config: null,
          history: [],
          tensors: [{ name: "w", shape: [2], data: Float32Array.of(1, 2) }],
        })],
      ["metrics", () => writeMetricsFile(`${dir}/metrics.json`, {} as MetricsFile)],
      ["image table", () =>
        writeImageTable(`${dir}/train.arrow`, {
          images: new Uint8Array(4),
          labels: Int32Array.of(0),
          count: 1,
          channels: 1,
          height: 2,
          width: 2,
          classCount: 1,
        })],
    ];
    for (const [what, write] of cases) {
      injectWriteFault({ failAt: 1 });
      await rejects(write(), (e: Error) => {
        ok(e.message.startsWith(`Cannot write ${what} ${dir}/`), e.message);
        ok(e.message.endsWith(ENOSPC), e.message);
        return true;
      });
      deepEqual(names(dir), [], `${what} left files behind`);
    }
  });
});

Deno.test("a write error keeps its Deno error class and names the file", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/missing/config.json`;
    await rejects(writeFileAtomic(path, "{}", "config"), (e: Error) => {
      ok(e instanceof Deno.errors.NotFound, e.name);
      ok(e.message.startsWith(`Cannot write config ${path}: No such file or directory`), e.message);
      ok(e.cause instanceof Deno.errors.NotFound);
      return true;
    });
  });
});

/** Stale temporaries of every scheme (dead pids), live ones, and files that only look alike. */
async function plant(dir: string): Promise<{ stale: string[]; kept: string[] }> {
  const stale = [
    `.train.arrow.${DEAD[0]}.partial`,
    `checkpoint.bin.tmp-${DEAD[1]}`,
    `metrics.json.${DEAD[2]}.partial`,
  ];
  const kept = [
    `.val.arrow.${Deno.pid}.partial`, // this process is writing it
    "notes.partial",
    "data.tmp",
    "train.arrow",
  ];
  for (const name of [...stale, ...kept]) await Deno.writeTextFile(`${dir}/${name}`, "x");
  return { stale, kept };
}

Deno.test({
  name: "removeStaleTemporaries removes the temporaries of dead processes only (/proc)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await withDir(async (dir) => {
      const { stale, kept } = await plant(dir);
      // Deno opens /proc only to --allow-all, which the test task does not have: a child does.
      const script = `${dir}/clean.ts`;
      const module = new URL("../../lib/io/_atomic.ts", import.meta.url).href;
      await Deno.writeTextFile(
        script,
        `import { removeStaleTemporaries } from "${module}";\n` +
          `const removed = await removeStaleTemporaries(Deno.args[0], { useProc: true });\n` +
          `console.log(JSON.stringify(removed));\n`,
      );
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", script, dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      equal(code, 0, new TextDecoder().decode(stderr));
      deepEqual(JSON.parse(new TextDecoder().decode(stdout)), [...stale].sort());
      await Deno.remove(script);
      deepEqual(names(dir), [...kept].sort());
      // An own-pid temporary older than this process belongs to an earlier one with the same pid.
      await Deno.utime(`${dir}/.val.arrow.${Deno.pid}.partial`, 0, 0);
      deepEqual(await removeStaleTemporaries(dir), [`.val.arrow.${Deno.pid}.partial`]);
      await removeStaleTemporaries(`${dir}/absent`); // a missing folder holds nothing
    });
  },
});

Deno.test("without /proc, temporaries older than this process are stale", async () => {
  await withDir(async (dir) => {
    const { stale, kept } = await plant(dir);
    deepEqual(await removeStaleTemporaries(dir, { useProc: false }), [], "too young to judge");
    for (const name of stale) await Deno.utime(`${dir}/${name}`, 0, 0);
    deepEqual(await removeStaleTemporaries(dir, { useProc: false, of: "train.arrow" }), [
      stale[0],
    ]);
    deepEqual(await removeStaleTemporaries(dir, { useProc: false }), [stale[1], stale[2]].sort());
    deepEqual(names(dir), [...kept].sort());
  });
});

Deno.test("removeStaleTemporaries works under the train task's permissions (no /proc)", async () => {
  await withDir(async (dir) => {
    const { stale, kept } = await plant(dir);
    for (const name of stale) await Deno.utime(`${dir}/${name}`, 0, 0);
    // The live writer's temporary counts as written after the child started, however slowly a
    // loaded machine starts it.
    const later = Date.now() / 1000 + 60;
    for (const name of kept) await Deno.utime(`${dir}/${name}`, later, later);
    const script = `${dir}/clean.ts`;
    const module = new URL("../../lib/io/_atomic.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { removeStaleTemporaries } from "${module}";\n` +
        `console.log(JSON.stringify(await removeStaleTemporaries(Deno.args[0])));\n`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", `--allow-write=${dir}`, script, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    equal(code, 0, new TextDecoder().decode(stderr));
    deepEqual(JSON.parse(new TextDecoder().decode(stdout)), [...stale].sort());
    deepEqual(names(dir), [...kept, "clean.ts"].sort());
  });
});

Deno.test("one process cannot write one file twice at once (they would share a temporary)", async () => {
  await withDir(async (dir) => {
    const first = await AtomicFile.open(`${dir}/a.bin`, "test file");
    await rejects(AtomicFile.open(`${dir}/a.bin`, "test file"), {
      message: `Cannot write test file ${dir}/a.bin: this process is writing it already`,
    });
    await first.write(new Uint8Array([1]));
    await first.commit();
    await first.abort(); // after a commit: nothing to do, the file stays
    deepEqual(names(dir), ["a.bin"]);
    await writeFileAtomic(`${dir}/a.bin`, "again", "test file");
    equal(await Deno.readTextFile(`${dir}/a.bin`), "again");
  });
});
