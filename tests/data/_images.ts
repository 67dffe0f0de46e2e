/**
 * Real image files for the decoding and packing tests: a smooth colourful picture, JPEG files
 * made by libjpeg-turbo's cjpeg and decoded by its djpeg (the independent reference decoder).
 *
 * @module
 */

import type { RgbImage } from "../../lib/data/_png.ts";

/** A smooth colourful test picture, (H,W,3). */
export function picture(width: number, height: number, seed = 0): RgbImage {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 3 * (y * width + x);
      pixels[i] = (x * 255 / width + seed * 40) & 0xff;
      pixels[i + 1] = (y * 255 / height) & 0xff;
      pixels[i + 2] = ((x + y) * 7 + seed * 13) & 0xff;
    }
  }
  return { pixels, width, height };
}

function ppm(im: RgbImage): Uint8Array {
  const head = new TextEncoder().encode(`P6\n${im.width} ${im.height}\n255\n`);
  const out = new Uint8Array(head.length + im.pixels.length);
  out.set(head);
  out.set(im.pixels, head.length);
  return out;
}

async function run(cmd: string, args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  await w.write(input);
  await w.close();
  const { stdout, success } = await child.output();
  if (!success) throw new Error(`${cmd} failed`);
  return stdout;
}

/** A real JPEG made by libjpeg-turbo's cjpeg (quality 90, 4:2:0). */
export const cjpeg = (im: RgbImage) => run("cjpeg", ["-quality", "90", "-sample", "2x2"], ppm(im));

export async function djpeg(jpeg: Uint8Array): Promise<Uint8Array> {
  const out = await run("djpeg", ["-pnm"], jpeg);
  const head = /^P6\s+\d+\s+\d+\s+255\s/.exec(new TextDecoder().decode(out.subarray(0, 32)))!;
  return out.subarray(head[0].length);
}
