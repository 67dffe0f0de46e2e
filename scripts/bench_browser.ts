/// <reference lib="dom" />
/**
 * How long the stage-2 page takes for every method in headless Chromium's WebGPU, against
 * runStage2 in Deno on the same dump: a synthetic dump the size of the `cpu` preset's
 * Fashion-MNIST-LT features (10 classes, 64-d, 14,866 training rows).
 *
 * ```text
 * deno task bench:browser
 * ```
 *
 * A figure, not a test: the page's own status line reports the time of its stage-2 run.
 *
 * @module
 */

import { readFeatureDir } from "../lib/features/load.ts";
import { writeSyntheticFeatureDir } from "../lib/features/synthetic.ts";
import { requestGpu } from "../lib/gpu/device.ts";
import { runStage2 } from "../lib/stage2/run.ts";
import { findChromium, launchChromium } from "./_chromium.ts";
import { serveView } from "./view.ts";

const COUNTS = [5980, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60];

const dir = await Deno.makeTempDir({ prefix: "ltkit_bench_browser_" });
try {
  await writeSyntheticFeatureDir(dir, {
    trainCounts: COUNTS,
    featureDim: 64,
    valPerClass: 20,
    testPerClass: 1000,
  });
  const features = await readFeatureDir(dir);
  const gpu = await requestGpu({ warnFallback: false });
  const denoStart = performance.now();
  await runStage2(features, { gpu, seed: 0 });
  const denoMs = performance.now() - denoStart;
  const adapter = gpu.adapter.description;
  gpu.destroy();

  const chromium = await findChromium();
  if (chromium === null) throw new Error("Cannot run the browser bench: no Chromium installed");
  const { server, url } = await serveView({ folder: dir });
  const browser = await launchChromium(chromium);
  try {
    const page = await browser.newPage();
    const start = performance.now();
    await page.goto(url);
    await page.waitForFunction(
      () => ["done", "error", "no-webgpu"].includes(document.body.dataset.state ?? ""),
      null,
      { timeout: 600_000 },
    );
    const pageMs = performance.now() - start;
    const status = await page.locator("#status").innerText();
    console.log(`Deno runStage2, every method (${adapter}): ${(denoMs / 1000).toFixed(2)} s`);
    console.log(`page load to every method done (Chromium): ${(pageMs / 1000).toFixed(2)} s`);
    console.log(`page status: ${status}`);
  } finally {
    await browser.close();
    await server.shutdown();
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
