import { deepStrictEqual as deepEqual, strictEqual as equal, throws } from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { crc32, encodePng } from "../../lib/data/_png.ts";
import { sampleGrid, sampleGridPng } from "../../lib/data/grid.ts";
import { syntheticSet } from "./_helpers.ts";

/** Decode the PNGs encodePng writes (filter 0 rows), checking every chunk's CRC. */
function decodePng(png: Uint8Array) {
  deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: { type: string; data: Uint8Array }[] = [];
  for (let o = 8; o < png.length;) {
    const length = view.getUint32(o);
    const type = new TextDecoder().decode(png.subarray(o + 4, o + 8));
    const data = png.subarray(o + 8, o + 8 + length);
    equal(
      view.getUint32(o + 8 + length),
      crc32(png.subarray(o + 4, o + 8 + length)),
      `${type} CRC`,
    );
    chunks.push({ type, data });
    o += 12 + length;
  }
  deepEqual(chunks.map((c) => c.type), ["IHDR", "IDAT", "IEND"]);
  const ihdr = new DataView(chunks[0].data.buffer, chunks[0].data.byteOffset, 13);
  const width = ihdr.getUint32(0), height = ihdr.getUint32(4);
  const channels = chunks[0].data[9] === 0 ? 1 : 3;
  equal(chunks[0].data[8], 8);
  const raw = new Uint8Array(inflateSync(chunks[1].data));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    equal(raw[y * (stride + 1)], 0, "filter type None");
    pixels.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, channels, pixels };
}

Deno.test("crc32 matches the standard check value", () => {
  equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  equal(crc32(new Uint8Array(0)), 0);
  const a = new TextEncoder().encode("hello "), b = new TextEncoder().encode("world");
  equal(crc32(b, crc32(a)), crc32(new TextEncoder().encode("hello world")));
});

Deno.test("encodePng writes valid gray and RGB PNGs that decode to the same pixels", () => {
  const gray = Uint8Array.from({ length: 5 * 3 }, (_, i) => i * 17);
  deepEqual(decodePng(encodePng(gray, 5, 3)), { width: 5, height: 3, channels: 1, pixels: gray });
  const rgb = Uint8Array.from({ length: 2 * 4 * 3 }, (_, i) => 255 - i);
  deepEqual(decodePng(encodePng(rgb, 2, 4, 3)), { width: 2, height: 4, channels: 3, pixels: rgb });
  throws(() => encodePng(gray, 4, 3), /Cannot encode PNG: 15 bytes for 4x3x1/);
  throws(() => encodePng(gray, 5, 3, 2), /2 channels; use 1/);
});

Deno.test("sampleGrid places the first images of each row's class, scaled, with count bars", () => {
  const set = syntheticSet([3, 1, 2], { height: 4, width: 4 });
  const grid = sampleGrid(set, { perClass: 2, scale: 2, gap: 1, rows: [2, 0, 1], barWidth: 10 });
  const cell = 8, imagesWidth = 1 + 2 * (cell + 1);
  equal(grid.width, imagesWidth + 10 + 1);
  equal(grid.height, 1 + 3 * (cell + 1));
  // row 0 shows class 2: its first image is the first row of the set with label 2
  const first2 = set.labels.indexOf(2);
  for (let y = 0; y < cell; y++) {
    for (let x = 0; x < cell; x++) {
      const want = set.images[first2 * 16 + Math.floor(y / 2) * 4 + Math.floor(x / 2)];
      equal(grid.pixels[(1 + y) * grid.width + 1 + x], want);
    }
  }
  // class 1 has one image: its second cell stays background
  equal(grid.pixels[(1 + 2 * (cell + 1) + 3) * grid.width + 1 + cell + 1 + 3], 96);
  // bars: class 0 (3 images, the largest) is full length, class 1 one third
  const barRow = (r: number) => 1 + r * (cell + 1) + cell / 2;
  const barLength = (r: number) => {
    let n = 0;
    while (grid.pixels[barRow(r) * grid.width + imagesWidth + n] === 230) n++;
    return n;
  };
  deepEqual([barLength(0), barLength(1), barLength(2)], [7, 10, 3]);
  const decoded = decodePng(
    sampleGridPng(set, { perClass: 2, scale: 2, gap: 1, rows: [2, 0, 1], barWidth: 10 }),
  );
  deepEqual(decoded.pixels, grid.pixels);
  const color = sampleGrid(syntheticSet([1], { channels: 3, height: 2, width: 2 }), { scale: 1 });
  equal(color.channels, 3);
});
