import { strictEqual as equal, throws } from "node:assert/strict";
import { createHash } from "node:crypto";
import { Md5, md5File, md5Hex } from "../../lib/data/_md5.ts";
import { withTempDir } from "./_helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("md5 gives the RFC 1321 test-suite digests (appendix A.5)", () => {
  const suite: [string, string][] = [
    ["", "d41d8cd98f00b204e9800998ecf8427e"],
    ["a", "0cc175b9c0f1b6a831c399e269772661"],
    ["abc", "900150983cd24fb0d6963f7d28e17f72"],
    ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
    ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
    [
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f",
    ],
    ["1234567890".repeat(8), "57edf4a22be3c955ac49da2e2107b67a"],
  ];
  for (const [message, digest] of suite) equal(md5Hex(text(message)), digest, message);
});

Deno.test("md5 agrees with node:crypto across block boundaries and chunkings", () => {
  // lengths around the 56-byte padding limit and the 64-byte block
  for (const length of [55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 70_001]) {
    const bytes = Uint8Array.from({ length }, (_, i) => (i * 2654435761) >>> 24);
    const want = createHash("md5").update(bytes).digest("hex");
    equal(md5Hex(bytes), want, `length ${length}`);
    for (const chunk of [1, 7, 64, 100]) {
      const md5 = new Md5();
      for (let o = 0; o < length; o += chunk) md5.update(bytes.subarray(o, o + chunk));
      equal(md5.hex(), want, `length ${length} in chunks of ${chunk}`);
    }
  }
  const md5 = new Md5().update(text("x"));
  equal(md5.hex(), md5.hex(), "reading the digest twice gives the same value");
  throws(() => md5.update(text("y")), /Cannot update MD5: the digest was already read/);
});

Deno.test("md5File hashes a file larger than its read buffer", async () => {
  await withTempDir(async (dir) => {
    const bytes = Uint8Array.from({ length: (1 << 20) + 12345 }, (_, i) => (i * 31) & 0xff);
    await Deno.writeFile(`${dir}/f.bin`, bytes);
    equal(await md5File(`${dir}/f.bin`), createHash("md5").update(bytes).digest("hex"));
  });
});
