/**
 * The stage-2 methods as data: one row per method gives its key, labels, one-line help, how it
 * runs, the settings it overrides, what it has to show (weight norms, a tau curve) and how the
 * report draws it. `runStage2`, metrics.json, the printed table, the report and the `--help` of
 * `deno task train` and `deno task stage2` all read this table, so a new method is one row.
 *
 * @module
 */

import type { SamplerKind } from "../data/sampler.ts";
import type { Stage2Context } from "./context.ts";
import { BSM_DEFAULTS, CRT_DEFAULTS, runCrt } from "./crt.ts";
import { runJoint } from "./joint.ts";
import { runLogitAdjust } from "./logit_adjust.ts";
import { LWS_DEFAULTS, runLws } from "./lws.ts";
import type { MethodResult, TauGrid, TrainSettings } from "./method.ts";
import { runNcm } from "./ncm.ts";
import { runTauNorm } from "./tau_norm.ts";

/**
 * The settings a trained method runs with: the shared SGD settings with the method's own
 * overrides applied, and its sampler.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { DEFAULT_TRAIN_SETTINGS } from "./method.ts";
 * import type { MethodTrainSettings } from "./registry.ts";
 * const lws: MethodTrainSettings = { ...DEFAULT_TRAIN_SETTINGS, weightDecay: 0, sampler: "class" };
 * equal(lws.epochs, 10);
 * ```
 */
export interface MethodTrainSettings extends TrainSettings {
  /** Which training rows each step draws. */
  sampler: SamplerKind;
}

/**
 * What a method's run function gets.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { DEFAULT_TAU_GRID, DEFAULT_TRAIN_SETTINGS } from "./method.ts";
 * import type { MethodRunSettings } from "./registry.ts";
 * const settings: MethodRunSettings = {
 *   seed: 0,
 *   train: { ...DEFAULT_TRAIN_SETTINGS, sampler: "class" },
 *   tauGrid: DEFAULT_TAU_GRID,
 * };
 * equal(settings.train.batch, 512);
 * ```
 */
export interface MethodRunSettings {
  /** Seed of every random choice. */
  seed: number;
  /** SGD settings, already with the row's {@link MethodRow.defaults} and any caller override. */
  train: MethodTrainSettings;
  /** Tau grid of the methods that sweep tau. */
  tauGrid: TauGrid;
}

/**
 * Colour, dash and display name of a method in the report's figures and tables.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { methodRow, type MethodStyle } from "./registry.ts";
 * const style: MethodStyle = { color: "#009E73", dash: "8 3", label: "τ-norm" };
 * deepEqual(methodRow("tau")?.style, style);
 * ```
 */
export interface MethodStyle {
  /** Stroke and fill colour (Okabe-Ito colours for the built-in methods). */
  color: string;
  /** SVG dash pattern; solid when absent. */
  dash?: string;
  /** Display name in the report when it differs from the plain-text label. */
  label?: string;
}

/**
 * One stage-2 method.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { methodRow } from "./registry.ts";
 * const crt = methodRow("crt")!;
 * deepEqual([crt.label, crt.trains, crt.weightNorms, crt.tauCurve], ["cRT", true, true, false]);
 * deepEqual(crt.defaults, { sampler: "class" });
 * ```
 */
export interface MethodRow {
  /** Key in metrics.json, `--methods` and file names (lowercase letters, digits, `_`). */
  name: string;
  /** Display name in the printed table and metrics.json. */
  label: string;
  /** One line for `--help`. */
  help: string;
  /** Trained with SGD: uses `--epochs`, `--batch`, `--lr` and a sampler. */
  trains: boolean;
  /** Uses the model's own linear classifier (skipped when a dump has none). */
  needsClassifier: boolean;
  /** Settings this method runs with instead of the shared ones (recorded in metrics.json). */
  defaults: Readonly<Partial<MethodTrainSettings>>;
  /** Runs the method on the GPU. */
  run(ctx: Stage2Context, settings: MethodRunSettings): Promise<MethodResult>;
  /** Its classifier's weight norms are drawn in the report (meaningful for linear classifiers). */
  weightNorms: boolean;
  /** It chooses tau on validation; the report draws its curve and shows tau in its label. */
  tauCurve: boolean;
  /** How the report draws it. */
  style: MethodStyle;
}

