import { deepStrictEqual as deepEqual, throws } from "node:assert/strict";
import { classesByGroup, PAPER_SHOT_THRESHOLDS, shotGroups } from "../../lib/data/mod.ts";

Deno.test("shot groups: Fashion thresholds (many > 1000, few < 200) at and around the edges", () => {
  const t = { many: 1000, few: 200 };
  deepEqual(shotGroups([1001, 1000, 200, 199, 5980, 60], t), [
    "many",
    "medium",
    "medium",
    "few",
    "many",
    "few",
  ]);
  deepEqual(classesByGroup(shotGroups([5980, 774, 60, 3596], t)), {
    many: [0, 3],
    medium: [1],
    few: [2],
  });
});

Deno.test("shot groups: the paper's thresholds are the default (many > 100, few < 20)", () => {
  deepEqual(PAPER_SHOT_THRESHOLDS, { many: 100, few: 20 });
  deepEqual(shotGroups(Int32Array.from([101, 100, 20, 19, 0])), [
    "many",
    "medium",
    "medium",
    "few",
    "few",
  ]);
  throws(() => shotGroups([1], { many: 5, few: 10 }), /Cannot compute shot groups/);
});
