import {
  deepStrictEqual as deepEqual,
  match,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { presetConfig, validateConfig } from "../../lib/train/config.ts";
import {
  applyOverrides,
  changedSettings,
  parseTrainArgs,
  trainHelp,
} from "../../lib/train/flags.ts";

Deno.test("flags set config fields and keep run switches apart", () => {
  const args = parseTrainArgs([
    "--preset=smoke",
    "--epochs",
    "3",
    "--lr",
    "0.05",
    "--methods",
    "crt,lws",
    "--no-augment",
    "--eval-limit",
    "all",
    "--out",
    "runs/x",
  ]);
  equal(args.preset, "smoke");
  equal(args.out, "runs/x");
  const config = presetConfig("smoke");
  applyOverrides(config, args.overrides);
  equal(config.stage1.epochs, 3);
  equal(config.stage1.lr, 0.05);
  equal(config.stage1.augment, false);
  equal(config.evalLimit, null);
  deepEqual(config.stage2.methods, ["crt", "lws"]);
  validateConfig(config);
});

Deno.test("every bad flag names the flag, the value and what is allowed", () => {
  const cases: [string[], RegExp][] = [
    [["--epochs", "0"], /Invalid --epochs "0": expected an integer 1\.\.10000/],
    [["--epochs", "2.5"], /Invalid --epochs "2.5": expected an integer/],
    [["--lr", "abc"], /Invalid --lr "abc": expected a number 0\.\.10/],
    [["--lr", "0"], /Invalid --lr "0": expected a learning rate > 0/],
    [["--momentum", "1.5"], /Invalid --momentum "1.5"/],
    [["--sampler", "random"], /Invalid --sampler "random": use one of instance, class, sqrt/],
    [["--arch", "vgg"], /Invalid --arch "vgg": use one of resnet8/],
    [["--methods", "crt,foo"], /Invalid --methods "crt,foo": "foo" is not one of joint/],
    [
      ["--preset", "huge"],
      /Invalid --preset "huge": use one of smoke, cpu, paper, imagenet-lt-r10, imagenet-lt-r10-cpu, cifar10-lt,/,
    ],
    [["--bogus"], /Unknown option .--bogus.*See --help/],
    [["--stage2-only"], /--stage2-only: it needs --features DIR/],
    [["--features", "x"], /--features: it is only used with --stage2-only/],
    [["--resume"], /--resume: it needs --out DIR/],
    [["--width", "0"], /Invalid --width "0": expected an integer 1\.\.512/],
  ];
  for (const [argv, pattern] of cases) {
    throws(() => parseTrainArgs(argv), pattern, argv.join(" "));
  }
});

Deno.test("config validation names the field", () => {
  const config = presetConfig("paper");
  // deno-lint-ignore no-explicit-any
  (config.stage1 as any).sampler = "nope";
  throws(
    () => validateConfig(config, "runs/a/config.json"),
    /runs\/a\/config\.json: stage1\.sampler/,
  );
  const extra = { ...presetConfig("paper"), colour: "red" };
  throws(() => validateConfig(extra), /colour is "red"; unknown field/);
});

Deno.test("help lists every flag with its default", () => {
  const text = trainHelp(presetConfig("paper"));
  match(text, /--epochs\s+stage-1 epochs \[default: 30\]/);
  match(text, /--methods .*\[default: joint,ncm,ncm_l2,crt,tau,lws,la,bsm\]/);
  match(text, /--resume/);
});

Deno.test("changed settings name the flag as given and the stored value", () => {
  const config = presetConfig("smoke");
  const args = parseTrainArgs([
    ...["--seed", "3", "--lr", "0.1", "--no-augment", "--methods", "crt,lws"],
    ...["--data-dir", "/elsewhere", "--epochs", "2"],
  ]);
  deepEqual(changedSettings(config, args.overrides), [
    { flag: "--seed 3", field: "seed", stored: "0" },
    {
      flag: "--methods crt,lws",
      field: "stage2.methods",
      stored: JSON.stringify(config.stage2.methods),
    },
    { flag: "--no-augment", field: "stage1.augment", stored: "true" },
  ]);
});
