/**
 * Opens report.html in headless Chromium (Debian's `chromium` package): the page must load
 * without console errors, show every figure as an SVG with a real size, and screenshot.
 *
 * Without Chromium the test is skipped loudly, except under CI=true, where it fails.
 */

import assert from "node:assert/strict";
import {
  type MethodMetrics,
  METRICS_SCHEMA,
  METRICS_VERSION,
  type MetricsFile,
  splitMetrics,
} from "../../lib/eval/metrics.ts";
import { shotGroups } from "../../lib/data/shot_groups.ts";
import { fromMetrics, writeReport } from "../../lib/eval/report.ts";
import { findChromium } from "../../scripts/_chromium.ts";

const chromium = await findChromium();
const inCi = Deno.env.get("CI") === "true";
if (chromium === null && !inCi) {
  console.error(
    "\n!!! SKIPPING THE CHROMIUM REPORT TEST: no chromium binary (install Debian's `chromium` " +
      "package, or set CHROMIUM=/path/to/chrome) !!!\n",
  );
}

// NOTE: --no-sandbox because tests run as root; the rest keeps Chromium off the network and
// quiet. --enable-logging=stderr prints the page's console messages (SVG attribute errors and
// CSP refusals among them) as ":CONSOLE" lines.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--enable-logging=stderr",
  "--v=0",
];