const BUILTIN: readonly MethodRow[] = [
  {
    name: "joint",
    label: "Joint",
    help: "the model's own (stage-1) classifier",
    trains: false,
    needsClassifier: true,
    defaults: {},
    run: (ctx) => runJoint(ctx),
    weightNorms: true,
    tauCurve: false,
    style: { color: "#000000" },
  },
  {
    name: "ncm",
    label: "NCM (cosine)",
    help: "nearest class mean, cosine similarity",
    trains: false,
    needsClassifier: false,
    defaults: {},
    run: (ctx) => runNcm(ctx, "cosine"),
    weightNorms: false,
    tauCurve: false,
    style: { color: "#E69F00", dash: "5 3" },
  },
  {
    name: "ncm_l2",
    label: "NCM (centred L2)",
    help: "nearest class mean, centred and normalised, L2 distance",
    trains: false,
    needsClassifier: false,
    defaults: {},
    run: (ctx) => runNcm(ctx, "l2"),
    weightNorms: false,
    tauCurve: false,
    style: { color: "#999999", dash: "1 3" },
  },
  {
    name: "crt",
    label: "cRT",
    help: "classifier re-training, class-balanced sampling",
    trains: true,
    needsClassifier: false,
    defaults: CRT_DEFAULTS,
    run: (ctx, s) => runCrt(ctx, { ...s.train, seed: s.seed, loss: "ce" }),
    weightNorms: true,
    tauCurve: false,
    style: { color: "#0072B2" },
  },
  {
    name: "tau",
    label: "tau-norm",
    help: "tau-normalised classifier, tau chosen on validation",
    trains: false,
    needsClassifier: true,
    defaults: {},
    run: (ctx, s) => runTauNorm(ctx, s.tauGrid),
    weightNorms: true,
    tauCurve: true,
    style: { color: "#009E73", dash: "8 3", label: "τ-norm" },
  },
  {
    name: "lws",
    label: "LWS",
    help: "learnable weight scaling of the model's classifier",
    trains: true,
    needsClassifier: true,
    defaults: LWS_DEFAULTS,
    run: (ctx, s) => runLws(ctx, { ...s.train, seed: s.seed }),
    weightNorms: true,
    tauCurve: false,
    style: { color: "#D55E00" },
  },
  {
    name: "la",
    label: "Logit adjustment",
    help: "post-hoc logit adjustment, tau chosen on validation",
    trains: false,
    needsClassifier: true,
    defaults: {},
    run: (ctx, s) => runLogitAdjust(ctx, s.tauGrid),
    weightNorms: false,
    tauCurve: true,
    style: { color: "#CC79A7", dash: "8 3 2 3" },
  },
  {
    name: "bsm",
    label: "cRT + balanced softmax",
    help: "cRT with the balanced-softmax loss",
    trains: true,
    needsClassifier: false,
    defaults: BSM_DEFAULTS,
    run: (ctx, s) => runCrt(ctx, { ...s.train, seed: s.seed, loss: "balanced-softmax" }),
    weightNorms: false,
    tauCurve: false,
    style: { color: "#56B4E9", dash: "2 2" },
  },
];

const ROWS: MethodRow[] = [...BUILTIN];

/**
 * Every method, in the order they run and are reported.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { METHODS } from "./registry.ts";
 * equal(METHODS.map((m) => m.name).join(" "), "joint ncm ncm_l2 crt tau lws la bsm");
 * ```
 */
export const METHODS: readonly MethodRow[] = ROWS;

/**
 * The method keys, in run order; the same live list as {@link METHODS} (a registered method
 * appears here too).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { METHOD_NAMES } from "./registry.ts";
 * ok(METHOD_NAMES.indexOf("crt") < METHOD_NAMES.indexOf("tau"));
 * ```
 */
export const METHOD_NAMES: readonly string[] = ROWS.map((r) => r.name);

/**
 * The row of a method key, or undefined.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { methodRow } from "./registry.ts";
 * equal(methodRow("bsm")?.label, "cRT + balanced softmax");
 * equal(methodRow("knn"), undefined);
 * ```
 */
export function methodRow(name: string): MethodRow | undefined {
  return ROWS.find((r) => r.name === name);
}

/**
 * Adds a method at the end of the table (after the built-in ones) and returns a function that
 * removes it again. `--methods`, both `--help` texts, metrics and the report see it at once;
 * the presets keep listing the built-in methods, so `deno task train` runs it when `--methods`
 * names it.
 *
 * @throws {RangeError} When the name is taken or not a lowercase key.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { METHOD_NAMES, registerMethod } from "./registry.ts";
 * import { runJoint } from "./joint.ts";
 * const remove = registerMethod({
 *   name: "joint_copy",
 *   label: "Joint (copy)",
 *   help: "the stage-1 classifier again",
 *   trains: false,
 *   needsClassifier: true,
 *   defaults: {},
 *   run: (ctx) => runJoint(ctx),
 *   weightNorms: false,
 *   tauCurve: false,
 *   style: { color: "#117733" },
 * });
 * equal(METHOD_NAMES.at(-1), "joint_copy");
 * remove();
 * equal(METHOD_NAMES.includes("joint_copy"), false);
 * ```
 */
export function registerMethod(row: MethodRow): () => void {
  if (!/^[a-z][a-z0-9_]*$/.test(row.name)) {
    throw new RangeError(
      `Cannot register stage-2 method "${row.name}": a key is lowercase letters, digits and _, ` +
        `starting with a letter`,
    );
  }
  if (methodRow(row.name)) {
    throw new RangeError(`Cannot register stage-2 method "${row.name}": the name is taken`);
  }
  ROWS.push(row);
  (METHOD_NAMES as string[]).push(row.name);
  return () => {
    const at = ROWS.indexOf(row);
    if (at < BUILTIN.length) return;
    ROWS.splice(at, 1);
    (METHOD_NAMES as string[]).splice(at, 1);
  };
}

/**
 * Parses a comma-separated method list (`joint,ncm,crt`); `all` means every method. The result
 * is in table order.
 *
 * @throws {RangeError} Naming the unknown method and the known ones.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { parseMethods } from "./registry.ts";
 * deepEqual(parseMethods("tau, crt"), ["crt", "tau"]);
 * ```
 */
export function parseMethods(text: string): string[] {
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0 || (names.length === 1 && names[0] === "all")) return [...METHOD_NAMES];
  for (const name of names) {
    if (!methodRow(name)) {
      throw new RangeError(
        `Cannot run stage 2: unknown method "${name}"; use any of ${METHOD_NAMES.join(", ")} ` +
          `or all`,
      );
    }
  }
  return METHOD_NAMES.filter((m) => names.includes(m));
}

/**
 * `--help` lines describing each method (`  key  help`), indented by `indent` spaces.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { methodHelpLines } from "./registry.ts";
 * equal(methodHelpLines(2)[3], "  crt     classifier re-training, class-balanced sampling");
 * ```
 */
export function methodHelpLines(indent: number): string[] {
  const width = Math.max(...ROWS.map((r) => r.name.length));
  return ROWS.map((r) => `${" ".repeat(indent)}${r.name.padEnd(width)}  ${r.help}`);
}
