/**
 * Command-line flags of `deno task train`: one table gives each flag's config field, parser,
 * default (from the preset) and meaning, so `--help`, parsing and errors never disagree.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SAMPLER_KINDS } from "../data/sampler.ts";
import { BACKBONES } from "../nn/backbones.ts";
import { INITS, SHORTCUTS } from "../nn/spec.ts";
import {
  ARCHITECTURES,
  type ExperimentConfig,
  PRESET_NAMES,
  type PresetName,
  SETTING_LIMITS,
  STAGE2_METHODS,
} from "./config.ts";

/**
 * One config flag: the field it sets, how its value is parsed and checked, and its help.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONFIG_FLAGS, type ConfigFlag } from "./flags.ts";
 * const lr: ConfigFlag = CONFIG_FLAGS.lr;
 * assert.deepEqual([lr.field, lr.kind, lr.min, lr.max], ["stage1.lr", "number", 0, 10]);
 * ```
 */
export interface ConfigFlag {
  /** Path of the config field, e.g. `stage1.lr`. */
  field: string;
  /** How the value is parsed; `-or-null` kinds also take `null` (`all` for integers). */
  kind: "int" | "number" | "string" | "bool" | "list" | "int-or-null" | "string-or-null";
  /** One line for `--help`. */
  help: string;
  /** The only values accepted (for strings and list items). */
  allowed?: readonly string[];
  /** Smallest number accepted. */
  min?: number;
  /** Largest number accepted. */
  max?: number;
  /** True when the value changes no result (where files live), so `--resume` may take it. */
  resultNeutral?: boolean;
}

/**
 * Flags that set config fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONFIG_FLAGS } from "./flags.ts";
 * assert.equal(CONFIG_FLAGS["weight-decay"].field, "stage1.weightDecay");
 * ```
 */
export const CONFIG_FLAGS: Readonly<Record<string, ConfigFlag>> = {
  profile: { field: "profile", kind: "string", help: "long-tailed data profile" },
  "data-dir": {
    field: "dataDir",
    kind: "string-or-null",
    help: "folder holding the profile's data (default: LTKIT_DATA, data/<source>/, Debian's)",
    resultNeutral: true,
  },
  seed: { field: "seed", kind: "int", min: 0, help: "seed of everything random" },
  arch: { field: "model.arch", kind: "string", allowed: ARCHITECTURES, help: "backbone (below)" },
  shortcut: {
    field: "model.shortcut",
    kind: "string",
    allowed: SHORTCUTS,
    help: "shortcut of blocks that change shape: A zero-pads, B is a 1x1 conv",
  },
  init: {
    field: "model.init",
    kind: "string",
    allowed: INITS,
    help: "weight init: Kaiming-normal fan-out (the recipe) or fan-in (LDAM-DRW)",
  },
  width: {
    field: "model.width",
    kind: "int",
    ...SETTING_LIMITS["model.width"],
    help: "stem and first-stage channels",
  },
  epochs: {
    field: "stage1.epochs",
    kind: "int",
    ...SETTING_LIMITS["stage1.epochs"],
    help: "stage-1 epochs",
  },
  batch: {
    field: "stage1.batch",
    kind: "int",
    ...SETTING_LIMITS["stage1.batch"],
    help: "stage-1 batch size",
  },
  lr: { field: "stage1.lr", kind: "number", min: 0, max: 10, help: "stage-1 peak learning rate" },
  momentum: { field: "stage1.momentum", kind: "number", min: 0, max: 0.999, help: "SGD momentum" },
  "weight-decay": {
    field: "stage1.weightDecay",
    kind: "number",
    min: 0,
    max: 1,
    help: "stage-1 weight decay",
  },
  sampler: {
    field: "stage1.sampler",
    kind: "string",
    allowed: SAMPLER_KINDS,
    help: "stage-1 sampler",
  },
  augment: { field: "stage1.augment", kind: "bool", help: "random crop and flip in stage 1" },
  "steps-per-epoch": {
    field: "stage1.stepsPerEpoch",
    kind: "int-or-null",
    ...SETTING_LIMITS["stage1.stepsPerEpoch"],
    help: "cap on stage-1 steps per epoch (null: whole set)",
  },
  "eval-limit": {
    field: "evalLimit",
    kind: "int-or-null",
    ...SETTING_LIMITS.evalLimit,
    help: "cap on val and test images for features, evenly spaced (null: all)",
  },
  methods: {
    field: "stage2.methods",
    kind: "list",
    allowed: STAGE2_METHODS,
    help: "stage-2 methods, comma-separated",
  },
  "stage2-epochs": {
    field: "stage2.epochs",
    kind: "int",
    ...SETTING_LIMITS["stage2.epochs"],
    help: "cRT and LWS epochs",
  },
  "stage2-batch": {
    field: "stage2.batch",
    kind: "int",
    ...SETTING_LIMITS["stage2.batch"],
    help: "cRT and LWS batch size",
  },
  "stage2-lr": {
    field: "stage2.lr",
    kind: "number",
    min: 0,
    max: 10,
    help: "cRT and LWS learning rate",
  },
};

