import { ok, strictEqual as equal } from "node:assert/strict";
import { createHash } from "node:crypto";
import { FASHION_MNIST_FILES, getProfile, writeImageTable } from "../../lib/data/mod.ts";
import { md5Hex } from "../../lib/data/_md5.ts";
import {
  gzip,
  ignoreRealData,
  makeIdx,
  syntheticSet,
  systemTar,
  withTempDir,
  writeCifarFolder,
} from "./_helpers.ts";

const SCRIPT = new URL("../../scripts/data.ts", import.meta.url).pathname;

/** Run `deno run scripts/data.ts ARGS` with the permissions the task grants (writes to temp). */
async function cli(args: string[], writeDir = "/tmp", net = false) {
  const permissions = [
    "--allow-read",
    `--allow-write=${writeDir}`,
    "--allow-env",
    ...(net ? ["--allow-net=127.0.0.1"] : []),
  ];
  const env = Deno.env.toObject();
  delete env.LTKIT_DATA;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", ...permissions, SCRIPT, ...args],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Serve `body` for every path on 127.0.0.1 while `fn` runs with the address and a temp folder. */
async function serving(body: Uint8Array, fn: (base: string, dir: string) => Promise<void>) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(body.slice()),
  );
  try {
    await withTempDir((dir) => fn(`http://127.0.0.1:${server.addr.port}/`, dir));
  } finally {
    await server.shutdown();
  }
}

Deno.test("--help prints the usage; bad flags and values exit 2 naming the flag", async () => {
  const help = await cli(["--help"]);
  equal(help.code, 0);
  ok(help.stdout.includes("deno task data --info [--profile NAME|FILE.json]"));
  const unknown = await cli(["--info", "--verbose"]);
  equal(unknown.code, 2);
  ok(unknown.stderr.includes("Unknown option '--verbose'"), unknown.stderr);
  ok(unknown.stderr.includes("Allowed flags: --help, --info, --profile VALUE"));
  const profile = await cli(["--info", "--profile", "imagenet-1k"]);
  equal(profile.code, 2);
  ok(profile.stderr.includes(
    "Cannot use --profile imagenet-1k: allowed values are fashion-mnist-lt-100, " +
      "fashion-mnist-lt-10, fashion-mnist-lt-200, cifar10-lt-100,",
  ));
  ok(profile.stderr.includes("imagenet-lt, places-lt, inat2018"), profile.stderr);
  const noRoot = await cli(["--info", "--profile", "imagenet-lt"]);
  equal(noRoot.code, 2);
  ok(
    noRoot.stderr.includes("Cannot show profile imagenet-lt: give the image root with --data-dir"),
  );
  const samples = await cli(["--info", "--samples", "0"]);
  equal(samples.code, 2);
  ok(samples.stderr.includes("Cannot use --samples 0: use an integer in 1..100"));
  const mixed = await cli(["--info", "--dir", "x"]);
  equal(mixed.code, 2);
  ok(mixed.stderr.includes("Cannot use --dir with --info"));
  const noInfo = await cli(["--samples", "3"]);
  equal(noInfo.code, 2);
  ok(noInfo.stderr.includes("Cannot use --samples without --info"));
  const url = await cli(["--base-url", "ftp://x"]);
  equal(url.code, 2);
  ok(url.stderr.includes("--base-url ftp://x: it must start with http:// or https://"));
  const positional = await cli(["download"]);
  equal(positional.code, 2);
});

Deno.test("--info on a JSON profile over Arrow tables prints counts and writes a PNG", async () => {
  await withTempDir(async (dir) => {
    const train = syntheticSet([40, 40, 40], { height: 6, width: 6 });
    train.classNames = ["alpha", "beta", "gamma"];
    await writeImageTable(`${dir}/train.arrow`, train);
    await writeImageTable(`${dir}/test.arrow`, syntheticSet([2, 2, 2], { height: 6, width: 6 }));
    const profile = {
      ...structuredClone(getProfile("fashion-mnist-lt-10")),
      name: "tiny/lt",
      source: `arrow:${dir}`,
      headSize: 30,
      imbalanceRatio: 10,
      classOrder: [1, 2, 0],
      valPerClass: 4,
      shotThresholds: { many: 20, few: 5 },
    };
    await Deno.writeTextFile(`${dir}/profile.json`, JSON.stringify(profile));
    const out = `${dir}/grid/tiny.png`;
    const r = await cli(["--info", "--profile", `${dir}/profile.json`, "--out", out], dir);
    equal(r.code, 0, r.stderr);
    ok(r.stdout.includes(`profile tiny/lt: source arrow:${dir} from ${dir}`), r.stdout);
    ok(/ {3}0 {2}1 beta +30 +30 +4 +2 {2}many/.test(r.stdout), r.stdout);
    ok(/ {3}2 {2}0 alpha +3 +3 +4 +2 {2}few/.test(r.stdout), r.stdout);
    ok(r.stdout.includes(`Sample grid: ${out}`));
    const png = await Deno.readFile(out);
    equal(png[1], 0x50);
    const bad = await cli(
      ["--info", "--profile", `${dir}/profile.json`, "--out", `${dir}/x.svg`],
      dir,
    );
    equal(bad.code, 2);
    ok(bad.stderr.includes("give a path ending in .png"));
  });
});

