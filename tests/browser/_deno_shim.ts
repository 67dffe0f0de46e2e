/**
 * The part of the `Deno` namespace that the kernel tests use, for running them in a browser page:
 * `Deno.test` collects the tests (the page runs them one by one and reports each), `Deno.env` is
 * an in-memory map, `Deno.permissions` grants env reads and `Deno.version` names the page.
 *
 * Import it before any test file: modules run in import order, and the tests register
 * themselves when they run.
 *
 * @module
 */

/** A collected test. */
export interface ShimTest {
  /** The test's name. */
  name: string;
  /** True when the test asked to be ignored (no GPU adapter). */
  ignore: boolean;
  /** The body. */
  fn: () => unknown;
}

/** One test's outcome, as the page reports it. */
export interface ShimResult {
  /** The test's name. */
  name: string;
  /** passed, failed or ignored. */
  status: "passed" | "failed" | "ignored";
  /** Wall time in milliseconds. */
  ms: number;
  /** The error's message and stack when it failed. */
  error?: string;
}

/** Every test registered so far, in registration order. */
export const collected: ShimTest[] = [];

type TestFn = () => unknown;
type TestDefinition = { name: string; fn: TestFn; ignore?: boolean };

function register(
  a: string | TestDefinition | TestFn,
  b?: TestFn | Partial<TestDefinition>,
  c?: TestFn,
): void {
  if (typeof a === "function") {
    collected.push({ name: a.name, ignore: false, fn: a });
  } else if (typeof a === "string") {
    const fn = (typeof b === "function" ? b : c)!;
    const options = typeof b === "object" ? b : {};
    collected.push({ name: a, ignore: options.ignore === true, fn });
  } else {
    collected.push({ name: a.name, ignore: a.ignore === true, fn: a.fn });
  }
}

// CI=true: in the page a missing adapter fails the GPU tests instead of skipping them, since
// checking the kernels on this second WebGPU implementation is the point.
const env = new Map<string, string>([["CI", "true"]]);

(globalThis as unknown as { Deno: unknown }).Deno = {
  test: register,
  env: {
    get: (name: string) => env.get(name),
    set: (name: string, value: string) => void env.set(name, value),
    delete: (name: string) => void env.delete(name),
  },
  permissions: { querySync: () => ({ state: "granted" }) },
  version: { deno: "0.0.0-browser" },
};

/**
 * Runs the collected tests one after another (GPU tests share one device), calling `report`
 * after each.
 *
 * @param report Called with each outcome as soon as it is known.
 * @param filter Only tests whose name contains this text.
 * @returns Every outcome.
 */
export async function runCollected(
  report: (result: ShimResult) => unknown = () => {},
  filter = "",
): Promise<ShimResult[]> {
  const results: ShimResult[] = [];
  for (const test of collected.filter((t) => t.name.includes(filter))) {
    const start = performance.now();
    let result: ShimResult;
    if (test.ignore) {
      result = { name: test.name, status: "ignored", ms: 0 };
    } else {
      try {
        await test.fn();
        result = { name: test.name, status: "passed", ms: performance.now() - start };
      } catch (error) {
        const text = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : `${error}`;
        result = { name: test.name, status: "failed", ms: performance.now() - start, error: text };
      }
    }
    results.push(result);
    await report(result);
  }
  return results;
}
