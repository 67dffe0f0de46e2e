/**
 * The permissions each `deno task` runs with, and the check that refuses, before any work, a path
 * the task may not touch, printing the exact command that runs the same job there.
 *
 * Deno's own message ("run again with the --allow-write flag") comes only when the file is
 * opened, which for stage 2 is after the results are computed, and it suggests granting
 * everything. The table below is deno.json's task list as data; a test checks they agree.
 *
 * @module
 */

/**
 * A task's permission flags (as in deno.json, in order) and its script.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TASK_PERMISSIONS } from "./_permissions.ts";
 * assert.equal(TASK_PERMISSIONS.stage2.script, "scripts/stage2.ts");
 * ```
 */
export interface TaskPermissions {
  /** `--allow-*` flags exactly as deno.json's task gives them. */
  flags: readonly string[];
  /** The script the task runs. */
  script: string;
}

/**
 * The tasks that read or write user-chosen paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TASK_PERMISSIONS } from "./_permissions.ts";
 * assert.deepEqual(TASK_PERMISSIONS.features.flags, ["--allow-read=runs"]);
 * ```
 */
export const TASK_PERMISSIONS = {
  train: {
    flags: [
      "--allow-read",
      "--allow-write=runs",
      "--allow-env=LTKIT_DATA,LTKIT_TUNE,XDG_RUNTIME_DIR,DENO_WEBGPU_BACKEND",
    ],
    script: "scripts/train.ts",
  },
  stage2: { flags: ["--allow-read=runs", "--allow-write=runs"], script: "scripts/stage2.ts" },
  features: { flags: ["--allow-read=runs"], script: "scripts/features.ts" },
  pack: { flags: ["--allow-read", "--allow-write=data", "--allow-ffi"], script: "scripts/pack.ts" },
} as const satisfies Record<string, TaskPermissions>;

/**
 * A task that {@link checkPaths} knows.
 *
 * @example
 * ```ts
 * import type { TaskName } from "./_permissions.ts";
 * const task: TaskName = "train";
 * ```
 */
export type TaskName = keyof typeof TASK_PERMISSIONS;

/**
 * Paths a job will read and write.
 *
 * @example
 * ```ts
 * import type { PathNeeds } from "./_permissions.ts";
 * const needs: PathNeeds = { read: ["runs/a/features"], write: ["runs/stage2-x"] };
 * ```
 */
export interface PathNeeds {
  /** Files or folders the job reads. */
  read?: readonly string[];
  /** Files or folders the job writes (a folder covers everything below it). */
  write?: readonly string[];
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command that runs `task` with `argv` and exactly the access `needs` asks for: each
 * path-restricted permission of the task is replaced by the paths needed, the others are kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandFor } from "./_permissions.ts";
 * assert.equal(
 *   commandFor("stage2", ["--features", "/d/features"], {
 *     read: ["/d/features"],
 *     write: ["/tmp"],
 *   }),
 *   "deno run --allow-read=/d/features --allow-write=/tmp scripts/stage2.ts --features /d/features",
 * );
 * ```
 */
export function commandFor(task: TaskName, argv: readonly string[], needs: PathNeeds): string {
  const { flags, script } = TASK_PERMISSIONS[task];
  const out = flags.map((flag) => {
    const kind = /^--allow-(read|write)=/.exec(flag)?.[1] as "read" | "write" | undefined;
    if (!kind) return flag;
    const paths = [...new Set(needs[kind] ?? [])];
    return paths.length === 0 ? flag : `--allow-${kind}=${paths.join(",")}`;
  });
  return ["deno", "run", ...out, script, ...argv].map(quote).join(" ");
}

/**
 * Refuses, before any work, a job that would touch a path this process may not: the error names
 * each such path and gives the exact command that runs the same job with access to them (and
 * nothing more than the task already had).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPaths } from "./_permissions.ts";
 * // Under `deno test --allow-read --allow-write` everything is granted.
 * await checkPaths("stage2", ["--features", "runs/a"], { read: ["runs/a"], write: ["/tmp"] });
 * assert.ok(true);
 * ```
 */
export async function checkPaths(
  task: TaskName,
  argv: readonly string[],
  needs: PathNeeds,
): Promise<void> {
  const denied: string[] = [];
  for (const name of ["read", "write"] as const) {
    for (const path of needs[name] ?? []) {
      const { state } = await Deno.permissions.query({ name, path });
      if (state !== "granted") denied.push(`${name} ${path}`);
    }
  }
  if (denied.length === 0) return;
  const allowed = TASK_PERMISSIONS[task].flags.filter((f) => /^--allow-(read|write)/.test(f));
  throw new Deno.errors.PermissionDenied(
    `Cannot ${denied.join(" or ")}: deno task ${task} runs with ${allowed.join(" ")}. ` +
      `Run the same job with access to ${denied.length === 1 ? "that path" : "those paths"}:\n` +
      `  ${commandFor(task, argv, needs)}`,
  );
}
