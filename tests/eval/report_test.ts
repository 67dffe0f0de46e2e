import assert from "node:assert/strict";
import { xmlProblem } from "../../lib/eval/figures.ts";
import { injectWriteFault, resetWriteFault } from "../../lib/io/_atomic.ts";
import {
  calibrationMetrics,
  METRICS_SCHEMA,
  METRICS_VERSION,
  type MetricsFile,
  splitMetrics,
} from "../../lib/eval/metrics.ts";
import {
  buildReportDocument,
  FIGURE_IDS,
  formatSeconds,
  formatTau,
  fromMetrics,
  type MethodReport,
  type RunReport,
  writeReport,
} from "../../lib/eval/report.ts";

const CONFIG = { preset: "cpu", seed: 0, stage1: { epochs: 3, lr: 0.1 }, note: "a<b" };

function method(
  name: string,
  label: string,
  perClass: (number | null)[],
  groups: [number, number | null, number | null, number | null],
  extra: Partial<MethodReport> = {},
): MethodReport {
  const [all, many, medium, few] = groups;
  return {
    name,
    label,
    all,
    many,
    medium,
    few,
    perClass,
    weightNorms: null,
    chosenTau: null,
    tauCurve: null,
    seconds: 1,
    ...extra,
  };
}

/** Calibration of 10 test rows (two per class) whose logits favour the label by `margin`. */
function calibration(margin: number) {
  const labels = Int32Array.of(0, 0, 1, 1, 2, 2, 3, 3, 4, 4);
  const logits = new Float32Array(50);
  labels.forEach((y, r) => {
    logits[r * 5 + y] = margin * (r % 2 ? 1 : 0.5);
    logits[r * 5 + ((y + 1) % 5)] = 1;
  });
  return calibrationMetrics(logits, labels, ["many", "many", "medium", "few", "few"]);
}

/** Five classes, Fashion-MNIST-LT-100's thresholds: Many, Many, Medium, Few, Few. */
function fixture(): RunReport {
  return {
    name: "cpu-0",
    createdAt: "2026-01-02T03:04:05.000Z",
    adapter: "llvmpipe (LLVM 15.0.6, 256 bits), software fallback",
    preset: "cpu",
    presetReason: "software adapter",
    config: CONFIG,
    timings: [
      { stage: "data", seconds: 3.25 },
      { stage: "stage 1", seconds: 612 },
      { stage: "total", seconds: 3725 },
    ],
    stage1History: [
      { epoch: 1, loss: 1.2, accuracy: 0.6, lr: 0.075, seconds: 200, imagesPerSecond: 150.4 },
      { epoch: 2, loss: 0.8, accuracy: 0.7, lr: 0.025, seconds: 201, imagesPerSecond: 149.6 },
      { epoch: 3, loss: 0.5, accuracy: 0.8, lr: 0, seconds: 199, imagesPerSecond: 151 },
    ],
    classes: ["T-shirt/top", "Trouser", "Coat", "Sneaker", "Ankle boot"],
    trainCounts: [5980, 1292, 464, 166, 60],
    groups: ["many", "many", "medium", "few", "few"],
    thresholds: { many: 1000, few: 200 },
    methods: [
      method("joint", "Joint", [0.96, 0.9, 0.8, 0.7, 0.6], [0.792, 0.93, 0.8, 0.65], {
        weightNorms: [2, 1.8, 1.5, 1.2, 1],
        seconds: 0.5,
        calibration: calibration(1.5),
      }),
      method("ncm", "NCM (cosine)", [0.9, 0.88, null, 0.77, 0.7], [0.8125, 0.89, null, 0.735]),
      method("crt", "cRT", [0.94, 0.9, 0.85, 0.8, 0.75], [0.848, 0.92, 0.85, 0.775], {
        weightNorms: [1.4, 1.4, 1.5, 1.5, 1.6],
        seconds: 12.2,
        calibration: calibration(4),
      }),
      method("tau", "τ-norm (τ=0.9)", [0.95, 0.89, 0.84, 0.79, 0.72], [0.838, 0.92, 0.84, 0.755], {
        weightNorms: [1.07, 1.06, 1.04, 1.02, 1],
        chosenTau: 0.9,
        tauCurve: { tau: [0, 0.3, 0.6, 0.9, 1.2], valAccuracy: [0.7, 0.78, 0.82, 0.85, 0.84] },
      }),
      method("la", "Logit adjustment (τ=1.0)", [0.93, 0.91, 0.83, 0.8, 0.75], [
        0.844,
        0.92,
        0.83,
        0.775,
      ], {
        chosenTau: 1,
        tauCurve: { tau: [0, 0.5, 1, 1.5], valAccuracy: [0.7, 0.8, 0.86, 0.83] },
      }),
    ],
    notes: ["Pipes | and *stars* and <script>alert(1)</script> are text."],
  };
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "ltkit_report_" });
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      out.push(...(await listFiles(`${dir}/${e.name}`)).map((f) => `${e.name}/${f}`));
    } else out.push(e.name);
  }
  return out.sort();
}

