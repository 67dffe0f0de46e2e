/**
 * Decoding JPEG and PNG files to RGB. JPEG goes through libjpeg-turbo's TurboJPEG API by Deno's
 * FFI (Debian `libturbojpeg0`; README "JPEG decoding": 3-5 times faster than the next option and
 * bit-exact against `djpeg`); when that library cannot be loaded (missing, or no --allow-ffi)
 * the @jsquash/jpeg WebAssembly build of mozjpeg is used instead, and {@link jpegDecoderName}
 * says so, so callers print it. PNG goes through {@link decodePng}.
 *
 * @module
 */

import { decodePng, type RgbImage } from "./_png.ts";

/**
 * A JPEG decoder: bytes and a name for messages in, RGB out.
 *
 * @example
 * ```ts
 * import type { JpegDecoder } from "./decode.ts";
 * const none: JpegDecoder = (_jpeg, name) => {
 *   throw new SyntaxError(`Cannot decode JPEG ${name}: no decoder`);
 * };
 * ```
 */
export type JpegDecoder = (jpeg: Uint8Array, name: string) => RgbImage;
type Turbo = JpegDecoder;

const TJPF_RGB = 0;

/**
 * libjpeg-turbo's TurboJPEG API through Deno's FFI (the accurate integer IDCT, as djpeg), or
 * why `libturbojpeg.so.0` could not be loaded. Each call opens its own decompressor.
 *
 * @returns The decoder, or the reason with the fix.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { openTurboJpeg } from "./decode.ts";
 * const turbo = openTurboJpeg();
 * ok(typeof turbo === "function" || turbo.includes("libturbojpeg0"));
 * ```
 */
export function openTurboJpeg(): JpegDecoder | string {
  let lib;
  try {
    lib = Deno.dlopen("libturbojpeg.so.0", {
      tjInitDecompress: { parameters: [], result: "pointer" },
      tjDecompressHeader3: {
        parameters: ["pointer", "buffer", "u64", "buffer", "buffer", "buffer", "buffer"],
        result: "i32",
      },
      tjDecompress2: {
        parameters: ["pointer", "buffer", "u64", "buffer", "i32", "i32", "i32", "i32", "i32"],
        result: "i32",
      },
      tjGetErrorStr2: { parameters: ["pointer"], result: "pointer" },
    });
  } catch (error) {
    return `libturbojpeg.so.0 cannot be loaded (${
      (error as Error).message.split("\n")[0]
    }); install it with apt-get install libturbojpeg0 (scripts/setup.sh does) and grant --allow-ffi`;
  }
  const handle = lib.symbols.tjInitDecompress();
  const dims = new Int32Array(4); // width, height, subsampling, colour space
  const field = (i: number) => new Uint8Array(dims.buffer, 4 * i, 4);
  const why = () => {
    const p = lib.symbols.tjGetErrorStr2(handle);
    return p ? Deno.UnsafePointerView.getCString(p) : "unknown error";
  };
  return (jpeg, name) => {
    const size = BigInt(jpeg.length);
    if (
      lib.symbols.tjDecompressHeader3(handle, jpeg, size, field(0), field(1), field(2), field(3))
    ) {
      throw new SyntaxError(`Cannot decode JPEG ${name}: ${why()}`);
    }
    const [width, height] = dims;
    const pixels = new Uint8Array(width * height * 3);
    // Default flags: the accurate integer IDCT and fancy upsampling, as djpeg.
    if (lib.symbols.tjDecompress2(handle, jpeg, size, pixels, width, 0, height, TJPF_RGB, 0)) {
      throw new SyntaxError(`Cannot decode JPEG ${name}: ${why()}`);
    }
    return { pixels, width, height };
  };
}

let turbo: Turbo | string | undefined;
let forceWasm = false;

/**
 * TEST ONLY: use the WebAssembly decoder even when libturbojpeg loads (to test the fallback).
 *
 * @param on Whether to force it.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { forceWasmJpeg, jpegDecoderName } from "./decode.ts";
 * forceWasmJpeg(true);
 * equal(jpegDecoderName().startsWith("@jsquash/jpeg"), true);
 * forceWasmJpeg(false);
 * ```
 */
export function forceWasmJpeg(on: boolean): void {
  forceWasm = on;
}

function turboDecoder(): Turbo | string {
  if (forceWasm) return "forced by forceWasmJpeg(true)";
  turbo ??= openTurboJpeg();
  return turbo;
}

/**
 * Which JPEG decoder this process uses: `libjpeg-turbo (FFI)`, or `@jsquash/jpeg (WebAssembly)`
 * with the reason libturbojpeg was not used.
 *
 * @returns A one-line description.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { jpegDecoderName } from "./decode.ts";
 * ok(/libjpeg-turbo|@jsquash/.test(jpegDecoderName()));
 * ```
 */
export function jpegDecoderName(): string {
  const t = turboDecoder();
  return typeof t === "string"
    ? `@jsquash/jpeg 1.6.0 (WebAssembly), because ${t}`
    : "libjpeg-turbo (FFI)";
}

type WasmDecode = (
  buffer: ArrayBuffer,
) => Promise<{ data: Uint8ClampedArray; width: number; height: number }>;
let wasm: Promise<WasmDecode> | undefined;

async function decodeJpegWasm(jpeg: Uint8Array, name: string): Promise<RgbImage> {
  // deno-lint-ignore no-import-prefix
  wasm ??= import("npm:@jsquash/jpeg@1.6.0/decode.js").then((m) => m.default as WasmDecode);
  let rgba;
  try {
    rgba = await (await wasm)(jpeg.slice().buffer);
  } catch (error) {
    throw new SyntaxError(`Cannot decode JPEG ${name}: ${(error as Error).message}`);
  }
  const { width, height, data } = rgba;
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < pixels.length; i += 4, j += 3) {
    pixels[j] = data[i];
    pixels[j + 1] = data[i + 1];
    pixels[j + 2] = data[i + 2];
  }
  return { pixels, width, height };
}

/**
 * Decode a JPEG or PNG file (told apart by their first bytes, not the name) to RGB.
 *
 * @param bytes The file's bytes.
 * @param name For messages (the path).
 * @returns RGB pixels, (H,W,3).
 * @throws {SyntaxError} For another format or a broken file, with the decoder's reason.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual, rejects } from "node:assert/strict";
 * import { decodeImage } from "./decode.ts";
 * import { encodePng } from "./_png.ts";
 * const png = encodePng(Uint8Array.from([9, 8, 7]), 1, 1, 3);
 * deepEqual((await decodeImage(png, "a.png")).pixels, Uint8Array.from([9, 8, 7]));
 * await rejects(() => decodeImage(new Uint8Array(10), "b.gif"), /neither JPEG nor PNG/);
 * ```
 */
export async function decodeImage(bytes: Uint8Array, name: string): Promise<RgbImage> {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const t = turboDecoder();
    return typeof t === "string" ? await decodeJpegWasm(bytes, name) : t(bytes, name);
  }
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return decodePng(bytes, name);
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
  throw new SyntaxError(
    `Cannot decode image ${name}: it is neither JPEG nor PNG (first bytes ${head || "none"})`,
  );
}
