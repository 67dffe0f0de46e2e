import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { BACKBONES } from "../../lib/nn/backbones.ts";
import { modelSpec, presetConfig } from "../../lib/train/config.ts";
import { BACKBONE_BENCHES, runBackboneBench } from "../../scripts/bench/backbones.ts";
import { SECTIONS } from "../../scripts/bench/registry.ts";
import { tfjsUnsupported } from "../../scripts/bench/tfjs_resnet.ts";
import { noGpu, testGpu } from "../_gpu.ts";

Deno.test("bench: ResNet-32 (A) at 32 and ResNet-10 at 224 are sections of the default run", () => {
  const named = (name: string) => SECTIONS.find((s) => s.name === name);
  for (const name of ["resnet32", "resnet10"]) {
    ok(named(name), `no bench section ${name}`);
    equal(named(name)!.optional, undefined, `${name} should run by default`);
  }
  const rows = Object.fromEntries(BACKBONE_BENCHES.map((b) => [b.name, b]));
  deepEqual(presetConfig(rows.resnet32.preset).model, {
    arch: "resnet32",
    width: 16,
    shortcut: "A",
    init: "fan-in",
  });
  deepEqual([rows.resnet32.input, rows.resnet10.input], [[3, 32, 32], [3, 224, 224]]);
  equal(presetConfig(rows.resnet10.preset).model.arch, "resnet10");
});

Deno.test("bench: tfjs builds the plain networks and says why it cannot build ResNeXt", () => {
  for (const b of BACKBONE_BENCHES) {
    equal(tfjsUnsupported(modelSpec(presetConfig(b.preset), b.classes, [...b.input])), null);
  }
  const rx = BACKBONES.resnext50.build({
    width: 64,
    shortcut: "B",
    classes: 10,
    input: [3, 224, 224],
  });
  ok(/no grouped convolution \(32 groups/.test(tfjsUnsupported(rx) ?? ""), tfjsUnsupported(rx)!);
});

Deno.test({
  name: "bench: a backbone entry runs at a tiny size and gives finite figures (no timing checked)",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const tiny = {
      ...BACKBONE_BENCHES.find((b) => b.name === "resnet32")!,
      name: "tiny",
      input: [3, 8, 8] as const,
      batch: () => ({ batch: 4, why: "the test's" }),
    };
    const rows = await runBackboneBench(tiny, { gpu, quick: true, log: () => {} }, {
      tfjs: false,
    });
    deepEqual(rows.map((r) => r.unit), ["images/s", "MiB", "images/s"]);
    for (const r of rows) ok(Number.isFinite(r.value) && r.value > 0, `${r.name}: ${r.value}`);
    ok(rows.every((r) => r.ok !== false), rows.map((r) => r.note).join("\n"));
    ok(/batch 4/.test(rows[0].name) && /no tfjs figure: not asked for/.test(rows[2].note!));
  },
});
