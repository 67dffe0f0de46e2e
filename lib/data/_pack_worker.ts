/**
 * A Web Worker of {@link packImageList}: reads, decodes and resizes one image per message.
 *
 * In: `{ id, file, name, size }`. Out: `{ id, pixels, width, height }` (pixels transferred) or
 * `{ id, error }`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { decodeImage } from "./decode.ts";
import { resizeShorterSide } from "./resize.ts";

self.onmessage = async (event: MessageEvent) => {
  const { id, file, name, size } = event.data as {
    id: number;
    file: string;
    name: string;
    size: number;
  };
  try {
    const image = resizeShorterSide(await decodeImage(await Deno.readFile(file), name), size);
    self.postMessage({ id, pixels: image.pixels, width: image.width, height: image.height }, [
      image.pixels.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    self.postMessage({ id, error: (error as Error).message });
  }
};
