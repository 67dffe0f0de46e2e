/**
 * Decoding, resizing and packing of image lists: real JPEG files made with cjpeg and PNG files
 * with every row filter, checked against djpeg and plain-loop references; packing with bad
 * lines, missing and broken files; shards read back by the kit (and pyarrow when .venv has it);
 * resume after a kill equals an uninterrupted pack.
 */
import {
  deepStrictEqual as deepEqual,
  match,
  ok,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { deflateSync } from "node:zlib";
import {
  decodeImage,
  decodeShard,
  forceWasmJpeg,
  packImageList,
  readManifest,
  resizeRgb,
  resizeShorterSide,
  shorterSideSize,
} from "../../lib/data/mod.ts";
import { crc32, decodePng, encodePng, type RgbImage } from "../../lib/data/_png.ts";
import { exists } from "../../lib/io/_paths.ts";

import { cjpeg, djpeg, picture } from "./_images.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A PNG whose rows use filters 0..4 in turn (the inverse of what decodePng undoes). */
function filteredPng(im: RgbImage, alpha: boolean): Uint8Array {
  const bpp = alpha ? 4 : 3, stride = im.width * bpp;
  const rows = new Uint8Array(im.height * stride);
  for (let p = 0; p < im.width * im.height; p++) {
    for (let c = 0; c < 3; c++) rows[p * bpp + c] = im.pixels[3 * p + c];
    if (alpha) rows[p * bpp + 3] = (p * 17) & 0xff;
  }
  const raw = new Uint8Array(im.height * (stride + 1));
  for (let y = 0; y < im.height; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = rows[y * stride + i];
      const a = i >= bpp ? rows[y * stride + i - bpp] : 0;
      const b = y > 0 ? rows[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= bpp ? rows[(y - 1) * stride + i - bpp] : 0;
      const p = a + b - c;
      const pr = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
        ? a
        : Math.abs(p - b) <= Math.abs(p - c)
        ? b
        : c;
      const pred = [0, a, b, (a + b) >> 1, pr][f];
      raw[y * (stride + 1) + 1 + i] = (x - pred) & 0xff;
    }
  }
  return pngFile(alpha ? 6 : 2, 8, im.width, im.height, raw);
}

/** A PNG file from filtered rows (one IDAT), with CRCs (test encoder). */
function pngFile(
  type: number,
  depth: number,
  width: number,
  height: number,
  raw: Uint8Array,
  plte?: Uint8Array,
): Uint8Array {
  const chunk = (kind: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    for (let i = 0; i < 4; i++) out[4 + i] = kind.charCodeAt(i);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr[8] = depth;
  ihdr[9] = type;
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    ...(plte ? [chunk("PLTE", plte)] : []),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

Deno.test("decodePng: every row filter, RGB and RGBA (alpha dropped), gray", () => {
  const im = picture(13, 11);
  for (const alpha of [false, true]) {
    deepEqual(decodePng(filteredPng(im, alpha), "f.png").pixels, im.pixels);
  }
  const gray = Uint8Array.from({ length: 15 }, (_, i) => i * 10);
  const rgb = decodePng(encodePng(gray, 5, 3, 1), "g.png").pixels;
  deepEqual([...rgb.subarray(0, 6)], [0, 0, 0, 10, 10, 10]);
});

/** A PNG of one IDAT, filter 0 on every row, of any colour type and depth (test encoder). */
function plainPng(
  type: number,
  depth: number,
  width: number,
  height: number,
  rows: Uint8Array,
  plte?: Uint8Array,
) {
  const stride = rows.length / height;
  const raw = new Uint8Array(height * (stride + 1)); // filter 0 (None) on every row
  for (let y = 0; y < height; y++) {
    raw.set(rows.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return pngFile(type, depth, width, height, raw, plte);
}

Deno.test("decodePng: palette, 16-bit RGB (high byte), gray+alpha; interlaced and bad files refused", () => {
  const plte = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90]);
  const pal = decodePng(plainPng(3, 8, 3, 1, Uint8Array.from([2, 0, 1]), plte), "p.png");
  deepEqual([...pal.pixels], [70, 80, 90, 10, 20, 30, 40, 50, 60]);
  const deep = decodePng(plainPng(2, 16, 1, 1, Uint8Array.from([1, 2, 3, 4, 5, 6])), "d.png");
  deepEqual([...deep.pixels], [1, 3, 5]);
  const ga = decodePng(plainPng(4, 8, 2, 1, Uint8Array.from([7, 255, 9, 0])), "ga.png");
  deepEqual([...ga.pixels], [7, 7, 7, 9, 9, 9]);
  const interlaced = plainPng(2, 8, 1, 1, Uint8Array.from([1, 2, 3]));
  interlaced[8 + 8 + 12] = 1; // IHDR interlace byte
  throws(
    () => decodePng(interlaced, "i.png"),
    /Cannot decode PNG i\.png: interlaced PNGs are not supported/,
  );
  throws(
    () => decodePng(plainPng(3, 8, 1, 1, Uint8Array.of(5), plte), "x.png"),
    /palette index 5 outside PLTE/,
  );
  throws(
    () => decodePng(plainPng(2, 4, 1, 1, Uint8Array.of(0, 0)), "y.png"),
    /colour type 2 with 4 bits/,
  );
});

Deno.test("decodeImage: JPEG from cjpeg equals djpeg exactly, through FFI and the WebAssembly fallback", async () => {
  const jpeg = await cjpeg(picture(37, 29, 1));
  const reference = await djpeg(jpeg);
  const ffi = await decodeImage(jpeg, "a.jpg");
  deepEqual([ffi.width, ffi.height], [37, 29]);
  equal(ffi.pixels.length, reference.length);
  deepEqual(ffi.pixels, reference);
  forceWasmJpeg(true);
  try {
    deepEqual((await decodeImage(jpeg, "a.jpg")).pixels, reference);
    await rejects(
      () => decodeImage(jpeg.subarray(0, 40), "cut.jpg"),
      /Cannot decode JPEG cut\.jpg/,
    );
  } finally {
    forceWasmJpeg(false);
  }
  await rejects(
    () => decodeImage(jpeg.subarray(0, 40), "cut.jpg"),
    /Cannot decode JPEG cut\.jpg: /,
  );
});

/** Plain 2-D reference: area integral when shrinking an axis, bilinear when growing. */
function referenceResize(im: RgbImage, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height * 3);
  const weights = (from: number, to: number, o: number): [number, number][] => {
    const s = from / to;
    if (s > 1) {
      const w: [number, number][] = [];
      for (let i = 0; i < from; i++) {
        const overlap = Math.min((o + 1) * s, i + 1) - Math.max(o * s, i);
        if (overlap > 0) w.push([i, overlap / s]);
      }
      return w;
    }
    const x = Math.min(Math.max((o + 0.5) * s - 0.5, 0), from - 1);
    const i = Math.floor(x);
    return [[i, 1 - (x - i)], [Math.min(i + 1, from - 1), x - i]];
  };
  for (let oy = 0; oy < height; oy++) {
    for (let ox = 0; ox < width; ox++) {
      for (const [y, wy] of weights(im.height, height, oy)) {
        for (const [x, wx] of weights(im.width, width, ox)) {
          for (let c = 0; c < 3; c++) {
            out[3 * (oy * width + ox) + c] += wy * wx * im.pixels[3 * (y * im.width + x) + c];
          }
        }
      }
    }
  }
  return out;
}

Deno.test("resize: area down, bilinear up, mixed axes, on odd sizes, within 0.5 of the reference before rounding", () => {
  const cases: [number, number, number, number][] = [
    [37, 23, 10, 6], // down both ways, fractional ratios
    [5, 7, 11, 17], // up both ways
    [31, 3, 7, 9], // down in x, up in y
    [9, 9, 9, 9], // identity
  ];
  for (const [w, h, W, H] of cases) {
    const im = picture(w, h, 2);
    const got = resizeRgb(im, W, H).pixels;
    const ref = referenceResize(im, W, H);
    let max = 0;
    for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i] - ref[i]));
    ok(max <= 0.5 + 1e-3, `${w}x${h} -> ${W}x${H}: max |diff| ${max}`);
  }
  deepEqual(shorterSideSize(500, 375, 256), { width: 341, height: 256 });
  deepEqual(shorterSideSize(375, 500, 224), { width: 224, height: 298 });
  const r = resizeShorterSide(picture(41, 19), 8);
  deepEqual([r.width, r.height], [17, 8]);
});

