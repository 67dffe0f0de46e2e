/**
 * `deno task data`: download a profile's data set, or inspect a long-tailed profile.
 *
 * ```text
 * deno task data [--profile NAME] [--dir DIR] [--base-url URL]
 * deno task data --info [--profile NAME|FILE.json] [--data-dir DIR] [--out FILE.png] [--samples N]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  DATASET_DOWNLOADS,
  describeImageListSplits,
  describeSplits,
  type DownloadProgress,
  downloadSource,
  findImageListProfile,
  getProfile,
  IMAGE_LIST_PROFILES,
  imageListGridPng,
  loadImageListSplits,
  loadLongTail,
  type LongTailProfile,
  PROFILES,
  sampleGridPng,
  validateProfile,
} from "../lib/data/mod.ts";
import { writeFileAtomic } from "../lib/io/_atomic.ts";

const DOWNLOADS = Object.entries(DATASET_DOWNLOADS).map(([source, d]) =>
  `        ${source}: ${d.files.length > 1 ? `${d.files.length} files` : d.files[0].name} from ` +
  `${d.baseUrl} into ${d.dir}/`
).join("\n");

const USAGE = `Usage:
  deno task data [--profile NAME|FILE.json] [--dir DIR] [--base-url URL]
      Download the files of the profile's source (default fashion-mnist-lt-100), checksum
      verified and resumable, into DIR from URL (defaults by source):
${DOWNLOADS}
  deno task data --info [--profile NAME|FILE.json] [--data-dir DIR] [--out FILE.png] [--samples N]
      Print counts per class and split and the shot groups of a profile (default
      fashion-mnist-lt-100), and write a PNG grid of N sample training images per class
      (default 10) to FILE.png (default runs/data-info/<profile>.png).

Profiles: ${Object.keys(PROFILES).join(", ")}, or a JSON file holding a profile.
Image-list profiles (--info only; --data-dir is the image root, the lists are in it or in its
${
  Object.values(IMAGE_LIST_PROFILES).map((p) => p.listFolder).join("/, ")
}/ folder; --skip-bad skips and lists bad lines):
  ${Object.keys(IMAGE_LIST_PROFILES).join(", ")}
Data: --data-dir, then LTKIT_DATA, then data/<source>/ (data/fashion-mnist/, data/cifar-10/,
data/cifar-100/), then for Fashion-MNIST /usr/share/datasets/fashion-mnist/. CIFAR is read from
the official binary archive (cifar-10-binary.tar.gz, cifar-100-binary.tar.gz) or its extracted
folder.`;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  info: { type: "boolean" },
  profile: { type: "string" },
  "data-dir": { type: "string" },
  out: { type: "string" },
  samples: { type: "string" },
  dir: { type: "string" },
  "base-url": { type: "string" },
  "skip-bad": { type: "boolean" },
} as const;

class UsageError extends Error {}

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const flags = Object.entries(OPTIONS).map(([name, o]) =>
      `--${name}${o.type === "string" ? " VALUE" : ""}`
    );
    throw new UsageError(
      `Cannot parse arguments: ${(error as Error).message}. Allowed flags: ${flags.join(", ")}`,
    );
  }
}

async function readProfile(value: string): Promise<LongTailProfile> {
  if (!value.endsWith(".json")) {
    if (!(value in PROFILES)) {
      throw new UsageError(
        `Cannot use --profile ${value}: allowed values are ${
          [...Object.keys(PROFILES), ...Object.keys(IMAGE_LIST_PROFILES)].join(", ")
        }, or a path ending in .json`,
      );
    }
    return structuredClone(getProfile(value)) as LongTailProfile;
  }
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(value));
  } catch (error) {
    throw new UsageError(`Cannot use --profile ${value}: ${(error as Error).message}`);
  }
  return validateProfile(json);
}

function progressPrinter(): (p: DownloadProgress) => void {
  const tty = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  let lastFile = "", lastTenth = -1;
  return (p) => {
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const pct = p.total ? Math.floor((100 * p.received) / p.total) : 0;
    const text =
      `${p.file}: ${mb(p.received)}${p.total ? ` of ${mb(p.total)} MB (${pct}%)` : " MB"}` +
      (p.resumedFrom ? ` resumed at ${mb(p.resumedFrom)} MB` : "");
    const done = p.total !== undefined && p.received >= p.total;
    if (tty) {
      Deno.stderr.writeSync(encoder.encode(`\r${text}\x1b[K${done ? "\n" : ""}`));
    } else if (p.file !== lastFile || Math.floor(pct / 10) !== lastTenth || done) {
      console.error(text);
    }
    lastFile = p.file;
    lastTenth = Math.floor(pct / 10);
  };
}

async function download(values: ReturnType<typeof parse>): Promise<void> {
  const profile = await readProfile(values.profile ?? "fashion-mnist-lt-100");
  const table = DATASET_DOWNLOADS[profile.source];
  if (!table) {
    throw new UsageError(
      `Cannot download the data of profile ${profile.name}: its source ${profile.source} is not ` +
        `downloadable (downloadable: ${Object.keys(DATASET_DOWNLOADS).join(", ")})`,
    );
  }
  const dir = values.dir ?? table.dir;
  const baseUrl = values["base-url"] ?? table.baseUrl;
  if (!/^https?:\/\//.test(baseUrl)) {
    throw new UsageError(
      `Cannot use --base-url ${baseUrl}: it must start with http:// or https://`,
    );
  }
  console.log(`Downloading ${table.title} from ${baseUrl} into ${dir}/`);
  const results = await downloadSource(profile.source, {
    dir,
    baseUrl,
    onProgress: progressPrinter(),
  });
  for (const r of results) {
    const how = r.cached ? "already there, verified" : r.resumed ? "resumed, verified" : "verified";
    console.log(`${r.path} (${r.bytes} bytes, ${how})`);
  }
}

async function imageListInfo(
  values: ReturnType<typeof parse>,
  name: string,
  samples: number,
): Promise<void> {
  const profile = findImageListProfile(name)!;
  const dir = values["data-dir"];
  if (dir === undefined) {
    throw new UsageError(
      `Cannot show profile ${name}: give the image root with --data-dir (the lists go in it or ` +
        `in its ${profile.listFolder}/ folder)`,
    );
  }
  const splits = await loadImageListSplits(profile, dir, { skipBad: values["skip-bad"] });
  console.log(describeImageListSplits(splits));
  await writeGrid(values, name, await imageListGridPng(splits, samples));
}

async function writeGrid(
  values: ReturnType<typeof parse>,
  name: string,
  png: Uint8Array,
): Promise<void> {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, "_");
  const out = values.out ?? `runs/data-info/${safe}.png`;
  if (!out.endsWith(".png")) {
    throw new UsageError(`Cannot use --out ${out}: the grid is a PNG, give a path ending in .png`);
  }
  const slash = out.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(out.slice(0, slash), { recursive: true });
  await writeFileAtomic(out, png, "sample grid");
  console.log(
    `\nSample grid: ${out} (rows are classes in rank order, head first; up to ${
      values.samples ?? 10
    } ` +
      "training images each; bars show training counts)",
  );
}

async function info(values: ReturnType<typeof parse>): Promise<void> {
  const samples = Number(values.samples ?? "10");
  if (!Number.isInteger(samples) || samples < 1 || samples > 100) {
    throw new UsageError(`Cannot use --samples ${values.samples}: use an integer in 1..100`);
  }
  const name = values.profile ?? "fashion-mnist-lt-100";
  if (findImageListProfile(name)) return await imageListInfo(values, name, samples);
  if (values["skip-bad"]) {
    throw new UsageError("Cannot use --skip-bad: it applies to image-list profiles only");
  }
  const profile = await readProfile(name);
  const splits = await loadLongTail(profile, { dataDir: values["data-dir"] });
  console.log(describeSplits(splits, splits.from));
  const png = sampleGridPng(splits.train.set, {
    perClass: samples,
    rows: profile.classOrder,
    counts: splits.classCounts,
  });
  await writeGrid(values, profile.name, png);
}

/**
 * Run the command line.
 *
 * @param args The arguments, without the program name.
 * @returns The exit code: 0 success, 1 failure, 2 usage error.
 * @example
 * ```ts ignore
 * import { main } from "./data.ts";
 * Deno.exit(await main(["--info", "--profile", "fashion-mnist-lt-10"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    const values = parse(args);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.info) {
      for (const flag of ["dir", "base-url"] as const) {
        if (values[flag] !== undefined) {
          throw new UsageError(`Cannot use --${flag} with --info: it applies to downloads only`);
        }
      }
      await info(values);
    } else {
      for (const flag of ["data-dir", "out", "samples", "skip-bad"] as const) {
        if (values[flag] !== undefined) {
          throw new UsageError(`Cannot use --${flag} without --info: it applies to --info only`);
        }
      }
      await download(values);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
