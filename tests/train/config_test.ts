import {
  deepStrictEqual as deepEqual,
  match,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { BACKBONE_NAMES, BACKBONES } from "../../lib/nn/backbones.ts";
import { describeResNet, featureDim, planResNet, validateResNetSpec } from "../../lib/nn/spec.ts";
import { ARCHITECTURES, modelSpec, presetConfig, validateConfig } from "../../lib/train/config.ts";
import { applyOverrides, parseTrainArgs, trainHelp } from "../../lib/train/flags.ts";

/** A resnet32 config.json as written before the shortcut field existed. */
function oldStyleConfig(): unknown {
  const config = presetConfig("paper");
  const json = JSON.parse(JSON.stringify(config));
  json.model = { arch: "resnet32", width: 16 };
  return json;
}

Deno.test("a config.json without a shortcut field still builds option B (1x1 conv shortcuts)", () => {
  const config = validateConfig(oldStyleConfig(), "runs/old/config.json");
  equal(config.model.shortcut, "B");
  equal(config.model.init, "fan-out");
  const spec = modelSpec(config, 10, [3, 32, 32]);
  const kinds = planResNet(spec).blocks.map((b) =>
    typeof b.shortcut === "string" ? b.shortcut : "conv"
  );
  deepEqual(kinds.filter((k) => k !== "identity"), ["conv", "conv"]);
  match(describeResNet(spec), /^resnet32: .* shortcut B, 0\.467 M parameters$/);
  // Written again, it says so explicitly and means the same.
  const again = validateConfig(JSON.parse(JSON.stringify(config)));
  deepEqual(again.model, { arch: "resnet32", width: 16, shortcut: "B", init: "fan-out" });
  equal(modelSpec(again, 10, [3, 32, 32]).init, undefined); // the recipe's initialisation
});

Deno.test("shortcut A and init fan-in build LDAM-DRW's ResNet-32: zero-pad shortcuts, 0.46 M parameters", () => {
  const json = oldStyleConfig() as { model: Record<string, unknown> };
  json.model.shortcut = "A";
  json.model.init = "fan-in";
  const spec = modelSpec(validateConfig(json), 10, [3, 32, 32]);
  const kinds = planResNet(spec).blocks.map((b) =>
    typeof b.shortcut === "string" ? b.shortcut : "conv"
  );
  deepEqual(kinds.filter((k) => k !== "identity"), ["pad", "pad"]);
  equal(
    describeResNet(spec),
    "resnet32: 3x32x32 -> 16 -> [16x5, 32x5/2, 64x5/2] -> 10, shortcut A, init fan-in, " +
      "0.464 M parameters",
  );
  json.model.init = "xavier";
  throws(() => validateConfig(json), /model\.init is "xavier"; use fan-out or fan-in/);
  json.model.shortcut = "C";
  throws(() => validateConfig(json), /model\.shortcut is "C"; use A or B/);
});

Deno.test("every backbone row builds a valid network at its own input size and width", () => {
  deepEqual([...ARCHITECTURES], [...BACKBONE_NAMES]);
  const features: Record<string, number> = {};
  for (const name of BACKBONE_NAMES) {
    const row = BACKBONES[name];
    const spec = row.build({
      width: row.width,
      shortcut: row.shortcut,
      classes: 7,
      input: row.input,
    });
    validateResNetSpec(spec);
    equal(spec.name, name);
    features[name] = featureDim(spec);
  }
  deepEqual(features, {
    resnet8: 64,
    resnet20: 64,
    resnet32: 64,
    resnet10: 512,
    resnet18: 512,
    resnet34: 512,
    resnet50: 2048,
    resnext50: 2048,
  });
});

Deno.test("--arch and --shortcut choose any row; --help lists the table", () => {
  const config = presetConfig("smoke");
  applyOverrides(
    config,
    parseTrainArgs(["--arch", "resnext50", "--width", "8", "--shortcut", "A", "--init", "fan-in"])
      .overrides,
  );
  validateConfig(config);
  deepEqual(config.model, { arch: "resnext50", width: 8, shortcut: "A", init: "fan-in" });
  const spec = modelSpec(config, 10, [1, 28, 28]);
  equal(spec.groups, 32);
  equal(spec.shortcut, "A");
  equal(spec.init, "fan-in");
  throws(() => parseTrainArgs(["--shortcut", "C"]), /Invalid --shortcut "C": use one of A, B/);
  const help = trainHelp(presetConfig("paper"));
  for (const name of BACKBONE_NAMES) match(help, new RegExp(`\\n  ${name} `));
  match(help, /--shortcut .*\[default: "B"\]/);
});