/**
 * Flags that choose what runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RUN_FLAGS } from "./flags.ts";
 * assert.equal(RUN_FLAGS.resume, "continue the interrupted run in --out from its last checkpoint");
 * ```
 */
export const RUN_FLAGS = {
  preset: "smoke, cpu, paper, imagenet-lt-r10 or imagenet-lt-r10-cpu (default: paper on a GPU, " +
    "cpu on a software adapter)",
  config: "load a saved config.json (flags given too override it)",
  out: "run folder (default: runs/<preset>-<time>)",
  "stage1-only": "stop after stage 1 and the feature dumps",
  "from-checkpoint": "skip training: extract features from this stage-1 checkpoint",
  resume: "continue the interrupted run in --out from its last checkpoint",
  "stage2-only": "run only stage 2 on --features DIR",
  features: "feature folder for --stage2-only",
  seeds: "run once per seed (e.g. 0,1,2) into --out/seed-<n>/ and summarise mean and std",
  verbose: "print the adapter and more",
  quiet: "no progress output",
  // Output only, as --verbose and --quiet: a run flag, so --resume takes it (changedSettings).
  timings: "print the time of each kernel family and layer for one training step first",
  help: "show this help",
} as const;

/**
 * Parsed command line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrainArgs, type TrainArgs } from "./flags.ts";
 * const args: TrainArgs = parseTrainArgs(["--stage2-only", "--features", "runs/a/features"]);
 * assert.deepEqual([args.stage2Only, args.features, args.preset], [true, "runs/a/features", null]);
 * ```
 */
export interface TrainArgs {
  /** `--preset`, or null to choose by adapter. */
  preset: PresetName | null;
  /** `--config`: a saved config.json to start from. */
  config: string | null;
  /** `--out`: the run folder. */
  out: string | null;
  /** `--stage1-only`. */
  stage1Only: boolean;
  /** `--from-checkpoint`: a stage-1 checkpoint to extract features from. */
  fromCheckpoint: string | null;
  /** `--resume`. */
  resume: boolean;
  /** `--stage2-only`. */
  stage2Only: boolean;
  /** `--features`: the feature folder for `--stage2-only`. */
  features: string | null;
  /** `--verbose`. */
  verbose: boolean;
  /** `--quiet`. */
  quiet: boolean;
  /** `--timings`: per-kernel times of one training step (on a network of its own). */
  timings: boolean;
  /** `--help`. */
  help: boolean;
  /** `--seeds`: run once per seed and summarise (null: one run with the config's seed). */
  seeds: number[] | null;
  /** Config overrides by field path. */
  overrides: Map<string, unknown>;
}

/**
 * Parses `deno task train` flags; an unknown flag or bad value throws an error that names the
 * flag, the value and what is allowed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrainArgs } from "./flags.ts";
 * const args = parseTrainArgs(["--preset", "smoke", "--epochs", "3"]);
 * assert.deepEqual([args.preset, args.overrides.get("stage1.epochs")], ["smoke", 3]);
 * ```
 */
