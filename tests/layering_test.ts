/**
 * The layering rule: the compute layers (lib/gpu, lib/ops, lib/nn, lib/stage2), the metrics
 * (lib/eval/metrics.ts) and the features reader (lib/features/reader.ts, schema.ts) run in a
 * browser too, so nothing they reach at run time uses the `Deno` namespace, imports `node:` or
 * reaches lib/io. File and process access lives in their callers (lib/train, scripts, the
 * writers). The only allowed mention of Deno there is a capability probe, `globalThis.Deno?.`.
 *
 * The check walks the static import graph (import and export-from specifiers, dynamic imports
 * with a literal specifier) from every module of those layers; type-only imports are erased and
 * not followed; comments (JSDoc examples included) are not code.
 */

import { deepStrictEqual as deepEqual } from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Every module whose run-time import graph must stay free of Deno, node: and lib/io. */
function layerRoots(root: string): string[] {
  const files: string[] = [];
  for (const dir of ["lib/gpu", "lib/ops", "lib/nn", "lib/stage2"]) {
    for (const entry of Deno.readDirSync(join(root, dir))) {
      if (entry.isFile && entry.name.endsWith(".ts")) files.push(join(root, dir, entry.name));
    }
  }
  for (const file of ["lib/eval/metrics.ts", "lib/features/reader.ts", "lib/features/schema.ts"]) {
    files.push(join(root, file));
  }
  return files.sort();
}

/**
 * The source with comments blanked out (newlines kept, so line numbers stay right), and with
 * `strings` the text of string and template literals too (a template's `${...}` code stays).
 */
function stripComments(source: string, strings = false): string {
  const out = source.split("");
  // A stack of open contexts: "`" a template literal, "{" a code block (inside `${...}` or not).
  const stack: string[] = [];
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  while (i < source.length) {
    const c = source[i];
    const inTemplate = stack.at(-1) === "`";
    if (inTemplate) {
      if (c === "\\") {
        if (strings) blank(i, i + 2);
        i += 2;
      } else if (c === "`") {
        stack.pop();
        i++;
      } else if (c === "$" && source[i + 1] === "{") {
        stack.push("${");
        i += 2;
      } else {
        if (strings) blank(i, i + 1);
        i++;
      }
      continue;
    }
    if (c === "/" && source[i + 1] === "/") {
      const end = source.indexOf("\n", i);
      const stop = end < 0 ? source.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      const start = ++i;
      while (i < source.length && source[i] !== c && source[i] !== "\n") {
        i += source[i] === "\\" ? 2 : 1;
      }
      if (strings) blank(start, i);
      i++;
    } else if (c === "`") {
      stack.push("`");
      i++;
    } else if (c === "{") {
      stack.push("{");
      i++;
    } else if (c === "}") {
      stack.pop();
      i++;
    } else i++;
  }
  return out.join("");
}

interface Reference {
  specifier: string;
  line: number;
}

