/**
 * The permission table agrees with deno.json's tasks, and the commands it prints are exact.
 */

import {
  deepStrictEqual as deepEqual,
  match,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import {
  checkPaths,
  commandFor,
  TASK_PERMISSIONS,
  type TaskName,
} from "../../lib/train/_permissions.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("the permission table is deno.json's task list", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks;
  for (const [name, entry] of Object.entries(TASK_PERMISSIONS)) {
    const words = (tasks[name] as string).split(/\s+/);
    deepEqual(words.slice(0, 2), ["deno", "run"], name);
    equal(words[words.length - 1], entry.script, name);
    deepEqual(words.slice(2, -1), [...entry.flags], name);
  }
});

Deno.test("commands replace only the path-restricted permissions and quote odd arguments", () => {
  equal(
    commandFor("train", ["--out", "/tmp/my run"], { write: ["/tmp/my run"] }),
    "deno run --allow-read '--allow-write=/tmp/my run' " +
      "--allow-env=LTKIT_DATA,LTKIT_TUNE,XDG_RUNTIME_DIR,DENO_WEBGPU_BACKEND scripts/train.ts " +
      "--out '/tmp/my run'",
  );
  equal(
    commandFor("features", ["/d/x.arrow"], { read: ["/d/x.arrow", "/d/x.arrow"] }),
    "deno run --allow-read=/d/x.arrow scripts/features.ts /d/x.arrow",
  );
});

Deno.test({
  name: "a path the process may not write is refused with the command that grants it",
  permissions: { read: true, write: ["/tmp"] },
  async fn() {
    const task: TaskName = "stage2";
    await checkPaths(task, [], { write: ["/tmp/fine"] });
    await rejects(
      checkPaths(task, ["--out", "/elsewhere/m.json"], {
        read: ["runs/a"],
        write: ["/elsewhere"],
      }),
      (error: Error) => {
        equal(error.name, "PermissionDenied");
        match(error.message, /^Cannot write \/elsewhere: deno task stage2 runs with /);
        match(
          error.message,
          /\n {2}deno run --allow-read=runs\/a --allow-write=\/elsewhere scripts\/stage2\.ts --out \/elsewhere\/m\.json$/,
        );
        return true;
      },
    );
  },
});