async function runChromium(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = await Deno.makeTempDir({ prefix: "ltkit_chromium_" });
  try {
    const out = await new Deno.Command(chromium!, {
      args: [...FLAGS, `--user-data-dir=${profile}`, ...args],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `chromium exited with ${out.code}:\n${stderr}`);
    return { stdout, stderr };
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

function consoleLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.includes(":CONSOLE"));
}

/** A metrics.json as stage 2 writes it: ten long-tailed classes, twenty test images each. */
function metricsFixture(): MetricsFile {
  const counts = [5980, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60];
  const thresholds = { many: 1000, few: 200 };
  const groups = shotGroups(counts, thresholds);
  const labels = Int32Array.from({ length: 200 }, (_, i) => Math.floor(i / 20));
  // Class c is right on the first round(20 * acc(c)) of its rows, wrong (class c+1) on the rest.
  const split = (acc: (c: number) => number) =>
    splitMetrics(
      labels.map((y, i) => (i % 20 < Math.round(20 * acc(y)) ? y : (y + 1) % 10)),
      labels,
      groups,
    );
  const entry = (
    label: string,
    head: number,
    tail: number,
    norms: number[],
    extra: Partial<MethodMetrics> = {},
  ): MethodMetrics => {
    const acc = (c: number) => head + ((tail - head) * c) / 9;
    return {
      label,
      wall_ms: 800,
      val: split(acc),
      test: split(acc),
      weight_norms: norms,
      ...extra,
    };
  };
  const logs = counts.map((n) => Math.log10(n));
  const curve = (peak: number) =>
    Array.from({ length: 21 }, (_, t) => ({
      tau: t / 10,
      val_all: 0.85 - 0.1 * (t / 10 - peak) ** 2,
    }));
  return {
    schema: METRICS_SCHEMA,
    version: METRICS_VERSION,
    created: "2026-03-04T05:06:07.000Z",
    kit_version: "0.1.0",
    source: {
      features: "runs/chromium/features",
      checkpoint_sha256: "0",
      profile: {
        classNames: [
          "T-shirt/top",
          "Trouser",
          "Pullover",
          "Dress",
          "Coat",
          "Sandal",
          "Shirt",
          "Sneaker",
          "Bag",
          "Ankle boot",
        ],
      },
      backbone: null,
      feature_dim: 64,
      class_count: 10,
    },
    train_class_counts: counts,
    shot_thresholds: thresholds,
    shot_groups: groups,
    seed: 0,
    settings: {},
    methods: {
      joint: entry("Joint", 0.97, 0.55, logs.map((l) => 0.8 + 0.3 * l)),
      ncm: entry("NCM (cosine)", 0.9, 0.7, logs.map(() => 1)),
      crt: entry("cRT", 0.95, 0.75, logs.map((l) => 1.6 - 0.02 * l)),
      tau: entry("tau-norm", 0.94, 0.72, logs.map((l) => (0.8 + 0.3 * l) ** 0.1), {
        tau: 0.9,
        tau_curve: curve(0.9),
      }),
      // NOTE: one missing norm must be a gap in the bar chart, not an SVG error.
      lws: entry("LWS", 0.95, 0.76, logs.map((l, c) => (c === 9 ? NaN : 1.2 + 0.01 * l))),
      la: entry("Logit adjustment", 0.94, 0.74, [], { tau: 1, tau_curve: curve(1) }),
      bsm: entry("cRT + balanced softmax", 0.95, 0.77, logs.map(() => 1.5)),
    },
  };
}

Deno.test({
  name: "report.html loads in headless Chromium with every figure and no console error",
  ignore: chromium === null && !inCi,
  async fn() {
    if (chromium === null) {
      throw new Error(
        "Cannot run the Chromium report test: CI=true but no chromium binary was found; " +
          "install Debian's chromium package (scripts/setup.sh)",
      );
    }
    const dir = await Deno.makeTempDir({ prefix: "ltkit_report_html_" });
    try {
      const report = fromMetrics(metricsFixture(), {
        name: "chromium",
        adapter: "llvmpipe (software fallback)",
        preset: "smoke",
        presetReason: "tests",
        config: { preset: "smoke", seed: 0 },
        timings: [{ stage: "stage 1", seconds: 12 }, { stage: "total", seconds: 20 }],
        stage1History: Array.from({ length: 4 }, (_, e) => ({
          epoch: e + 1,
          loss: 1.5 / (e + 1),
          accuracy: 0.5 + 0.1 * e,
          lr: 0.1 * Math.cos((Math.PI * (e + 1)) / 8),
          seconds: 3,
          imagesPerSecond: 140,
        })),
      });
      const files = await writeReport(dir, report);
      const ids = files.figures.map((f) => f.replace(/^.*\/figures\/|\.svg$/g, ""));
      assert.equal(ids.length, 5);
      const url = `file://${files.html}`;

      // 1. The page as written: DOM has every figure's SVG, and the console stays silent.
      const plain = await runChromium(["--dump-dom", url]);
      assert.deepEqual(consoleLines(plain.stderr), [], "console messages while loading");
      const dom = plain.stdout;
      assert.ok(dom.includes("<title>Run chromium</title>"), "page title missing");
      for (const id of ids) {
        assert.ok(
          new RegExp(`<figure id="figure-${id}"[^>]*>\\s*<svg `).test(dom),
          `figure ${id} has no SVG in the DOM`,
        );
      }
      assert.ok(!/\bNaN\b|\bInfinity\b|\bundefined\b|\[object |Cannot /.test(dom), "error text");

      // 2. The same page with a probe appended (and the CSP that forbids scripts removed):
      // every figure's SVG is laid out with a real size and has drawn shapes and text.
      const html = await Deno.readTextFile(files.html);
      const probe = `<script>
const figures = [...document.querySelectorAll("figure")].map((f) => {
  const svg = f.querySelector(":scope > svg");
  const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
  return { id: f.id, width: box.width, height: box.height,
    shapes: svg ? svg.querySelectorAll("path, rect, circle, line").length : 0,
    texts: svg ? svg.querySelectorAll("text").length : 0 };
});
const pre = document.createElement("pre");
pre.id = "probe";
pre.textContent = JSON.stringify({ figures, tables: document.querySelectorAll("table").length,
  overflow: document.documentElement.scrollWidth - window.innerWidth });
document.body.append(pre);
</script>`;
      const probed = html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>\n/, "")
        .replace("</body>", `${probe}\n</body>`);
      assert.notEqual(probed, html);
      await Deno.writeTextFile(`${dir}/probe.html`, probed);
      const run = await runChromium([
        "--window-size=1200,2000",
        "--dump-dom",
        `file://${dir}/probe.html`,
      ]);
      assert.deepEqual(consoleLines(run.stderr), [], "console messages in the probed page");
      const m = /<pre id="probe">([^<]*)<\/pre>/.exec(run.stdout);
      assert.ok(m, "the probe did not run");
      const result = JSON.parse(m[1].replace(/&quot;/g, '"').replace(/&amp;/g, "&")) as {
        figures: { id: string; width: number; height: number; shapes: number; texts: number }[];
        tables: number;
        overflow: number;
      };
      console.log(JSON.stringify(result));
      assert.deepEqual(result.figures.map((f) => f.id), ids.map((id) => `figure-${id}`));
      for (const f of result.figures) {
        assert.ok(f.width >= 300 && f.height >= 150, `${f.id} is ${f.width}x${f.height}`);
        assert.ok(f.shapes >= 10 && f.texts >= 5, `${f.id}: ${f.shapes} shapes, ${f.texts} texts`);
      }
      assert.equal(result.tables, 4);
      assert.ok(result.overflow <= 0, `the page is ${result.overflow} px wider than the window`);

      // 3. A screenshot of the first screen: a 1200x2000 PNG with real content.
      const shot = `${dir}/report.png`;
      await runChromium(["--window-size=1200,2000", `--screenshot=${shot}`, url]);
      const png = await Deno.readFile(shot);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "not a PNG");
      const view = new DataView(png.buffer, png.byteOffset);
      assert.deepEqual([view.getUint32(16), view.getUint32(20)], [1200, 2000]);
      assert.ok(png.length > 40_000, `screenshot is only ${png.length} bytes: a blank page?`);
      const keep = Deno.env.get("LTKIT_REPORT_SCREENSHOT");
      if (keep) await Deno.copyFile(shot, keep);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