/** Run-time import specifiers of a module (type-only imports and exports are erased). */
function runtimeImports(code: string): Reference[] {
  const refs: Reference[] = [];
  const lineAt = (index: number) => code.slice(0, index).split("\n").length;
  const patterns = [
    /\b(?:import|export)(\s+type\b)?[^;'"`]*?\bfrom\s*(["'])([^"']+)\2/g,
    /\bimport\s*()(["'])([^"']+)\2/g,
    /\bimport\s*\(\s*()(["'])([^"']+)\2/g,
  ];
  for (const pattern of patterns) {
    for (const m of code.matchAll(pattern)) {
      if (m[1]) continue;
      refs.push({ specifier: m[3], line: lineAt(m.index + m[0].lastIndexOf(m[3]) - 1) });
    }
  }
  return refs;
}

/**
 * Every breach of the layering rule reachable from `roots`, as `file:line: what (via chain)`,
 * with paths relative to `root`.
 */
function layeringViolations(root: string, roots: string[]): string[] {
  const io = join(root, "lib/io") + "/";
  const via = new Map<string, string | null>();
  const queue: string[] = [];
  for (const r of roots) {
    via.set(r, null);
    queue.push(r);
  }
  const rel = (p: string) => relative(root, p);
  const chain = (file: string) => {
    const names: string[] = [];
    for (let f: string | null = file; f !== null; f = via.get(f) ?? null) names.unshift(rel(f));
    return names.join(" -> ");
  };
  const found: string[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (!file.endsWith(".ts")) continue;
    const source = Deno.readTextFileSync(file);
    const code = stripComments(source);
    stripComments(source, true).split("\n").forEach((text, index) => {
      // The Deno global appears only as a type or behind a capability probe, `globalThis.Deno?.`.
      const uses = text.replaceAll(/\btypeof\s+Deno\b|\bglobalThis\.Deno\?\./g, "");
      const use = /\bDeno\b\s*(?:[.[]\s*(\w*))?/.exec(uses);
      if (use) {
        const what = use[1] === undefined ? "the Deno global" : `Deno.${use[1]}`;
        found.push(`${rel(file)}:${index + 1}: uses ${what} (via ${chain(file)})`);
      }
    });
    for (const { specifier, line } of runtimeImports(code)) {
      if (specifier.startsWith("node:")) {
        found.push(`${rel(file)}:${line}: imports ${specifier} (via ${chain(file)})`);
      } else if (specifier.startsWith(".")) {
        const target = resolve(dirname(file), specifier);
        if (target.startsWith(io)) {
          found.push(`${rel(file)}:${line}: reaches ${rel(target)} (via ${chain(file)})`);
        } else if (!via.has(target)) {
          via.set(target, file);
          queue.push(target);
        }
      }
    }
  }
  return found.sort();
}

Deno.test("gpu, ops, nn, stage2, the metrics and the features reader reach no Deno, node: or lib/io", () => {
  const found = layeringViolations(ROOT, layerRoots(ROOT));
  deepEqual(found, [], `move file and process access to the callers:\n${found.join("\n")}`);
});

Deno.test("the layering check names each planted breach with its file, line and import chain", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const write = (path: string, text: string) => {
      Deno.mkdirSync(dirname(join(dir, path)), { recursive: true });
      Deno.writeTextFileSync(join(dir, path), text);
    };
    write("lib/io/atomic.ts", "export const x = Deno.pid;\n");
    write(
      "lib/core/a.ts",
      [
        'import type { T } from "./typed.ts";',
        'import { b } from "./b.ts";',
        "/** @example",
        ' * import { readFile } from "node:fs";',
        " * Deno.readFile(x);",
        " */",
        'export { c } from "./c.ts";',
        "// Deno.exit(1) in a comment is not code",
        "const probe = globalThis.Deno?.version; // a capability probe is allowed",
        'const url = "https://example.org/a"; // the string holds no comment',
        "export const a: T = b + String(probe) + url;",
      ].join("\n"),
    );
    write(
      "lib/core/typed.ts",
      "export type T = string;\nDeno.readFileSync('never at run time');\n",
    );
    write("lib/core/b.ts", "export const b = 'b';\n\nconst n = `${Deno.pid}`;\n");
    write(
      "lib/core/c.ts",
      'import { readFileSync } from "node:fs";\nimport { x } from "../io/atomic.ts";\n' +
        "export const c = [readFileSync, x];\n",
    );
    write("lib/core/d.ts", "export const d = await import('./e.ts');\n");
    write(
      "lib/core/e.ts",
      "export const e = Deno.env.get('HOME');\n" +
        "const alias = (globalThis as { Deno?: typeof Deno }).Deno;\n" +
        'export const f = [alias, "Deno.exit in a string is text", `Deno 2.x ${e}`];\n',
    );
    const found = layeringViolations(dir, [join(dir, "lib/core/a.ts"), join(dir, "lib/core/d.ts")]);
    deepEqual(found, [
      "lib/core/b.ts:3: uses Deno.pid (via lib/core/a.ts -> lib/core/b.ts)",
      "lib/core/c.ts:1: imports node:fs (via lib/core/a.ts -> lib/core/c.ts)",
      "lib/core/c.ts:2: reaches lib/io/atomic.ts (via lib/core/a.ts -> lib/core/c.ts)",
      "lib/core/e.ts:1: uses Deno.env (via lib/core/d.ts -> lib/core/e.ts)",
      "lib/core/e.ts:2: uses the Deno global (via lib/core/d.ts -> lib/core/e.ts)",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