export function parseTrainArgs(argv: string[]): TrainArgs {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const name of Object.keys(CONFIG_FLAGS)) {
    options[name] = { type: CONFIG_FLAGS[name].kind === "bool" ? "boolean" : "string" };
  }
  options["no-augment"] = { type: "boolean" };
  for (const name of ["preset", "config", "out", "from-checkpoint", "features", "seeds"]) {
    options[name] = { type: "string" };
  }
  for (
    const name of ["stage1-only", "resume", "stage2-only", "verbose", "quiet", "timings", "help"]
  ) {
    options[name] = { type: "boolean" };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    const message = (error as Error).message;
    throw new RangeError(`${message.replace(/\s*\n\s*/g, " ")} See --help for the flags`);
  }
  const overrides = new Map<string, unknown>();
  for (const [name, flag] of Object.entries(CONFIG_FLAGS)) {
    const raw = values[name];
    if (raw === undefined) continue;
    overrides.set(flag.field, parseValue(name, flag, raw));
  }
  if (values["no-augment"]) overrides.set("stage1.augment", false);
  const preset = values.preset as string | undefined;
  if (preset !== undefined && !PRESET_NAMES.includes(preset as PresetName)) {
    throw new RangeError(
      `Invalid --preset "${preset}": use one of ${PRESET_NAMES.join(", ")}`,
    );
  }
  const args: TrainArgs = {
    preset: (preset as PresetName) ?? null,
    config: (values.config as string) ?? null,
    out: (values.out as string) ?? null,
    stage1Only: Boolean(values["stage1-only"]),
    fromCheckpoint: (values["from-checkpoint"] as string) ?? null,
    resume: Boolean(values.resume),
    stage2Only: Boolean(values["stage2-only"]),
    features: (values.features as string) ?? null,
    verbose: Boolean(values.verbose),
    quiet: Boolean(values.quiet),
    timings: Boolean(values.timings),
    help: Boolean(values.help),
    seeds: values.seeds === undefined ? null : parseSeeds(values.seeds as string),
    overrides,
  };
  if (args.stage2Only && !args.features) {
    throw new RangeError("Invalid --stage2-only: it needs --features DIR (a feature folder)");
  }
  if (args.features && !args.stage2Only) {
    throw new RangeError("Invalid --features: it is only used with --stage2-only");
  }
  if (args.resume && !args.out) {
    throw new RangeError("Invalid --resume: it needs --out DIR, the run folder to continue");
  }
  if (args.resume && args.fromCheckpoint) {
    throw new RangeError("Invalid flags: --resume and --from-checkpoint exclude each other");
  }
  if (args.seeds && (args.resume || args.stage2Only || args.fromCheckpoint)) {
    throw new RangeError(
      "Invalid flags: --seeds excludes --resume (rerun the same --seeds command to continue), " +
        "--stage2-only (use deno task stage2 --seeds) and --from-checkpoint",
    );
  }
  if (args.seeds && overrides.has("seed")) {
    throw new RangeError("Invalid flags: --seeds and --seed exclude each other");
  }
  if (args.stage2Only && (args.stage1Only || args.fromCheckpoint || args.resume)) {
    throw new RangeError(
      "Invalid flags: --stage2-only excludes --stage1-only, --from-checkpoint and --resume",
    );
  }
  return args;
}

function parseValue(name: string, flag: ConfigFlag, raw: string | boolean): unknown {
  const bad = (allowed: string): never => {
    throw new RangeError(`Invalid --${name} ${JSON.stringify(raw)}: ${allowed}`);
  };
  const range = () =>
    flag.max !== undefined ? `${flag.min ?? "-inf"}..${flag.max}` : `>= ${flag.min ?? 0}`;
  switch (flag.kind) {
    case "bool":
      return raw === true;
    case "string":
      if (flag.allowed && !flag.allowed.includes(raw as string)) {
        bad(`use one of ${flag.allowed.join(", ")}`);
      }
      if (raw === "") bad("expected a value");
      return raw;
    case "string-or-null":
      return raw === "null" || raw === "" ? null : raw;
    case "list": {
      const items = String(raw).split(",").map((s) => s.trim()).filter((s) => s !== "");
      if (items.length === 0) bad(`expected a comma-separated list of ${flag.allowed?.join(", ")}`);
      for (const item of items) {
        if (flag.allowed && !flag.allowed.includes(item)) {
          bad(`"${item}" is not one of ${flag.allowed.join(", ")}`);
        }
      }
      return items;
    }
    case "int-or-null":
      if (raw === "null" || raw === "all") return null;
    // falls through
    case "int":
    case "number": {
      const value = Number(raw);
      const integral = flag.kind !== "number";
      if (
        String(raw).trim() === "" || !Number.isFinite(value) ||
        (integral && !Number.isInteger(value))
      ) {
        bad(`expected ${integral ? "an integer" : "a number"} ${range()}`);
      }
      if (
        (flag.min !== undefined && value < flag.min) || (flag.max !== undefined && value > flag.max)
      ) {
        bad(`expected ${integral ? "an integer" : "a number"} ${range()}`);
      }
      if (flag.kind === "number" && flag.min === 0 && value === 0 && name.endsWith("lr")) {
        bad("expected a learning rate > 0");
      }
      return value;
    }
  }
}

/**
 * Parses a seed list such as `0,1,2`: distinct integers >= 0, at least one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSeeds } from "./flags.ts";
 * assert.deepEqual(parseSeeds("0, 1,2"), [0, 1, 2]);
 * assert.throws(() => parseSeeds("0,0"), /seed 0 is given twice/);
 * assert.throws(() => parseSeeds("a"), /"a" is not an integer >= 0/);
 * ```
 */
export function parseSeeds(text: string): number[] {
  const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) {
    throw new RangeError(`Invalid --seeds "${text}": expected a comma-separated list like 0,1,2`);
  }
  const seeds: number[] = [];
  for (const item of items) {
    if (!/^\d+$/.test(item) || !Number.isSafeInteger(Number(item))) {
      throw new RangeError(`Invalid --seeds "${text}": "${item}" is not an integer >= 0`);
    }
    const seed = Number(item);
    if (seeds.includes(seed)) {
      throw new RangeError(`Invalid --seeds "${text}": seed ${seed} is given twice`);
    }
    seeds.push(seed);
  }
  return seeds;
}