/** A folder of JPEGs and PNGs of several sizes and 3 classes, and its list file. */
async function makeFolder(dir: string, count: number): Promise<string[]> {
  await Deno.mkdir(`${dir}/img/a`, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const im = picture(30 + (i % 7) * 3, 24 + (i % 5) * 4, i);
    const png = i % 4 === 3;
    const name = `img/a/${i}.${png ? "png" : "JPEG"}`;
    await Deno.writeFile(`${dir}/${name}`, png ? filteredPng(im, false) : await cjpeg(im));
    lines.push(`${name} ${i % 3}`);
  }
  return lines;
}

Deno.test("pack: bad lines and missing files are named; --skip-bad lists them; shards read back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = await makeFolder(dir, 24);
    const text = [
      ...lines.slice(0, 5),
      "img/a/no-label.JPEG",
      ...lines.slice(5),
      "img/a/gone.JPEG 1",
    ]
      .join("\n");
    await Deno.writeTextFile(`${dir}/list.txt`, text);
    const options = { list: `${dir}/list.txt`, root: dir, size: 16, out: `${dir}/p`, workers: 2 };
    await rejects(() => packImageList(options), /line 6: img\/a\/no-label\.JPEG: no label/);
    await Deno.writeTextFile(`${dir}/list2.txt`, [...lines, "img/a/gone.JPEG 1"].join("\n"));
    await rejects(
      () => packImageList({ ...options, list: `${dir}/list2.txt` }),
      /line 25: img\/a\/gone\.JPEG: file not found/,
    );
    await rejects(
      () => packImageList({ ...options, root: `${dir}/nope` }),
      /--root .*\/nope is not a folder/,
    );
    // Nothing was created by the refused runs.
    await rejects(() => Deno.stat(`${dir}/p`), Deno.errors.NotFound);
    const m = await packImageList({ ...options, skipBad: true, shardMiB: 4096 / 1048576 });
    ok(m.done);
    deepEqual(m.skipped.map((s) => [s.line, s.path]), [[6, "img/a/no-label.JPEG"], [
      26,
      "img/a/gone.JPEG",
    ]]);
    ok(m.shards.length > 2, `${m.shards.length} shards`);
    deepEqual(m.classCounts, [8, 8, 8]);
    const back = [];
    for (const s of m.shards) {
      const bytes = await Deno.readFile(`${dir}/p/${s.file}`);
      equal(bytes.length, s.bytes);
      const rows = decodeShard(bytes, s.file);
      equal(rows.length, s.rows);
      ok(
        rows.length === 1 ||
          rows.reduce((n, r) => n + r.pixels.length + r.path.length + 16, 0) <= 4096,
      );
      back.push(...rows);
    }
    equal(back.length, 24);
    for (const [k, row] of back.entries()) {
      const [path, label] = lines[k].split(" ");
      equal(row.path, path);
      equal(row.label, Number(label));
      const expected = resizeShorterSide(
        await decodeImage(await Deno.readFile(`${dir}/${path}`), path),
        16,
      );
      deepEqual([row.width, row.height], [expected.width, expected.height]);
      deepEqual(row.pixels, expected.pixels);
      equal(Math.min(row.width, row.height), 16);
    }
    // A damaged finished shard fails its SHA-256 check on a rerun and is redone, with the rest.
    const victim = `${dir}/p/${m.shards[1].file}`;
    const good = await Deno.readFile(victim);
    await Deno.writeFile(victim, good.map((v, i) => (i === 100 ? v ^ 1 : v)));
    deepEqual(await packImageList({ ...options, skipBad: true, shardMiB: 4096 / 1048576 }), m);
    deepEqual(await Deno.readFile(victim), good);
    // A finished pack is returned as it is, and another folder's settings are refused.
    deepEqual(await packImageList({ ...options, skipBad: true, shardMiB: 4096 / 1048576 }), m);
    await rejects(
      () => packImageList({ ...options, skipBad: true, size: 20, shardMiB: 4096 / 1048576 }),
      /Cannot resume the pack in .*: it was made with other settings \(size was 16, now 20\)/,
    );
    const python = `${ROOT}.venv/bin/python`;
    if (await exists(python)) {
      const script = "import pyarrow as pa, numpy as np, sys\n" +
        "t = pa.ipc.open_file(sys.argv[1]).read_all()\n" +
        "h, w = t['height'][0].as_py(), t['width'][0].as_py()\n" +
        "x = np.frombuffer(t['image'][0].as_py(), np.uint8).reshape(h, w, 3)\n" +
        "print(t.num_rows, h, w, int(x.sum()), t['path'][0].as_py(), t['label'][0].as_py())";
      const r = await new Deno.Command(python, {
        args: ["-c", script, `${dir}/p/${m.shards[0].file}`],
      })
        .output();
      equal(r.success, true, new TextDecoder().decode(r.stderr));
      const first = back[0];
      const sum = first.pixels.reduce((s, v) => s + v, 0);
      equal(
        new TextDecoder().decode(r.stdout).trim(),
        `${m.shards[0].rows} ${first.height} ${first.width} ${sum} ${first.path} ${first.label}`,
      );
    } else {
      console.warn("SKIPPED pyarrow check: no .venv (bash scripts/setup.sh --test makes it)");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pack: an undecodable image stops with its line and path, or is listed with --skip-bad", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = await makeFolder(dir, 6);
    await Deno.writeFile(`${dir}/img/a/broken.JPEG`, Uint8Array.from([0xff, 0xd8, 0xff, 0, 1, 2]));
    await Deno.writeTextFile(`${dir}/img/a/text.png`, "not a picture");
    await Deno.writeTextFile(
      `${dir}/list.txt`,
      [...lines.slice(0, 3), "img/a/broken.JPEG 0", ...lines.slice(3), "img/a/text.png 2"].join(
        "\n",
      ),
    );
    const options = { list: `${dir}/list.txt`, root: dir, size: 12, out: `${dir}/p`, workers: 2 };
    await rejects(() => packImageList(options), (e: Error) => {
      match(
        e.message,
        /^Cannot pack .*list\.txt: line 4: img\/a\/broken\.JPEG: Cannot decode JPEG/,
      );
      match(e.message, /--skip-bad/);
      return true;
    });
    const m = await packImageList({ ...options, skipBad: true });
    deepEqual(m.skipped.map((s) => s.line), [4, 8]);
    match(m.skipped[1].reason, /neither JPEG nor PNG/);
    equal(m.shards.reduce((n, s) => n + s.rows, 0), 6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task pack: killed after its first shard, a rerun gives the same shards as one uninterrupted pack", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = await makeFolder(dir, 12);
    // Many entries (each image listed 25 times) so the pack is still running when killed.
    const many = Array.from({ length: 25 }, () => lines).flat();
    await Deno.writeTextFile(`${dir}/list.txt`, many.join("\n") + "\n");
    const args = (out: string) => [
      "run",
      "--allow-read",
      `--allow-write=${dir}`,
      "--allow-ffi",
      `${ROOT}scripts/pack.ts`,
      "--list",
      `${dir}/list.txt`,
      "--root",
      dir,
      "--size",
      "64",
      "--out",
      out,
      "--shard-mib",
      "0.05",
      "--workers",
      "1",
      "--quiet",
    ];
    const child = new Deno.Command(Deno.execPath(), {
      args: args(`${dir}/killed`),
      stdout: "piped",
    })
      .spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("shard-00000.arrow:")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    const killed = await readManifest(`${dir}/killed`);
    ok(killed && killed.shards.length >= 1, "a shard was finished before the kill");
    equal(killed!.done, false, "the pack was still running when killed (raise the image count)");
    const rerun = await new Deno.Command(Deno.execPath(), { args: args(`${dir}/killed`) }).output();
    equal(rerun.code, 0, new TextDecoder().decode(rerun.stderr));
    const log = new TextDecoder().decode(rerun.stdout);
    match(log, /shard-00000\.arrow: .*\(kept: verified\)/);
    const whole = await new Deno.Command(Deno.execPath(), { args: args(`${dir}/whole`) }).output();
    equal(whole.code, 0);
    const a = await readManifest(`${dir}/killed`), b = await readManifest(`${dir}/whole`);
    ok(a!.done && b!.done);
    deepEqual(a!.shards, b!.shards);
    equal(a!.shards.reduce((n, s) => n + s.rows, 0), 300);
    const names = [...Deno.readDirSync(`${dir}/killed`)].map((e) => e.name).sort();
    deepEqual(names, ["manifest.json", ...a!.shards.map((s) => s.file)].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task data --info --profile imagenet-lt: counts per split, shot groups, an RGB sample grid", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = await makeFolder(dir, 12);
    await Deno.mkdir(`${dir}/ImageNet_LT`);
    // 1000 classes as the profile says: class c >= 3 reuses image c % 12 (lists only name paths).
    const train = Array.from({ length: 1000 }, (_, c) => `${lines[c % 12].split(" ")[0]} ${c}`);
    await Deno.writeTextFile(`${dir}/ImageNet_LT/ImageNet_LT_train.txt`, train.join("\n"));
    await Deno.writeTextFile(
      `${dir}/ImageNet_LT/ImageNet_LT_val.txt`,
      train.slice(0, 500).join("\n"),
    );
    await Deno.writeTextFile(`${dir}/ImageNet_LT/ImageNet_LT_test.txt`, train.join("\n"));
    const out = `${dir}/grid.png`;
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        `${ROOT}scripts/data.ts`,
        "--info",
        "--profile",
        "imagenet-lt",
        "--data-dir",
        dir,
        "--out",
        out,
        "--samples",
        "2",
      ],
    }).output();
    const text = new TextDecoder().decode(r.stdout);
    equal(r.code, 0, new TextDecoder().decode(r.stderr));
    match(text, /train\s+1000 images\s+1000 classes/);
    match(text, /val\s+500 images\s+500 classes/);
    match(text, /few\s+1000 classes, 1000 training images/);
    const png = decodePng(await Deno.readFile(out), out);
    ok(png.width > 48 && png.height > 20 * 48, `${png.width}x${png.height}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task pack: missing flags are usage errors; a path outside data/ is refused with the command that works", async () => {
  const cli = async (
    args: string[],
    flags = ["--allow-read", "--allow-write=data", "--allow-ffi"],
  ) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, `${ROOT}scripts/pack.ts`, ...args],
      cwd: ROOT,
    }).output();
    return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
  };
  const missing = await cli(["--list", "l.txt", "--root", "."]);
  equal(missing.code, 2);
  match(missing.stderr, /Cannot pack: --size is required/);
  const outside = await cli([
    "--list",
    "l.txt",
    "--root",
    ".",
    "--size",
    "8",
    "--out",
    "/tmp/ltkit-pack-x",
  ]);
  equal(outside.code, 1);
  match(
    outside.stderr,
    /Cannot write \/tmp\/ltkit-pack-x: deno task pack runs with --allow-read --allow-write=data/,
  );
  match(
    outside.stderr,
    /deno run --allow-read --allow-write=\/tmp\/ltkit-pack-x --allow-ffi scripts\/pack\.ts/,
  );
  await rejects(() => Deno.stat("/tmp/ltkit-pack-x"), Deno.errors.NotFound);
});
