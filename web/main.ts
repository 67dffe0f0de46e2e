/// <reference lib="dom" />
/**
 * The stage-2 page: shows a feature dump and rebalances its classifier on the browser's WebGPU
 * with the kit's own modules and WGSL kernels (runStage2, the method runners, the metrics), so
 * its figures are `deno task stage2`'s. Built into one HTML file by scripts/build_web.ts.
 *
 * For tests and the console, `globalThis.ltkitView` holds the state, the metrics and the slider's
 * figures; `document.body.dataset.state` is loading, waiting, running, training, done, error or
 * no-webgpu.
 *
 * @module
 */

import { groupsFor, type MethodMetrics, type MetricsFile } from "../lib/eval/metrics.ts";
import type { FeatureDir } from "../lib/features/reader.ts";
import { type Gpu, requestGpu } from "../lib/gpu/device.ts";
import { DEFAULT_TAU_GRID, DEFAULT_TRAIN_SETTINGS, tauValues } from "../lib/stage2/method.ts";
import { METHOD_NAMES, methodRow } from "../lib/stage2/registry.ts";
import { runStage2, type Stage2Options } from "../lib/stage2/run.ts";
import type { SamplerKind } from "../lib/data/sampler.ts";
import { accuracyScatter, classBars, confusionCanvas, GROUP_COLOURS, tauCurves } from "./charts.ts";
import { el, pct, replace } from "./dom.ts";
import { addFile, checkLimits, complete, fetchServed, missing, type PartialDump } from "./load.ts";

/** What a method reads, from its row in the method registry. */
function needs(name: string): string {
  const row = methodRow(name);
  if (!row) return "";
  const files = [
    row.needsClassifier ? "classifier" : "",
    row.trains || !row.needsClassifier ? "train" : "",
  ].filter(Boolean).join(", ");
  return row.tauCurve ? `${files}; tau on val` : files;
}

const NO_WEBGPU = "Cannot run stage 2: this browser has no WebGPU (navigator.gpu is missing). " +
  "Open the page in Chrome or Edge 113+ (on Linux start it with --enable-unsafe-webgpu), or " +
  "Firefox 141+; the dump is shown above either way, and `deno task stage2` runs the same methods";

interface View {
  state: string;
  message: string;
  features: FeatureDir | null;
  where: string;
  metrics: MetricsFile | null;
  /** tau-norm and logit adjustment at the slider's tau. */
  tauMetrics: Record<string, MethodMetrics>;
  sliderTau: number;
  shownTau: number;
  selected: string;
  adapter: string;
}

const view: View = {
  state: "loading",
  message: "",
  features: null,
  where: "",
  metrics: null,
  tauMetrics: {},
  sliderTau: 0,
  shownTau: 0,
  selected: "crt",
  adapter: "",
};
(globalThis as unknown as { ltkitView: View }).ltkitView = view;

let gpu: Gpu | null = null;
let pending: PartialDump = {};

const $ = (id: string) => document.getElementById(id)!;

function setState(state: string, message = ""): void {
  view.state = state;
  view.message = message;
  document.body.dataset.state = state;
  const status = $("status");
  status.textContent = message;
  status.className = state === "error" || state === "no-webgpu" ? "error" : "";
}

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  setState("error", message);
}

// --- Files -------------------------------------------------------------------------------------

async function onFiles(files: Iterable<File>): Promise<void> {
  try {
    for (const file of files) addFile(pending, file.name, new Uint8Array(await file.arrayBuffer()));
  } catch (error) {
    fail(error);
    return;
  }
  const left = missing(pending);
  $("no-classifier").hidden = left.join() !== "classifier.arrow";
  if (left.length > 0) {
    setState("waiting", `Loaded ${4 - left.length} of 4 files; still needed: ${left.join(", ")}`);
    return;
  }
  await startChosen(false);
}

async function startChosen(withoutClassifier: boolean): Promise<void> {
  $("no-classifier").hidden = true;
  try {
    const features = complete(pending, "the chosen files", withoutClassifier)!;
    pending = {};
    await start(features, "the chosen files");
  } catch (error) {
    pending = {};
    fail(error);
  }
}

