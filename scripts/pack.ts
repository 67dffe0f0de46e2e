/**
 * `deno task pack`: decode and resize the images of a list once into Arrow shards.
 *
 * ```text
 * deno task pack --list FILE --root DIR --size S --out DIR [--shard-mib N] [--workers N] [--skip-bad] [--quiet]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { decoderBanner, formatProblems, MAX_SHARD_MIB, packImageList } from "../lib/data/mod.ts";
import { checkPaths } from "../lib/train/_permissions.ts";

const USAGE = `Usage:
  deno task pack --list FILE --root DIR --size S --out DIR [--shard-mib N] [--workers N]
                 [--skip-bad] [--quiet]
      Decode the JPEG/PNG images of FILE (one 'relative/path label' per line, paths under DIR),
      resize the shorter side to S (area filter when shrinking, bilinear when growing) and write
      them as uint8 RGB into Arrow shards of at most N MiB (default 512, at most ${MAX_SHARD_MIB})
      in --out, with manifest.json. A rerun resumes: finished shards are verified and kept.
      --skip-bad skips (and lists) bad lines, missing files and undecodable images.
      --workers: decoding threads (default: every core).`;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  list: { type: "string" },
  root: { type: "string" },
  size: { type: "string" },
  out: { type: "string" },
  "shard-mib": { type: "string" },
  workers: { type: "string" },
  "skip-bad": { type: "boolean" },
  quiet: { type: "boolean" },
} as const;

class UsageError extends Error {}

function time(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
    : s >= 60
    ? `${Math.floor(s / 60)} min ${s % 60} s`
    : `${s} s`;
}

/**
 * Run the command line.
 *
 * @param args The arguments, without the program name.
 * @returns The exit code: 0 success, 1 failure, 2 usage error.
 * @example
 * ```ts ignore
 * import { main } from "./pack.ts";
 * Deno.exit(await main(["--list", "l.txt", "--root", ".", "--size", "64", "--out", "data/p"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    let values;
    try {
      values = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values;
    } catch (error) {
      throw new UsageError(`Cannot parse arguments: ${(error as Error).message}`);
    }
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    for (const flag of ["list", "root", "size", "out"] as const) {
      if (values[flag] === undefined) throw new UsageError(`Cannot pack: --${flag} is required`);
    }
    const number = (flag: "size" | "shard-mib" | "workers") => {
      const text = values[flag];
      if (text === undefined) return undefined;
      const v = Number(text);
      if (!Number.isFinite(v)) throw new UsageError(`Cannot use --${flag} ${text}: not a number`);
      return v;
    };
    const out = values.out!;
    await checkPaths("pack", args, { read: [values.list!, values.root!], write: [out] });
    const quiet = values.quiet ?? false;
    console.log(decoderBanner());
    const tty = Deno.stderr.isTerminal();
    const encoder = new TextEncoder();
    const manifest = await packImageList({
      list: values.list!,
      root: values.root!,
      size: number("size")!,
      out,
      shardMiB: number("shard-mib"),
      workers: number("workers"),
      skipBad: values["skip-bad"],
      onShard: (r, kept) =>
        console.log(
          `${r.file}: ${r.rows} images, ${(r.bytes / 1048576).toFixed(1)} MiB, sha256 ` +
            `${r.sha256.slice(0, 16)}${kept ? " (kept: verified)" : ""}`,
        ),
      onProgress: (p) => {
        if (quiet) return;
        const text = `${p.done}/${p.total} images, ${p.imagesPerSecond.toFixed(0)} images/s, ` +
          `${time(p.secondsLeft)} left, ${p.shards} shards`;
        if (tty) Deno.stderr.writeSync(encoder.encode(`\r${text}\x1b[K`));
        else console.error(text);
      },
    });
    if (tty && !quiet) Deno.stderr.writeSync(encoder.encode("\n"));
    const rows = manifest.shards.reduce((n, s) => n + s.rows, 0);
    console.log(`${out}: ${rows} images in ${manifest.shards.length} shards, done`);
    if (manifest.skipped.length > 0) {
      console.log(`skipped (--skip-bad):\n${formatProblems(manifest.skipped, 1000)}`);
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
