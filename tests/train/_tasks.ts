/**
 * Running a deno.json task from a test with the task's own command line (its permissions), so
 * that a test sees what a user's `deno task NAME ARGS` does.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url).pathname;
const TASKS: Record<string, string> = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`))
  .tasks;

/** Runs task `name` with `args` in the repository root; returns its exit code and output. */
export async function runTask(
  name: string,
  args: string[],
): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [...TASKS[name].split(/\s+/).slice(1), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
  }).output();
  return { code, out: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr) };
}