Deno.test("writeReport writes report.md, report.html and every figure, atomically", async () => {
  const dir = await tempDir();
  try {
    const files = await writeReport(`${dir}/run`, fixture());
    assert.equal(files.markdown, `${dir}/run/report.md`);
    assert.equal(files.html, `${dir}/run/report.html`);
    const expected = FIGURE_IDS.map((id) => `figures/${id}.svg`);
    assert.deepEqual(files.figures, expected.map((f) => `${dir}/run/${f}`));
    // No temporary file left behind.
    assert.deepEqual(
      await listFiles(`${dir}/run`),
      [...expected, "report.html", "report.md"].sort(),
    );
    for (const f of files.figures) {
      const svg = await Deno.readTextFile(f);
      assert.equal(xmlProblem(svg), null, `${f} is not well formed`);
      for (const bad of ["NaN", "Infinity", "undefined"]) {
        assert.ok(!svg.includes(bad), `${f}: ${bad}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report.md: results table with the right numbers, best per column in bold", async () => {
  const dir = await tempDir();
  try {
    await writeReport(dir, fixture());
    const md = await Deno.readTextFile(`${dir}/report.md`);
    const lines = md.split("\n");
    const expectRows = [
      "| Method | All | Many | Medium | Few | chosen τ | Time |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
      "| Joint | 79.20 | **93.00** | 80.00 | 65.00 | – | 0.5 s |",
      "| NCM (cosine) | 81.25 | 89.00 | – | 73.50 | – | 1.0 s |",
      "| cRT | **84.80** | 92.00 | **85.00** | **77.50** | – | 12.2 s |",
      "| τ-norm (τ=0.9) | 83.80 | 92.00 | 84.00 | 75.50 | 0.9 | 1.0 s |",
      "| Logit adjustment (τ=1.0) | 84.40 | 92.00 | 83.00 | **77.50** | 1.0 | 1.0 s |",
    ];
    const start = lines.indexOf(expectRows[0]);
    assert.ok(start > 0, "results header missing");
    assert.deepEqual(lines.slice(start, start + expectRows.length), expectRows);
    assert.ok(md.startsWith("# Run cpu-0\n"));
    assert.ok(md.includes("- **Preset**: cpu (software adapter)"));
    assert.ok(md.includes("- **Adapter**: llvmpipe (LLVM 15.0.6, 256 bits), software fallback"));
    assert.ok(md.includes("- **Finished**: 2026-01-02T03:04:05.000Z"));
    assert.ok(md.includes("Many > 1000 (2 classes), Medium 200..1000 (1), Few < 200 (2)"));
    assert.ok(
      md.includes(
        "Best on All: cRT with 84.80%, +5.60 points over Joint on All and +12.50 on Few.",
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report.md: per-class, stage-1 and timing tables, figures, config", async () => {
  const dir = await tempDir();
  try {
    await writeReport(dir, fixture());
    const md = await Deno.readTextFile(`${dir}/report.md`);
    for (
      const row of [
        "| Class | Train images | Group | Joint | NCM (cosine) | cRT | τ-norm (τ=0.9) | Logit adjustment (τ=1.0) |",
        "| 0 T-shirt/top | 5980 | Many | 96.00 | 90.00 | 94.00 | 95.00 | 93.00 |",
        "| 2 Coat | 464 | Medium | 80.00 | – | 85.00 | 84.00 | 83.00 |",
        "| 4 Ankle boot | 60 | Few | 60.00 | 70.00 | 75.00 | 72.00 | 75.00 |",
        "| Epoch | Loss | Accuracy (%) | LR | Time | Images/s |",
        "| 1 | 1.2000 | 60.00 | 0.075 | 3 min 20 s | 150 |",
        "| 3 | 0.5000 | 80.00 | 0 | 3 min 19 s | 151 |",
        "| data | 3.3 | 3.3 s |",
        "| stage 1 | 612.0 | 10 min 12 s |",
        "| total | 3725.0 | 1 h 02 min |",
      ]
    ) assert.ok(md.includes(`\n${row}\n`), `missing row ${row}`);
    // Every figure linked by a relative path that exists.
    const links = [...md.matchAll(/!\[Figure (\d+): [^\]]+\]\(([^)]+)\)/g)];
    assert.deepEqual(links.map((m) => Number(m[1])), [1, 2, 3, 4, 5, 6]);
    for (const [, , path] of links) {
      assert.ok(!path.startsWith("/") && path.startsWith("figures/"));
      await Deno.stat(`${dir}/${path}`);
    }
    const json = /```json\n([\s\S]*?)\n```/.exec(md);
    assert.ok(json, "no json block");
    assert.deepEqual(JSON.parse(json[1]), CONFIG);
    // Markdown formatting characters in text are escaped.
    assert.ok(
      md.includes("- Pipes \\| and \\*stars\\* and \\<script>alert(1)\\</script> are text."),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report.html: self-contained, same content, figures inline, text escaped", async () => {
  const dir = await tempDir();
  try {
    const report = fixture();
    await writeReport(dir, report);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    assert.ok(html.includes('<meta charset="utf-8">'));
    assert.ok(html.includes("Content-Security-Policy"));
    assert.ok(!/<script|<link|<img|<iframe|@import|url\(/i.test(html.replace(/&lt;script/g, "")));
    const urls = [...html.matchAll(/https?:\/\/[^\s"')]+/g)].map((m) => m[0]);
    assert.ok(urls.every((u) => u === "http://www.w3.org/2000/svg"), `external URLs: ${urls}`);
    for (const id of FIGURE_IDS) {
      const f = new RegExp(
        `<figure id="figure-${id}"[^>]*>\\n<svg [\\s\\S]*?</svg>\\n<figcaption>`,
      );
      assert.ok(f.test(html), `figure ${id} not inlined`);
      const svg = await Deno.readTextFile(`${dir}/figures/${id}.svg`);
      assert.ok(html.includes(svg.trim()), `figure ${id} differs from its file`);
    }
    assert.ok(
      html.includes(
        '<tr><td class="l">cRT</td><td class="r"><strong>84.80</strong></td>' +
          '<td class="r">92.00</td><td class="r"><strong>85.00</strong></td>' +
          '<td class="r"><strong>77.50</strong></td><td class="r">–</td><td class="r">12.2 s</td></tr>',
      ),
    );
    assert.ok(html.includes('<td class="l">2 Coat</td><td class="r">464</td>'));
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(html.includes("&quot;note&quot;: &quot;a&lt;b&quot;"), "config is escaped");
    assert.ok(html.includes("<details><summary>Resolved configuration (JSON)</summary>"));
    const doc = buildReportDocument(report);
    for (const s of doc.sections) assert.ok(html.includes(`<h2>${s.heading}</h2>`), s.heading);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("edge cases: one epoch, no tau sweep, NaN values, equal values; stale figures go", async () => {
  const dir = await tempDir();
  try {
    await writeReport(dir, fixture());
    const r = fixture();
    r.stage1History = [r.stage1History[0]];
    r.methods = r.methods.filter((m) => m.tauCurve === null).map((m) => ({
      ...m,
      perClass: m.perClass.map((v, c) => (c === 1 ? NaN : v)),
      weightNorms: m.weightNorms ? m.weightNorms.map(() => 1.25) : null,
      few: NaN,
    }));
    r.methods[0].weightNorms![3] = NaN;
    r.timings.push({ stage: "broken", seconds: NaN });
    const files = await writeReport(dir, r);
    const ids = files.figures.map((f) => f.replace(/^.*\/figures\/|\.svg$/g, ""));
    assert.deepEqual(ids, [
      "accuracy_by_group",
      "accuracy_vs_count",
      "weight_norms",
      "reliability",
      "stage1",
    ]);
    await assert.rejects(Deno.stat(`${dir}/figures/tau_curves.svg`), Deno.errors.NotFound);
    for (const f of files.figures) {
      const svg = await Deno.readTextFile(f);
      assert.equal(xmlProblem(svg), null, f);
      assert.ok(!/NaN|Infinity|undefined/.test(svg), f);
    }
    const md = await Deno.readTextFile(`${dir}/report.md`);
    assert.ok(md.includes("| Joint | 79.20 | **93.00** | 80.00 | – | – | 0.5 s |"));
    assert.ok(md.includes("| 1 Trouser | 1292 | Many | – | – | – |"));
    assert.ok(md.includes("| broken | – | – |"));
    assert.ok(!md.includes("tau_curves"));
    assert.ok(
      md.includes("Best on All: cRT with 84.80%, +5.60 points over Joint on All and – on Few."),
    );
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.ok(!/NaN|Infinity|undefined/.test(html));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("edge cases: no methods and no stage-1 history still make a report", async () => {
  const dir = await tempDir();
  try {
    const r = fixture();
    r.methods = [];
    r.stage1History = [];
    r.timings = [];
    r.notes = undefined;
    const files = await writeReport(dir, r);
    assert.deepEqual(files.figures, []);
    const md = await Deno.readTextFile(`${dir}/report.md`);
    assert.ok(md.includes("No stage-2 method ran."));
    assert.ok(md.includes("No stage-1 epochs were recorded."));
    assert.ok(!md.includes("## Notes"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inconsistent reports are refused before anything is written", async () => {
  const dir = await tempDir();
  try {
    const r = fixture();
    r.methods[2].perClass.pop();
    await assert.rejects(writeReport(`${dir}/x`, r), {
      name: "RangeError",
      message: "Cannot write the report: method cRT's perClass has 4 entries for 5 classes",
    });
    await assert.rejects(Deno.stat(`${dir}/x`), Deno.errors.NotFound);
    const s = fixture();
    s.trainCounts.push(3);
    assert.throws(() => buildReportDocument(s), /trainCounts has 6 entries for 5 classes/);
    const t = fixture();
    t.methods[3].tauCurve!.valAccuracy.pop();
    assert.throws(() => buildReportDocument(t), /tau curve has 5 taus but 4 accuracies/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatSeconds and formatTau", () => {
  assert.equal(formatSeconds(3.25), "3.3 s");
  assert.equal(formatSeconds(125), "2 min 05 s");
  assert.equal(formatSeconds(3725), "1 h 02 min");
  assert.equal(formatSeconds(NaN), "–");
  assert.equal(formatTau(1), "1.0");
  assert.equal(formatTau(0.30000000000000004), "0.3");
  assert.equal(formatTau(0.25), "0.25");
});

Deno.test("fromMetrics maps metrics.json into a RunReport", () => {
  const groups = ["many", "medium", "few"] as const;
  const labels = Int32Array.of(0, 0, 1, 1, 2, 2);
  const split = (pred: number[]) => splitMetrics(Int32Array.from(pred), labels, groups);
  const metrics: MetricsFile = {
    schema: METRICS_SCHEMA,
    version: METRICS_VERSION,
    created: "2026-02-03T04:05:06.000Z",
    kit_version: "0.1.0",
    source: {
      features: "runs/a/features",
      checkpoint_sha256: "00",
      profile: { classNames: ["a", "b", "c"] },
      backbone: null,
      feature_dim: 4,
      class_count: 3,
    },
    train_class_counts: [500, 50, 5],
    shot_thresholds: { many: 100, few: 20 },
    shot_groups: [...groups],
    seed: 0,
    settings: {},
    methods: {
      joint: {
        label: "Joint",
        wall_ms: 1500,
        val: split([0, 0, 1, 0, 0, 0]),
        test: split([0, 0, 1, 0, 0, 0]),
        weight_norms: [3, 2, 1],
      },
      tau: {
        label: "tau-norm",
        wall_ms: 250,
        val: split([0, 0, 1, 1, 2, 0]),
        test: split([0, 0, 1, 1, 2, 0]),
        weight_norms: [1, 1, 1],
        tau: 1,
        tau_curve: [{ tau: 0, val_all: 0.5 }, { tau: 1, val_all: 0.75 }],
      },
      ncm: {
        label: "NCM (cosine)",
        wall_ms: 10,
        val: split([0, 1, 1, 1, 2, 2]),
        test: split([0, 1, 1, 1, 2, 2]),
        weight_norms: [],
      },
    },
  };
  const r = fromMetrics(metrics, {
    name: "a",
    adapter: "test",
    preset: "smoke",
    presetReason: "tests",
    config: { x: 1 },
  });
  assert.equal(r.createdAt, "2026-02-03T04:05:06.000Z");
  assert.deepEqual(r.classes, ["a", "b", "c"]);
  assert.deepEqual(r.trainCounts, [500, 50, 5]);
  assert.deepEqual(r.groups, ["many", "medium", "few"]);
  assert.deepEqual(r.thresholds, { many: 100, few: 20 });
  assert.deepEqual(r.methods.map((m) => m.name), ["joint", "tau", "ncm"]);
  assert.deepEqual(r.methods.map((m) => m.label), ["Joint", "τ-norm (τ=1.0)", "NCM (cosine)"]);
  const [joint, tau, ncm] = r.methods;
  assert.deepEqual(joint.perClass, [1, 0.5, 0]);
  assert.equal(joint.all, 0.5);
  assert.deepEqual([joint.many, joint.medium, joint.few], [1, 0.5, 0]);
  assert.equal(joint.seconds, 1.5);
  assert.deepEqual(joint.weightNorms, [3, 2, 1]);
  assert.equal(joint.chosenTau, null);
  assert.equal(joint.tauCurve, null);
  assert.equal(tau.chosenTau, 1);
  assert.deepEqual(tau.tauCurve, { tau: [0, 1], valAccuracy: [0.5, 0.75] });
  assert.equal(ncm.weightNorms, null, "an empty norm list means none");
  assert.deepEqual(r.stage1History, []);
  // Without profile names, classes are numbered.
  const unnamed = fromMetrics({ ...metrics, source: { ...metrics.source, profile: {} } }, {
    name: "a",
    adapter: "t",
    preset: "smoke",
    presetReason: "t",
    config: null,
    createdAt: "x",
  });
  assert.deepEqual(unnamed.classes, ["class 0", "class 1", "class 2"]);
  assert.equal(unnamed.createdAt, "x");
  assert.ok(buildReportDocument(r).figures.length >= 4);
});

Deno.test("a failed report write names the file and leaves no temporary", async () => {
  const dir = await tempDir();
  try {
    await writeReport(dir, fixture());
    const before = await Deno.readTextFile(`${dir}/report.html`);
    injectWriteFault({ failAt: 1, path: /report\.html$/ });
    await assert.rejects(writeReport(dir, fixture()), {
      message: `Cannot write report ${dir}/report.html: No space left on device (os error 28)`,
    });
    assert.equal(await Deno.readTextFile(`${dir}/report.html`), before);
    for (const d of [dir, `${dir}/figures`]) {
      for (const e of Deno.readDirSync(d)) assert.ok(!e.name.endsWith(".partial"), e.name);
    }
  } finally {
    resetWriteFault();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report: calibration table (ECE and NLL, lowest in bold) and the reliability diagram", async () => {
  const dir = await tempDir();
  try {
    const report = fixture();
    await writeReport(dir, report);
    const md = await Deno.readTextFile(`${dir}/report.md`);
    assert.ok(md.includes("## Calibration"), md);
    assert.ok(md.includes("(b/15, (b+1)/15\\]"), "bin convention stated");
    const header = md.split("\n").find((l) => l.startsWith("| Method") && l.includes("ECE All"));
    assert.equal(
      header?.replace(/\s+/g, " "),
      "| Method | ECE All | ECE Many | ECE Medium | ECE Few | NLL All | NLL Many | NLL Medium | " +
        "NLL Few |",
    );
    const row = (label: string) =>
      md.split("\n").find((l) => l.startsWith(`| ${label} `) && l.split("|").length === 11)!
        .split("|").slice(2, 10).map((c) => c.trim());
    const joint = report.methods[0].calibration!;
    const crt = report.methods[2].calibration!;
    const cells = [joint.ece, joint.many!.ece, joint.medium!.ece, joint.few!.ece].map((v) =>
      (100 * v).toFixed(2)
    );
    assert.deepEqual(row("Joint").slice(0, 4).map((c) => c.replace(/\*/g, "")), cells);
    // cRT's larger margin is more confident and right: lower NLL, in bold.
    assert.ok(crt.nll < joint.nll);
    assert.equal(row("cRT")[4], `**${crt.nll.toFixed(3)}**`);
    const svg = await Deno.readTextFile(`${dir}/figures/reliability.svg`);
    assert.equal(xmlProblem(svg), null);
    assert.ok(svg.includes("perfect calibration") && svg.includes("cRT"));
    assert.ok(!svg.includes("NCM"), "methods without calibration are not drawn");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