function wireDrop(): void {
  const input = $("files") as HTMLInputElement;
  input.addEventListener("change", () => onFiles([...(input.files ?? [])]));
  $("no-classifier").addEventListener("click", () => void startChosen(true));
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    onFiles([...(e.dataTransfer?.files ?? [])]);
  });
}

// --- Dump --------------------------------------------------------------------------------------

function groupsOf(features: FeatureDir): string[] {
  const meta = features.train.metadata;
  return groupsFor(meta.trainClassCounts, meta.profile).groups;
}

function renderDump(features: FeatureDir, where: string): void {
  const meta = features.train.metadata;
  const groups = groupsOf(features);
  const { thresholds } = groupsFor(meta.trainClassCounts, meta.profile);
  const count = (g: string) => groups.filter((x) => x === g).length;
  const profile = typeof meta.profile.name === "string" ? meta.profile.name : "(unnamed)";
  const rows: [string, string][] = [
    ["source", where],
    ["classes", String(meta.classCount)],
    ["feature dimension", String(meta.featureDim)],
    ["rows", `train ${features.train.rows}, val ${features.val.rows}, test ${features.test.rows}`],
    [
      "shot groups",
      `Many (> ${thresholds.many}) ${count("many")}, Medium ${count("medium")}, ` +
      `Few (< ${thresholds.few}) ${count("few")}`,
    ],
    ["profile", profile],
    ["backbone", typeof meta.backbone === "string" ? meta.backbone : JSON.stringify(meta.backbone)],
    ["checkpoint SHA-256", meta.checkpointSha256],
    ["written by", `ltkit ${meta.version}`],
  ];
  replace(
    $("dump-info"),
    el("table", {}, ...rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))),
  );
  replace(
    $("tail"),
    classBars(meta.trainClassCounts, groups, "training images per class", "class", hover),
  );
  $("dump").hidden = false;
}

// --- Tooltip -----------------------------------------------------------------------------------

function hover(c: number | null, event: MouseEvent): void {
  const tip = $("tip");
  const features = view.features;
  if (c === null || !features) {
    tip.hidden = true;
    return;
  }
  const groups = groupsOf(features);
  const lines = [
    `class ${c} (${groups[c]})`,
    `train ${features.train.metadata.trainClassCounts[c]}, val ${
      countOf(features.val.label, c)
    }, ` +
    `test ${countOf(features.test.label, c)}`,
  ];
  for (const [, m] of methodEntries()) lines.push(`${m.label}: ${pct(m.test.per_class[c])}%`);
  replace(tip, ...lines.map((l) => el("div", {}, l)));
  tip.hidden = false;
  tip.style.left = `${event.pageX + 12}px`;
  tip.style.top = `${event.pageY + 12}px`;
}

function countOf(labels: Int32Array, c: number): number {
  let n = 0;
  for (const l of labels) if (l === c) n++;
  return n;
}

// --- Methods -----------------------------------------------------------------------------------

function methodEntries(): [string, MethodMetrics][] {
  if (!view.metrics) return [];
  return Object.entries(view.metrics.methods).map((
    [name, m],
  ) => [name, view.tauMetrics[name] ?? m]);
}

async function start(features: FeatureDir, where: string): Promise<void> {
  view.features = features;
  view.where = where;
  view.metrics = null;
  view.tauMetrics = {};
  $("results").hidden = true;
  renderDump(features, where);
  if (!(globalThis.navigator as { gpu?: unknown } | undefined)?.gpu) {
    setState("no-webgpu", NO_WEBGPU);
    return;
  }
  gpu ??= await requestGpu({ warnFallback: false, label: "ltkit page" });
  const { description, vendor, architecture } = gpu.adapter;
  // Chromium leaves the description empty for some adapters (SwiftShader); name what it gives.
  view.adapter = description !== "unknown adapter"
    ? description
    : [vendor, architecture].filter(Boolean).join(" ") || description;
  checkLimits(features, gpu.limits, tauValues(DEFAULT_TAU_GRID).length);
  setState("running", "Running every stage-2 method on WebGPU...");
  const progress = $("progress") as HTMLProgressElement;
  progress.hidden = false;
  progress.max = 8;
  progress.value = 0;
  const begin = performance.now();
  const { metrics } = await stage2({
    log: (line) => {
      progress.value++;
      $("status").textContent = line;
    },
  });
  progress.hidden = true;
  view.metrics = metrics;
  const chosen = metrics.methods.tau?.tau ?? metrics.methods.la?.tau ?? 1;
  ($("tau") as HTMLInputElement).disabled = !metrics.methods.tau && !metrics.methods.la;
  view.sliderTau = view.shownTau = chosen;
  ($("tau") as HTMLInputElement).value = String(chosen);
  view.selected = metrics.methods[view.selected] ? view.selected : Object.keys(metrics.methods)[0];
  renderResults();
  $("results").hidden = false;
  setState(
    "done",
    `Every method ran in ${((performance.now() - begin) / 1000).toFixed(1)} s on ${view.adapter}`,
  );
}

