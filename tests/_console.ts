/** Test helper: run code with console output captured, so test logs stay readable. */

/** Runs `fn` with console.log and console.error captured; returns its value and the output. */
export async function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; out: string }> {
  const lines: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    return { value: await fn(), out: lines.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}