Deno.test("--info with a --data-dir lacking the files exits 1 and says how to get them", async () => {
  await withTempDir(async (dir) => {
    const r = await cli(["--info", "--data-dir", dir]);
    equal(r.code, 1);
    ok(r.stderr.includes(`Cannot find Fashion-MNIST in the folder given by --data-dir`), r.stderr);
    ok(r.stderr.includes("apt-get install dataset-fashion-mnist"));
    ok(r.stderr.includes("deno task data"));
  });
});

Deno.test("download mode fetches from --base-url and rejects files whose SHA-256 is not official", async () => {
  const fixture = gzip(makeIdx(8, [1], [0]));
  await serving(fixture, async (base, dir) => {
    const r = await cli(["--dir", `${dir}/fm`, "--base-url", base], dir, true);
    equal(r.code, 1);
    ok(r.stdout.includes(`Downloading Fashion-MNIST from ${base} into ${dir}/fm/`), r.stdout);
    const sha = createHash("sha256").update(fixture).digest("hex");
    ok(
      r.stderr.includes(
        `error: Cannot download ${base}${FASHION_MNIST_FILES.trainImages}: SHA-256 mismatch, ` +
          `got ${sha} but expected 08dc20ab`,
      ),
      r.stderr,
    );
  });
});

Deno.test("--info on a CIFAR-100 profile reads the archive from --data-dir and draws RGB", async () => {
  await withTempDir(async (dir) => {
    const train = Array.from({ length: 100 * 14 }, (_, i) => [i % 20, i % 100]);
    await writeCifarFolder(`${dir}/src`, "cifar-100", [train], train.slice(0, 300));
    await Deno.mkdir(`${dir}/data`);
    await systemTar(`${dir}/src`, "cifar-100-binary", `${dir}/data/cifar-100-binary.tar.gz`);
    const profile = {
      ...structuredClone(getProfile("cifar100-lt-100")),
      name: "cifar100-small",
      headSize: 12,
      imbalanceRatio: 12,
      valPerClass: 2,
      shotThresholds: { many: 6, few: 2 },
    };
    await Deno.writeTextFile(`${dir}/p.json`, JSON.stringify(profile));
    const out = `${dir}/grid.png`;
    const r = await cli(
      ["--info", "--profile", `${dir}/p.json`, "--data-dir", `${dir}/data`, "--out", out],
      dir,
    );
    equal(r.code, 0, r.stderr);
    ok(
      r.stdout.includes(
        `profile cifar100-small: source cifar-100 from ${dir}/data/cifar-100-binary.tar.gz ` +
          "(via dataDir)",
      ),
      r.stdout,
    );
    ok(/ {3}0 {2}0 class_0 +12 +12 +2 +3 {2}many/.test(r.stdout), r.stdout);
    ok(/ {2}99 {2}99 class_99 +1 +1 +2 +3 {2}few/.test(r.stdout), r.stdout);
    ok(r.stdout.includes("validation 2 per class"), r.stdout);
    const png = await Deno.readFile(out);
    equal(png[25], 2, "PNG colour type 2: RGB");
  });
});

Deno.test("download mode takes the profile's source: CIFAR is MD5-checked, arrow is refused", async () => {
  const fixture = new TextEncoder().encode("not the archive");
  await serving(fixture, async (base, dir) => {
    const r = await cli(
      ["--profile", "cifar10-lt-50", "--dir", `${dir}/c`, "--base-url", base],
      dir,
      true,
    );
    equal(r.code, 1);
    ok(r.stdout.includes(`Downloading CIFAR-10 from ${base} into ${dir}/c/`), r.stdout);
    ok(
      r.stderr.includes(
        `Cannot download ${base}cifar-10-binary.tar.gz: MD5 mismatch, got ${md5Hex(fixture)}`,
      ) && r.stderr.includes("but expected c32a1d4ab5d03f1284b67883e8d87530"),
      r.stderr,
    );
    const profile = { ...structuredClone(getProfile("fashion-mnist-lt-10")), source: "arrow:x" };
    await Deno.writeTextFile(`${dir}/p.json`, JSON.stringify(profile));
    const arrow = await cli(["--profile", `${dir}/p.json`], dir, true);
    equal(arrow.code, 2);
    ok(arrow.stderr.includes("its source arrow:x is not downloadable"), arrow.stderr);
  });
});

Deno.test({
  name: "real data: deno task data --info shows fashion-mnist-lt-100 with the recipe's counts",
  ignore: ignoreRealData,
  async fn() {
    await withTempDir(async (dir) => {
      const out = `${dir}/fm.png`;
      const r = await cli(["--info", "--out", out], dir);
      equal(r.code, 0, r.stderr);
      const rows = r.stdout.split("\n").filter((l) => /^ {3}\d {2}\d /.test(l));
      equal(rows.length, 10);
      const train = rows.map((l) => Number(l.trim().split(/\s+/).at(-4)));
      equal(train.join(","), "5980,3596,2156,1292,774,464,278,166,100,60");
      ok(rows.every((l) => / +20 +1000 {2}(many|medium|few)$/.test(l)), rows.join("\n"));
      ok(r.stdout.includes("many    4 classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress"));
      ok(r.stdout.includes("medium  3 classes: 4 Coat, 5 Sandal, 6 Shirt"));
      ok(r.stdout.includes("few     3 classes: 7 Sneaker, 8 Bag, 9 Ankle boot"));
      ok(r.stdout.includes("14866    200  10000"));
      ok((await Deno.stat(out)).size > 10_000);
    });
  },
});
