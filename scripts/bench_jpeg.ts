/**
 * JPEG decoders for packing image-list data sets, compared on ImageNet-sized photos: images/s on
 * one thread, and decoded pixels against libjpeg-turbo's `djpeg` (a separate program) as the
 * independent reference.
 *
 * The photos are made here: three Fashion-MNIST test images as the red, green and blue planes,
 * upscaled to 500x375 (bicubic) and saved as JPEG quality 90 with 4:2:0 chroma, the shape and
 * quality of a typical ImageNet photo.
 *
 * ```text
 * deno run --allow-read --allow-env --allow-ffi --allow-run=djpeg scripts/bench_jpeg.ts [--images N] [--passes P]
 * ```
 *
 * Needs `djpeg` (Debian: libjpeg-turbo-progs) and, for the FFI row, libturbojpeg (libturbojpeg0).
 *
 * @module
 */

import { parseArgs } from "node:util";
// Bench-only candidates, pinned here: the kit itself imports none of them.
// deno-lint-ignore no-import-prefix
import jpegJs from "npm:jpeg-js@0.4.4";
// deno-lint-ignore no-import-prefix
import jsquashDecode from "npm:@jsquash/jpeg@1.6.0/decode.js";
// deno-lint-ignore no-import-prefix
import sharp from "npm:sharp@0.35.5";
import { loadFashionMnist, openTurboJpeg } from "../lib/data/mod.ts";

const WIDTH = 500, HEIGHT = 375;

/** A decoder row: name, kind, and a function from JPEG bytes to RGB (H,W,3), or why it is out. */
interface Decoder {
  name: string;
  kind: "pure JS" | "WebAssembly" | "native" | "built in";
  decode?: (jpeg: Uint8Array) => Uint8Array | Promise<Uint8Array>;
  /** Decodes, but gives no pixels back (timed, not checked). */
  opaque?: boolean;
  missing?: string;
}

function rgbaToRgb(rgba: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    out[j] = rgba[i];
    out[j + 1] = rgba[i + 1];
    out[j + 2] = rgba[i + 2];
  }
  return out;
}

/** libjpeg-turbo's TurboJPEG API through Deno's FFI (the kit's decoder), or why it is missing. */
function turboJpeg(): Decoder["decode"] | string {
  const turbo = openTurboJpeg();
  return typeof turbo === "string" ? turbo : (jpeg) => turbo(jpeg, "photo").pixels;
}

async function djpeg(jpeg: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("djpeg", { args: ["-pnm"], stdin: "piped", stdout: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(jpeg);
  await writer.close();
  const { stdout, success } = await child.output();
  if (!success) throw new Error("Cannot run djpeg: it failed on a generated photo");
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(
    new TextDecoder().decode(stdout.subarray(0, 32)),
  );
  if (!header) throw new Error("Cannot read djpeg's output: not a binary PPM");
  return stdout.subarray(header[0].length);
}

async function photos(count: number): Promise<Uint8Array[]> {
  const { test } = await loadFashionMnist();
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const rgb = new Uint8Array(28 * 28 * 3);
    for (let c = 0; c < 3; c++) {
      const base = ((3 * k + c) % test.count) * 784;
      for (let p = 0; p < 784; p++) rgb[3 * p + c] = test.images[base + p];
    }
    const jpeg = await sharp(rgb, { raw: { width: 28, height: 28, channels: 3 } })
      .resize(WIDTH, HEIGHT, { kernel: "cubic", fit: "fill" })
      .jpeg({ quality: 90, chromaSubsampling: "4:2:0" })
      .toBuffer();
    out.push(new Uint8Array(jpeg));
  }
  return out;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { images: { type: "string" }, passes: { type: "string" } },
  });
  const count = Number(values.images ?? "64"), passes = Number(values.passes ?? "3");
  for (const [flag, v] of [["images", count], ["passes", passes]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Cannot use --${flag} ${v}: give an integer >= 1`);
    }
  }
  const turbo = turboJpeg();
  const decoders: Decoder[] = [
    {
      name: "jpeg-js 0.4.4",
      kind: "pure JS",
      decode: (b) => jpegJs.decode(b, { useTArray: true, formatAsRGBA: false }).data as Uint8Array,
    },
    {
      name: "@jsquash/jpeg 1.6.0 (mozjpeg)",
      kind: "WebAssembly",
      decode: async (b) => rgbaToRgb((await jsquashDecode(b.slice().buffer)).data),
    },
    {
      name: "sharp 0.35.5 (libvips)",
      kind: "native",
      decode: async (b) => new Uint8Array(await sharp(b).raw().toBuffer()),
    },
    typeof turbo === "string"
      ? { name: "libjpeg-turbo (FFI)", kind: "native", missing: turbo }
      : { name: "libjpeg-turbo (FFI)", kind: "native", decode: turbo },
    {
      name: "createImageBitmap",
      kind: "built in",
      opaque: true,
      decode: async (b) => {
        await createImageBitmap(new Blob([b.slice()], { type: "image/jpeg" }));
        return new Uint8Array(0);
      },
    },
  ];
  const files = await photos(count);
  const references = await Promise.all(files.map(djpeg));
  const mean = files.reduce((s, f) => s + f.length, 0) / files.length;
  console.log(
    `${count} photos ${WIDTH}x${HEIGHT}, JPEG quality 90 4:2:0, mean ${(mean / 1024).toFixed(1)} ` +
      `KiB; one thread, ${passes} passes after a checking pass; reference: djpeg`,
  );
  console.log("decoder                          kind          images/s  max |diff|  mean |diff|");
  for (const d of decoders) {
    const row = `${d.name.padEnd(32)} ${d.kind.padEnd(12)}`;
    if (!d.decode) {
      console.log(`${row}  not run: ${d.missing}`);
      continue;
    }
    let max = 0, sum = 0, values = 0;
    for (let k = 0; k < count; k++) {
      const got = await d.decode(files[k]);
      if (d.opaque) continue;
      const ref = references[k];
      if (got.length !== ref.length) {
        throw new Error(
          `Cannot check ${d.name}: ${got.length} bytes decoded, ${ref.length} expected`,
        );
      }
      for (let i = 0; i < got.length; i++) {
        const diff = Math.abs(got[i] - ref[i]);
        if (diff > max) max = diff;
        sum += diff;
      }
      values += got.length;
    }
    const started = performance.now();
    for (let p = 0; p < passes; p++) for (const f of files) await d.decode(f);
    const rate = (passes * count) / ((performance.now() - started) / 1000);
    const check = d.opaque
      ? "  (no pixel access in Deno)"
      : `${String(max).padStart(11)}  ${(sum / values).toFixed(4).padStart(11)}`;
    console.log(`${row} ${rate.toFixed(0).padStart(9)} ${check}`);
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
