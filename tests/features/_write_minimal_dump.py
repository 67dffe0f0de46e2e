"""Writes a feature dump as another tool would: pyarrow only, no ltkit metadata.

Usage: python _write_minimal_dump.py DIR [--no-classifier]

Class c of C = 4 is a blob around a one-hot-like centre in D = 6 dimensions; train has a long tail
(40, 16, 7, 3 rows). train.arrow stores float16 features and int64 labels and indices, val.arrow
has no index column, test.arrow float32 features and int32 labels. classifier.arrow holds the
class means as weights (no bias, no class column).
"""

import random
import sys

import pyarrow as pa

C, D = 4, 6
COUNTS = {"train": [40, 16, 7, 3], "val": [5, 5, 5, 5], "test": [9, 9, 9, 9]}


def centre(c):
    return [2.0 if k == c else (0.5 if k == (c + 1) % D else 0.0) for k in range(D)]


def rows(split, rng):
    out = []
    for c, n in enumerate(COUNTS[split]):
        for _ in range(n):
            out.append((c, [v + rng.gauss(0, 0.5) for v in centre(c)]))
    rng.shuffle(out)
    return out


def write(path, table):
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def main():
    out = sys.argv[1]
    rng = random.Random(7)
    means = [[0.0] * D for _ in range(C)]
    for split, label_type, feature_type, with_index in [
        ("train", pa.int64(), pa.float16(), True),
        ("val", pa.int64(), pa.float32(), False),
        ("test", pa.int32(), pa.float32(), True),
    ]:
        data = rows(split, rng)
        labels = [c for c, _ in data]
        flat = [v for _, x in data for v in x]
        if split == "train":
            for c, x in data:
                for k in range(D):
                    means[c][k] += x[k] / COUNTS["train"][c]
        columns = {
            "label": pa.array(labels, label_type),
            "feature": pa.FixedSizeListArray.from_arrays(pa.array(flat, feature_type), D),
        }
        if with_index:
            columns = {"index": pa.array(range(100, 100 + len(data)), pa.int64()), **columns}
        write(f"{out}/{split}.arrow", pa.table(columns))
    if "--no-classifier" not in sys.argv:
        weight = pa.FixedSizeListArray.from_arrays(
            pa.array([v for m in means for v in m], pa.float32()), D
        )
        write(f"{out}/classifier.arrow", pa.table({"weight": weight}))


main()
