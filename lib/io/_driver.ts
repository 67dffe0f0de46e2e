/**
 * Which driver runs the adapter. WebGPU's `GPUAdapterInfo` has no driver version: Deno 2.9.6
 * reports vendor, architecture, device, description, subgroup sizes and isFallbackAdapter, and
 * lavapipe's description ("llvmpipe (LLVM 15.0.6, 256 bits)") names only the LLVM version, the
 * same for Mesa 22.3 and Mesa 25.0 on Debian 12. Tuned kernel choices depend on the driver (Mesa
 * 25 makes workgroup memory cheap), so the driver is found where Vulkan's loader finds it: the
 * ICD manifests (`VK_DRIVER_FILES`, `VK_ICD_FILENAMES`, else the standard folders) name the
 * driver library; the one matching the adapter is read for Mesa's version string (the same text
 * `VkPhysicalDeviceDriverProperties.driverInfo` reports, e.g. "Mesa 25.0.7-2~bpo12+1"), else its
 * resolved file name and size stand for the version (NVIDIA's library name carries it).
 *
 * Every file access is asked for first (`Deno.permissions.querySync`), so a program without
 * read permission, a browser or another OS gets an empty string and no prompt.
 *
 * @module
 */

import { readEnv } from "./_env.ts";

/** Adapter and library name patterns: which ICD library drives which adapter. */
const DRIVER_MATCHES: readonly { adapter: RegExp; vendor?: string; library: RegExp }[] = [
  { adapter: /llvmpipe/i, library: /lvp/i },
  { adapter: /swiftshader/i, library: /swiftshader/i },
  { adapter: /nvidia/i, vendor: String(0x10de), library: /nvidia/i },
  { adapter: /radv|amd|radeon/i, vendor: String(0x1002), library: /radeon|amd/i },
  { adapter: /intel/i, vendor: String(0x8086), library: /intel/i },
];

const ICD_FOLDERS = [
  "/etc/vulkan/icd.d",
  "/usr/local/share/vulkan/icd.d",
  "/usr/share/vulkan/icd.d",
];
const LIBRARY_FOLDERS = [
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
  "/usr/local/lib",
];
/** Libraries larger than this are named by file, not searched for a version string. */
const MAX_SCAN_BYTES = 96 * 1024 * 1024;

const found = new Map<string, string>();

/**
 * A short text naming the driver behind an adapter, e.g. `"Mesa 25.0.7-2~bpo12+1"` or
 * `"libGLX_nvidia.so.550.54.14 (52428800 bytes)"`; empty when it cannot be found (no read
 * permission, not Linux/Vulkan). Cached per process.
 *
 * @param adapter The adapter's description and vendor, as in `GPUAdapterInfo`.
 * @returns The driver text, or "".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { driverVersion } from "./_driver.ts";
 * const driver = driverVersion({ description: "no such adapter", vendor: "" });
 * assert.equal(driver, ""); // no ICD library matches
 * ```
 */
export function driverVersion(adapter: { description: string; vendor: string }): string {
  const cacheKey = `${adapter.description}|${adapter.vendor}`;
  let text = found.get(cacheKey);
  if (text === undefined) {
    try {
      text = detect(adapter);
    } catch {
      text = "";
    }
    found.set(cacheKey, text);
  }
  return text;
}

function detect(adapter: { description: string; vendor: string }): string {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno?.readFileSync || deno.build?.os !== "linux") return "";
  const match = DRIVER_MATCHES.find((m) =>
    m.adapter.test(adapter.description) || (m.vendor !== undefined && m.vendor === adapter.vendor)
  );
  if (!match) return "";
  for (const manifest of manifests(deno)) {
    const library = libraryOf(deno, manifest);
    if (library === null || !match.library.test(library.split("/").pop()!)) continue;
    const path = resolveLibrary(deno, library);
    if (path === null) continue;
    const real = canRead(deno, path) ? deno.realPathSync(path) : path;
    const size = deno.statSync(real).size;
    if (size <= MAX_SCAN_BYTES) {
      const mesa = mesaVersion(deno.readFileSync(real));
      if (mesa) return mesa;
    }
    return `${real.split("/").pop()} (${size} bytes)`;
  }
  return "";
}

function canRead(deno: typeof Deno, path: string): boolean {
  try {
    return deno.permissions.querySync?.({ name: "read", path }).state === "granted";
  } catch {
    return false;
  }
}

/** ICD manifest files, in the order the Vulkan loader reads them. */
function manifests(deno: typeof Deno): string[] {
  const listed = readEnv("VK_DRIVER_FILES") ?? readEnv("VK_ICD_FILENAMES");
  const entries = listed ? listed.split(":").filter(Boolean) : ICD_FOLDERS;
  const files: string[] = [];
  for (const entry of entries) {
    if (!canRead(deno, entry)) continue;
    try {
      if (deno.statSync(entry).isDirectory) {
        const names = [...deno.readDirSync(entry)].map((e) => e.name).filter((n) =>
          n.endsWith(".json")
        );
        files.push(...names.sort().map((n) => `${entry}/${n}`));
      } else files.push(entry);
    } catch {
      // A folder that does not exist here: the loader skips it too.
    }
  }
  return files;
}

function libraryOf(deno: typeof Deno, manifest: string): string | null {
  try {
    const json = JSON.parse(deno.readTextFileSync(manifest));
    const path = json?.ICD?.library_path;
    if (typeof path !== "string") return null;
    // A relative path with a slash is relative to the manifest, as the loader reads it.
    if (path.includes("/") && !path.startsWith("/")) {
      return `${manifest.slice(0, manifest.lastIndexOf("/"))}/${path}`;
    }
    return path;
  } catch {
    return null;
  }
}

function resolveLibrary(deno: typeof Deno, library: string): string | null {
  const candidates = library.startsWith("/")
    ? [library]
    : LIBRARY_FOLDERS.map((folder) => `${folder}/${library}`);
  for (const path of candidates) {
    if (!canRead(deno, path)) continue;
    try {
      if (deno.statSync(path).isFile) return path;
    } catch {
      // Not in this folder.
    }
  }
  return null;
}

/** The first "Mesa <major>.<minor>.<patch>..." string in a library's bytes, or null. */
function mesaVersion(bytes: Uint8Array): string | null {
  const needle = [0x4d, 0x65, 0x73, 0x61, 0x20]; // "Mesa "
  for (let i = bytes.indexOf(needle[0]); i >= 0; i = bytes.indexOf(needle[0], i + 1)) {
    if (
      bytes[i + 1] !== needle[1] || bytes[i + 2] !== needle[2] || bytes[i + 3] !== needle[3] ||
      bytes[i + 4] !== needle[4] || bytes[i + 5] < 0x30 || bytes[i + 5] > 0x39
    ) continue;
    const end = bytes.indexOf(0, i);
    const text = new TextDecoder("latin1").decode(bytes.subarray(i, Math.min(end, i + 80)));
    const match = /^Mesa \d+\.\d+\.\d+[\w.~+-]*/.exec(text);
    if (match) return match[0];
  }
  return null;
}
