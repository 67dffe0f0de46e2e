import assert from "node:assert/strict";
import { PUBLISHED, publishedFor } from "../../lib/eval/published.ts";
import { buildReportDocument, renderMarkdown, type RunReport } from "../../lib/eval/report.ts";
import { seedSummaryDocument, summarizeSeeds } from "../../lib/eval/seeds.ts";
import type { MetricsFile } from "../../lib/eval/metrics.ts";
import { METHOD_NAMES } from "../../lib/stage2/registry.ts";

Deno.test("every published protocol names known methods and plausible figures", () => {
  const ids = new Set<string>();
  for (const p of PUBLISHED) {
    assert.ok(!ids.has(p.id), `${p.id} twice`);
    ids.add(p.id);
    assert.ok(p.source.length > 10 && p.protocol.length > 10, p.id);
    for (const [method, figure] of Object.entries(p.figures)) {
      assert.ok(METHOD_NAMES.includes(method), `${p.id}: unknown method ${method}`);
      assert.ok(figure > 0 && figure < 100, `${p.id}: ${method} = ${figure}`);
    }
  }
  assert.equal(publishedFor("fashion-mnist-lt-100", "resnet8")?.approximate, true);
});

function report(published: RunReport["published"]): RunReport {
  const m = (name: string, label: string, all: number) => ({
    name,
    label,
    all,
    many: all,
    medium: all,
    few: all,
    perClass: [all, all],
    weightNorms: null,
    chosenTau: null,
    tauCurve: null,
    seconds: 1,
  });
  return {
    name: "x",
    createdAt: "2026-01-01T00:00:00Z",
    adapter: "a",
    preset: "paper",
    presetReason: "r",
    config: {},
    timings: [],
    stage1History: [],
    classes: ["a", "b"],
    trainCounts: [10, 1],
    groups: ["many", "few"],
    thresholds: { many: 5, few: 2 },
    methods: [m("joint", "Joint", 0.8312), m("crt", "cRT", 0.9)],
    published,
  };
}

Deno.test("a run of a known protocol shows the published figures and the difference", () => {
  const md = renderMarkdown(
    buildReportDocument(report(publishedFor("cifar10-lt-100", "resnet32", "A"))),
  );
  assert.match(md, /## Published figures/);
  assert.match(md, /\| Joint +\| +70\.4 \| +83\.12 \| +\+12\.72 \|/);
  assert.match(md, /\| cRT +\| +75\.0 \| +90\.00 \| +\+15\.00 \|/);
  assert.doesNotMatch(renderMarkdown(buildReportDocument(report(null))), /Published figures/);
});

Deno.test("a seed summary of a known protocol shows the published figures beside the mean", () => {
  const split = (all: number) => ({
    rows: 2,
    all,
    many: all,
    medium: null,
    few: all,
    accuracy: all,
    per_class: [],
    confusion: [],
  });
  const file = (seed: number, all: number) =>
    ({
      seed,
      train_class_counts: [3, 1],
      methods: {
        crt: { label: "cRT", wall_ms: 1, val: split(all), test: split(all), weight_norms: [] },
      },
    }) as unknown as MetricsFile;
  const summary = summarizeSeeds([
    { metrics: file(0, 0.87), from: "seed-0" },
    { metrics: file(1, 0.89), from: "seed-1" },
  ]);
  const md = renderMarkdown(
    seedSummaryDocument(summary, "t", publishedFor("fashion-mnist-lt-100", "resnet8")),
  );
  assert.match(md, /\| cRT +\| +about 88\.0 \| +88\.00 \| +\+0\.00 \|/);
  assert.match(md, /All, mean of 2 seeds/);
});

Deno.test("ImageNet-LT: ResNet-10 and ResNeXt-50 runs find their own rows of the paper's figures", () => {
  const rx50 = publishedFor("imagenet-lt", "resnext50", "B");
  assert.equal(rx50?.id, "imagenet-lt-resnext50");
  assert.deepEqual(rx50?.figures, { joint: 44.4, ncm: 47.3, crt: 49.6, tau: 49.4, lws: 49.9 });
  assert.match(rx50!.source, /Kang et al\., ICLR 2020/);
  assert.equal(publishedFor("imagenet-lt", "resnet10", "B")?.figures.joint, 34.8);
  assert.equal(publishedFor("imagenet-lt", "resnet50", "B"), null);
  assert.equal(publishedFor("places-lt", "resnext50", "B"), null);
  const md = renderMarkdown(buildReportDocument(report(rx50)));
  assert.match(md, /\| Joint +\| +44\.4 \| +83\.12 \| +\+38\.72 \|/);
  assert.match(md, /\| cRT +\| +49\.6 \| +90\.00 \| +\+40\.40 \|/);
});