function renderResults(): void {
  const metrics = view.metrics!;
  const features = view.features!;
  const head = ["method", "needs", "All", "Many", "Medium", "Few", "val All", "tau", "ms"];
  const body = methodEntries().map(([name, m]) => {
    const tau = m.tau === undefined ? "" : m.tau.toFixed(1) +
      (view.tauMetrics[name] && metrics.methods[name].tau !== m.tau
        ? ` (val: ${metrics.methods[name].tau!.toFixed(1)})`
        : "");
    const row = el(
      "tr",
      { "data-method": name, class: name === view.selected ? "selected" : "", tabindex: 0 },
      el("td", {}, m.label),
      el("td", { class: "needs" }, needs(name)),
      ...[m.test.all, m.test.many, m.test.medium, m.test.few, m.val.all].map((v) =>
        el("td", { class: "num" }, pct(v))
      ),
      el("td", { class: "num" }, tau),
      el("td", { class: "num" }, m.wall_ms.toFixed(0)),
    );
    row.addEventListener("click", () => {
      view.selected = name;
      renderResults();
    });
    return row;
  });
  for (const [name, why] of Object.entries(metrics.skipped ?? {})) {
    body.push(el(
      "tr",
      { "data-method": name, class: "skipped" },
      el("td", {}, methodRow(name)?.label ?? name),
      el("td", { class: "needs", colspan: head.length - 1 }, `skipped: ${why}`),
    ));
  }
  replace(
    $("methods"),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
      el("tbody", {}, ...body),
    ),
  );
  const curves = (["tau", "la"] as const).filter((n) => metrics.methods[n]?.tau_curve).map((
    n,
    i,
  ) => ({
    label: metrics.methods[n].label,
    points: metrics.methods[n].tau_curve!,
    colour: i === 0 ? "#3b6ea8" : "#b53d3d",
  }));
  replace($("tau-curve"), tauCurves(curves, view.shownTau));
  $("tau-value").textContent = view.sliderTau.toFixed(1);
  renderSelected(features);
}

function renderSelected(features: FeatureDir): void {
  const entry = methodEntries().find(([n]) => n === view.selected);
  if (!entry) return;
  const [, m] = entry;
  const groups = groupsOf(features);
  const counts = features.train.metadata.trainClassCounts;
  $("selected-name").textContent = m.label;
  replace(
    $("per-class"),
    accuracyScatter(counts, m.test.per_class, groups, `${m.label}: test accuracy per class`, hover),
  );
  replace(
    $("norms"),
    classBars(m.weight_norms, groups, `${m.label}: weight norm per class`, "class", hover),
  );
  const confusion = m.test.confusion;
  replace(
    $("confusion"),
    confusion === null
      // metrics.json keeps no confusion matrix past CONFUSION_MAX_CLASSES classes.
      ? el("p", {}, `No confusion matrix: ${m.test.per_class.length} classes are too many to draw.`)
      : confusionCanvas(confusion, (cell, event) => {
        const tip = $("tip");
        if (!cell) {
          tip.hidden = true;
          return;
        }
        const [i, j] = cell;
        replace(tip, el("div", {}, `true ${i}, predicted ${j}: ${confusion[i][j]} rows`));
        tip.hidden = false;
        tip.style.left = `${event.pageX + 12}px`;
        tip.style.top = `${event.pageY + 12}px`;
      }),
  );
}

/** runStage2 on the page's dump and device, seed 0, as `deno task stage2` runs it. */
function stage2(options: Stage2Options): ReturnType<typeof runStage2> {
  return runStage2(view.features!, { gpu: gpu!, seed: 0, source: view.where, ...options });
}

