/**
 * `deno task train`: the whole experiment in one command. See `--help`.
 *
 * @module
 */

import { presetConfig } from "../lib/train/config.ts";
import { runExperiment } from "../lib/train/experiment.ts";
import { parseTrainArgs, trainHelp } from "../lib/train/flags.ts";
import { checkPaths } from "../lib/train/_permissions.ts";
import { runSeeds } from "../lib/train/seeds.ts";

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseTrainArgs(argv);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(trainHelp(presetConfig(args.preset ?? "paper")));
    return 0;
  }
  try {
    await checkPaths("train", argv, { write: [args.out ?? "runs"] });
    if (args.seeds) await runSeeds(args, args.seeds);
    else await runExperiment(args);
    return 0;
  } catch (error) {
    const e = error as Error;
    console.error(`\nerror: ${e.message}`);
    if (args.verbose && e.stack) console.error(e.stack);
    return error instanceof RangeError || error instanceof Deno.errors.PermissionDenied ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