/**
 * Applies overrides (field path to value) to a config, in place.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig } from "./config.ts";
 * import { applyOverrides, parseTrainArgs } from "./flags.ts";
 * const config = presetConfig("cpu");
 * applyOverrides(config, parseTrainArgs(["--lr", "0.05", "--no-augment"]).overrides);
 * assert.deepEqual([config.stage1.lr, config.stage1.augment], [0.05, false]);
 * ```
 */
export function applyOverrides(config: ExperimentConfig, overrides: Map<string, unknown>): void {
  for (const [field, value] of overrides) {
    const path = field.split(".");
    // deno-lint-ignore no-explicit-any
    let target: any = config;
    for (const key of path.slice(0, -1)) target = target[key];
    target[path[path.length - 1]] = value;
  }
}

/**
 * A flag whose value differs from a stored config: what `--resume` refuses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SettingChange } from "./flags.ts";
 * const change: SettingChange = { flag: "--lr 0.5", field: "stage1.lr", stored: "0.1" };
 * assert.equal(change.field, "stage1.lr");
 * ```
 */
export interface SettingChange {
  /** The flag as given, with its value, e.g. `--lr 0.5`. */
  flag: string;
  /** The config field it sets. */
  field: string;
  /** The stored value, as JSON. */
  stored: string;
}

/**
 * The overrides that would change a result of a run made with `config`: every config flag whose
 * value differs from the stored one, except those that change no result (`--data-dir`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig } from "./config.ts";
 * import { changedSettings, parseTrainArgs } from "./flags.ts";
 * const config = presetConfig("paper");
 * const args = parseTrainArgs(["--lr", "0.1", "--seed", "3", "--data-dir", "/data"]);
 * assert.deepEqual(changedSettings(config, args.overrides), [
 *   { flag: "--seed 3", field: "seed", stored: "0" },
 * ]);
 * ```
 */
export function changedSettings(
  config: ExperimentConfig,
  overrides: Map<string, unknown>,
): SettingChange[] {
  const changes: SettingChange[] = [];
  for (const [field, value] of overrides) {
    const [name, flag] = Object.entries(CONFIG_FLAGS).find(([, f]) => f.field === field) ??
      [field, undefined];
    if (flag?.resultNeutral) continue;
    // deno-lint-ignore no-explicit-any
    const stored = field.split(".").reduce((o: any, k) => o?.[k], config);
    if (JSON.stringify(stored) === JSON.stringify(value)) continue;
    const given = flag?.kind === "bool"
      ? (value ? `--${name}` : `--no-${name}`)
      : `--${name} ${Array.isArray(value) ? value.join(",") : JSON.stringify(value)}`;
    changes.push({ flag: given, field, stored: JSON.stringify(stored) });
  }
  return changes;
}

/**
 * The `--help` text, with each config flag's default from `defaults`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig } from "./config.ts";
 * import { trainHelp } from "./flags.ts";
 * const help = trainHelp(presetConfig("paper"));
 * assert.equal(help.split("\n")[0], "Usage: deno task train [flags]");
 * assert.ok(help.includes("[default: 128]"));
 * ```
 */
export function trainHelp(defaults: ExperimentConfig): string {
  const lines = [
    "Usage: deno task train [flags]",
    "",
    "Runs the whole experiment: data, stage 1, feature dumps, stage 2 with every method,",
    "evaluation and report, into runs/<name>/.",
    "",
    "Run flags:",
  ];
  for (const [name, help] of Object.entries(RUN_FLAGS)) {
    lines.push(`  --${name.padEnd(18)} ${help}`);
  }
  lines.push("", `Settings (defaults of the ${defaults.preset} preset):`);
  for (const [name, flag] of Object.entries(CONFIG_FLAGS)) {
    // deno-lint-ignore no-explicit-any
    const value = flag.field.split(".").reduce((o: any, k) => o?.[k], defaults);
    const shown = Array.isArray(value) ? value.join(",") : JSON.stringify(value);
    const allowed = flag.allowed ? ` (${flag.allowed.join(", ")})` : "";
    lines.push(`  --${name.padEnd(18)} ${flag.help}${allowed} [default: ${shown}]`);
  }
  lines.push(`  --${"no-augment".padEnd(18)} turn stage-1 augmentation off`);
  lines.push("", "Backbones (--arch; its papers' --width, --shortcut and --init, the preset):");
  for (const [name, row] of Object.entries(BACKBONES)) {
    const preset = row.defaultPreset ? `, --preset ${row.defaultPreset}` : "";
    lines.push(`  ${name.padEnd(20)} ${row.description}`);
    lines.push(
      `  ${"".padEnd(20)} input ${row.input.join("x")}, width ${row.width}, shortcut ` +
        `${row.shortcut}, init ${row.init}${preset}`,
    );
  }
  return lines.join("\n");
}