// --- Tau slider --------------------------------------------------------------------------------

let tauBusy = false;

async function onTau(): Promise<void> {
  view.sliderTau = Number(($("tau") as HTMLInputElement).value);
  $("tau-value").textContent = view.sliderTau.toFixed(1);
  if (tauBusy || !view.metrics) return;
  tauBusy = true;
  document.body.dataset.tau = "busy";
  try {
    // The latest position wins: positions passed over while a sweep ran are skipped.
    while (view.shownTau !== view.sliderTau || Object.keys(view.tauMetrics).length === 0) {
      const t = view.sliderTau;
      const methods = ["tau", "la"].filter((n) => view.metrics!.methods[n]);
      const m = (await stage2({ methods, tauGrid: { start: t, stop: t, step: 1 } })).metrics;
      view.tauMetrics = Object.fromEntries(methods.map((n) => [n, m.methods[n]]));
      view.shownTau = t;
      renderResults();
    }
    document.body.dataset.tau = String(view.shownTau);
  } catch (error) {
    fail(error);
  } finally {
    tauBusy = false;
  }
}

// --- cRT / LWS settings ------------------------------------------------------------------------

async function onRerun(event: Event): Promise<void> {
  event.preventDefault();
  if (!view.metrics || view.state === "training" || tauBusy) return;
  const epochs = Number(($("epochs") as HTMLInputElement).value);
  const lr = Number(($("lr") as HTMLInputElement).value);
  const sampler = ($("sampler") as HTMLSelectElement).value as SamplerKind;
  if (!Number.isInteger(epochs) || epochs < 1 || epochs > 1000) {
    fail(new RangeError(`Cannot train cRT and LWS: epochs ${epochs} must be an integer 1..1000`));
    return;
  }
  if (!(lr > 0) || !Number.isFinite(lr)) {
    fail(new RangeError(`Cannot train cRT and LWS: lr ${lr} must be a positive number`));
    return;
  }
  const progress = $("progress") as HTMLProgressElement;
  progress.removeAttribute("value");
  progress.hidden = false;
  const begin = performance.now();
  const timer = setInterval(() => {
    $("status").textContent = `Training cRT and LWS (${epochs} epochs, lr ${lr}, ${sampler} ` +
      `sampler): ${((performance.now() - begin) / 1000).toFixed(0)} s`;
  }, 250);
  setState("training", `Training cRT and LWS (${epochs} epochs, lr ${lr}, ${sampler} sampler)`);
  // The slider's sweeps and the training share one command encoder: one at a time.
  const slider = $("tau") as HTMLInputElement;
  slider.disabled = true;
  try {
    const methods = ["crt", "lws"].filter((n) => view.metrics!.methods[n]);
    const samplers = Object.fromEntries(methods.map((n) => [n, sampler]));
    const m = (await stage2({ methods, epochs, lr, samplers })).metrics;
    for (const n of methods) view.metrics.methods[n] = m.methods[n];
    renderResults();
    setState(
      "done",
      `cRT and LWS re-trained in ${((performance.now() - begin) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    fail(error);
  } finally {
    clearInterval(timer);
    progress.hidden = true;
    slider.disabled = !view.metrics.methods.tau && !view.metrics.methods.la;
  }
}

// --- Start -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  wireDrop();
  $("tau").addEventListener("input", () => void onTau());
  $("settings").addEventListener("submit", (e) => void onRerun(e));
  ($("epochs") as HTMLInputElement).value = String(DEFAULT_TRAIN_SETTINGS.epochs);
  ($("lr") as HTMLInputElement).value = String(DEFAULT_TRAIN_SETTINGS.lr);
  for (const [id, colour] of Object.entries(GROUP_COLOURS)) $(`key-${id}`).style.color = colour;
  $("needs").textContent = "What each method reads (every one is scored on test.arrow): " +
    METHOD_NAMES.map((n) => `${methodRow(n)!.label}: ${needs(n)}`).join("; ");
  const served = await fetchServed();
  if (served === null) {
    setState("waiting", "Drop the four .arrow files of a features folder here, or choose them");
    return;
  }
  const features = complete(served.dump, served.where)!;
  await start(features, served.where);
}

main().catch(fail);
