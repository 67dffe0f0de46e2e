import { deepStrictEqual as deepEqual, rejects, strictEqual as equal } from "node:assert/strict";
import { readTar, readTarFile } from "../../lib/data/_tar.ts";
import { gzip, systemTar, withTempDir } from "./_helpers.ts";

const bytesOf = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17) & 0xff);

/** A tree with sizes around the 512-byte block, an empty file and a 150-character path. */
async function writeTree(dir: string): Promise<Map<string, Uint8Array>> {
  const long = `${"deep/".repeat(24)}name-longer-than-a-hundred-characters.bin`;
  const files = new Map<string, Uint8Array>([
    ["root/a.bin", bytesOf(511, 1)],
    ["root/b.bin", bytesOf(512, 2)],
    ["root/c.bin", bytesOf(513, 3)],
    ["root/empty.txt", new Uint8Array(0)],
    [`root/${long}`, bytesOf(5000, 4)],
  ]);
  for (const [path, bytes] of files) {
    await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeFile(`${dir}/${path}`, bytes);
  }
  return files;
}

Deno.test("readTar reads what GNU tar writes in gnu, ustar and pax formats, gzipped or not", async () => {
  await withTempDir(async (dir) => {
    const files = await writeTree(`${dir}/src`);
    for (const format of ["gnu", "ustar", "pax"]) {
      for (const name of [`${format}.tar`, `${format}.tar.gz`]) {
        // ustar cannot store the 150-character path without a prefix split; tar does that
        await systemTar(`${dir}/src`, "root", `${dir}/${name}`, [`--format=${format}`]);
        const { members, files: got } = await readTarFile(`${dir}/${name}`);
        deepEqual(
          members.map((m) => m.path).sort(),
          [...files.keys()].sort(),
          name,
        );
        for (const [path, bytes] of files) deepEqual(got.get(path), bytes, `${name} ${path}`);
      }
    }
    // only wanted members are kept; the others are still listed
    const some = await readTarFile(`${dir}/pax.tar.gz`, (p) => p.endsWith("c.bin"));
    deepEqual([...some.files.keys()], ["root/c.bin"]);
    equal(some.members.length, files.size);
  });
});

Deno.test("an old-GNU header's access time is not taken for a ustar name prefix", async () => {
  await withTempDir(async (dir) => {
    await writeTree(`${dir}/src`);
    await systemTar(`${dir}/src`, "root/a.bin", `${dir}/gnu.tar`, ["--format=gnu"]);
    const tar = await Deno.readFile(`${dir}/gnu.tar`);
    equal(new TextDecoder().decode(tar.subarray(257, 265)), "ustar  \0");
    tar.set(new TextEncoder().encode("14741234567\0"), 345); // atime, as GNU tar -G writes it
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : tar[i];
    tar.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    const { members } = await readTar(new Blob([tar]).stream(), "gnu.tar");
    deepEqual(members.map((m) => m.path), ["root/a.bin"]);
  });
});

Deno.test("readTar rejects damaged headers and truncated archives, naming the archive", async () => {
  await withTempDir(async (dir) => {
    await writeTree(`${dir}/src`);
    await systemTar(`${dir}/src`, "root/c.bin", `${dir}/one.tar`);
    const tar = await Deno.readFile(`${dir}/one.tar`);
    const stream = (bytes: Uint8Array) => new Blob([bytes.slice()]).stream();
    const damaged = tar.slice();
    damaged[130] ^= 0x04; // a size digit
    await rejects(
      readTar(stream(damaged), "one.tar"),
      /^SyntaxError: Cannot read tar archive one.tar: the header at byte 0 has checksum \d+ but its bytes sum to \d+/,
    );
    await rejects(
      readTar(stream(tar.subarray(0, 512 + 100)), "cut.tar"),
      /Cannot read tar archive cut.tar: it ends inside member "root\/c.bin" \(100 of 513 bytes\)/,
    );
    await rejects(
      readTar(stream(tar.subarray(0, 300)), "cut.tar"),
      /it ends inside the header at byte 0 \(300 of 512 bytes\)/,
    );
    await rejects(
      readTar(stream(new TextEncoder().encode("<html>404</html>".padEnd(600))), "page.tar"),
      /the header at byte 0 has checksum 0 but its bytes sum to 17189; the file is corrupt or not a/,
    );
    const z = gzip(tar);
    z[z.length - 6] ^= 0xff; // the CRC-32 trailer
    await Deno.writeFile(`${dir}/bad.tar.gz`, z);
    await rejects(
      readTarFile(`${dir}/bad.tar.gz`),
      new RegExp(`^SyntaxError: Cannot read tar archive ${dir}/bad.tar.gz: .*download it again`),
    );
  });
});
