/**
 * Tests that need the real Fashion-MNIST files must fail under CI=true when the files are
 * missing, and be ignored loudly elsewhere. The files are hidden from a child `deno test` with
 * --deny-read on every place the search looks.
 */

import { ok, strictEqual as equal } from "node:assert/strict";
import { DEBIAN_FASHION_MNIST_DIR } from "../../lib/data/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TEST_FILE = new URL("./fashion_mnist_test.ts", import.meta.url).pathname;
const HIDDEN = [
  DEBIAN_FASHION_MNIST_DIR,
  `${ROOT}data/fashion-mnist`,
  `${Deno.cwd()}/data/fashion-mnist`,
];

async function runHidden(ci: boolean) {
  const env = Deno.env.toObject();
  delete env.LTKIT_DATA;
  delete env.CI;
  if (ci) env.CI = "true";
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "--no-check",
      "--allow-read",
      `--deny-read=${HIDDEN.join(",")}`,
      "--allow-write",
      "--allow-env",
      TEST_FILE,
      "--filter",
      "real Fashion-MNIST",
    ],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test("without the files: ignored with a loud message, or failed under CI=true", async () => {
  const local = await runHidden(false);
  equal(local.code, 0, local.text);
  ok(local.text.includes("Fashion-MNIST NOT FOUND"), local.text);
  ok(local.text.includes("apt-get install dataset-fashion-mnist"), local.text);
  ok(/1 ignored/.test(local.text), local.text);
  const ci = await runHidden(true);
  ok(ci.code !== 0, ci.text);
  ok(ci.text.includes("CI=true but the real Fashion-MNIST files are missing"), ci.text);
  ok(/1 failed/.test(ci.text), ci.text);
});
