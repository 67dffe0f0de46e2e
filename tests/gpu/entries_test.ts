/**
 * Every kernel family's entry table names exactly the compute entry points its WGSL declares,
 * as wgsl_reflect reads them; and every WGSL file under kernels/ that declares entry points has
 * a table. No device needed: this is about names, caught before any compile.
 */
import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { WgslReflect } from "../../lib/_deps.ts";
import { ENTRY_TABLES } from "../../lib/ops/_entries.ts";

const root = new URL("../../", import.meta.url);

function reflectedEntries(file: string): string[] {
  const reflect = new WgslReflect(Deno.readTextFileSync(new URL(file, root)));
  return reflect.entry.compute.map((e: { name: string }) => e.name).sort();
}

Deno.test("each entry table matches the entry points reflected from its WGSL file", () => {
  for (const { file, entries } of ENTRY_TABLES) {
    const table = Object.values(entries);
    equal(new Set(table).size, table.length, `${file}: an entry point is listed twice`);
    deepEqual([...table].sort(), reflectedEntries(file), `${file}: table and WGSL differ`);
  }
});

Deno.test("every kernel file with compute entry points has an entry table", () => {
  const tabled = new Set(ENTRY_TABLES.map((t) => t.file));
  const files = [...Deno.readDirSync(new URL("kernels/", root))]
    .map((e) => `kernels/${e.name}`)
    .filter((f) => f.endsWith(".wgsl"))
    .sort();
  ok(files.length > 0, "no kernels found");
  for (const file of files) {
    // The subgroup files are parts spliced into a base file, whose table covers them.
    if (reflectedEntries(file).length === 0) continue;
    ok(tabled.has(file), `${file} declares entry points but has no table in lib/ops/_entries.ts`);
  }
});
