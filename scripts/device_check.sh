#!/usr/bin/env bash
# A ready GPU check for a Linux machine (meant for one with an NVIDIA GPU) that reaches no
# package registry. It runs from carried files only, made here beforehand with --pack:
#
#   .deno/deno.xz                 Deno 2.9.6, xz-packed
#   .deno/deno_dir.tar.xz         a DENO_DIR holding the npm dependencies (no tfjs)
#   .deno/libvulkan1_*.deb        the Vulkan loader, unpacked only where ldconfig lacks it
#   .deno/fashion-mnist/*.xz      Fashion-MNIST, train images not used by the long-tailed
#                                 profile blanked (they compress to nothing; the profile's
#                                 seeded selection reads only the labels, so it is unchanged)
#
#   bash scripts/device_check.sh --pack     # here: build .deno/, print sizes (at most 60 MiB)
#   bash scripts/device_check.sh [OUTDIR]   # there: the check; OUTDIR defaults to $OUT
#
# The check, at most 5 minutes in all, each part under its own timeout so a slow part cannot eat
# the rest, each writing its figures to OUTDIR (summary.txt grows as parts finish):
#   1. the GPU kernel tests (tests/ops, tests/nn, tests/gpu but the HTTP-import one, stage-2
#      classifier kernels);
#   2. `bench --quick --timings` (per-kernel table of one ResNet-8 step; no tfjs peer there);
#   3. the `paper` preset; on a software adapter it is far too slow, so it is capped to one
#      epoch of 20 steps and 1000 evaluation images, and summary.txt says so;
#   4. where PyTorch with CUDA is present, the same ResNet-8 training step (batch 128) in
#      PyTorch eager, as the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PACK="$ROOT/.deno"
DENO_VERSION=2.9.6
MAX_PACK_BYTES=$((60 * 1024 * 1024))
PROFILE=fashion-mnist-lt-100
DATA_FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
KERNEL_TESTS=(tests/ops/ tests/nn/ tests/gpu/device_test.ts tests/gpu/kernel_test.ts
  tests/gpu/tensor_test.ts tests/gpu/timing_test.ts)
TOTAL_SECONDS="${DEVICE_CHECK_SECONDS:-295}" # the whole check; a smaller value tries the time-outs

say() { echo "device_check: $*" >&2; }

# xz -d, or Python's lzma where xz is missing.
unxz_to() { # file.xz out
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1" >"$2"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

pack() {
  local deno_bin version
  deno_bin="$(command -v deno)"
  version="$(deno --version | head -n1 | cut -d' ' -f2)"
  if [ "$version" != "$DENO_VERSION" ]; then
    say "cannot pack: deno is $version, the check needs $DENO_VERSION (bash scripts/setup.sh)"
    exit 1
  fi
  mkdir -p "$PACK"
  if [ ! -s "$PACK/deno.xz" ] || [ "$(readlink -f "$deno_bin")" -nt "$PACK/deno.xz" ]; then
    say "packing $(readlink -f "$deno_bin") into .deno/deno.xz"
    xz -9 -T2 -c "$(readlink -f "$deno_bin")" >"$PACK/deno.xz.part"
    mv "$PACK/deno.xz.part" "$PACK/deno.xz"
  fi

  # Only the kit's own npm dependencies (those lib/ imports) go: tfjs, the bench's lazily loaded
  # peer, and the JPEG decoders of the JPEG bench stay behind. Deno installs every package a
  # lock file lists, so the check gets a lock file with only those and what they need.
  say "writing .deno/deno.lock: deno.lock with only the npm packages lib/ imports"
  python3 - deno.lock "$PACK/deno.lock" <<'PY'
import json, pathlib, re, sys
lock = json.load(open(sys.argv[1]))
name = lambda key: key[: key.index("@", 1)]
used = {m for f in pathlib.Path("lib").rglob("*.ts")
        for m in re.findall(r'npm:((?:@[^/@"]+/)?[^/@"]+)@', f.read_text())}
lock["specifiers"] = {k: v for k, v in lock["specifiers"].items() if name(k[len("npm:"):]) in used}
by_name = {name(key): key for key in lock["npm"]}
todo = [by_name[name(k[len("npm:"):])] for k in lock["specifiers"] if k.startswith("npm:")]
kept = set()
while todo:
    key = todo.pop()
    if key not in kept:
        kept.add(key)
        entry = lock["npm"][key]
        todo += [by_name[d] for d in entry.get("dependencies", []) + entry.get("optionalDependencies", [])]
lock["npm"] = {k: v for k, v in lock["npm"].items() if k in kept}
json.dump(lock, open(sys.argv[2], "w"), indent=2)
PY
  say "caching the npm dependencies into a fresh DENO_DIR"
  local build="$PACK/deno_dir.build"
  rm -rf "$build"
  # scripts/bench.ts is left out: its graph holds the lazy tfjs import. It needs nothing more.
  DENO_DIR="$build" deno cache --quiet --frozen --lock="$PACK/deno.lock" mod.ts scripts/train.ts \
    "${KERNEL_TESTS[@]}" tests/_gpu.ts
  tar -C "$build" -cf - . | xz -9 -T2 >"$PACK/deno_dir.tar.xz.part"
  mv "$PACK/deno_dir.tar.xz.part" "$PACK/deno_dir.tar.xz"
  rm -rf "$build"

  say "downloading the Vulkan loader (libvulkan1) with apt-get download"
  rm -f "$PACK"/libvulkan1_*.deb
  # In a folder apt's own user may write to, so that apt does not warn.
  local debs
  debs="$(mktemp -d)"
  chmod 777 "$debs"
  (cd "$debs" && apt-get download -qq libvulkan1)
  mv "$debs"/libvulkan1_*.deb "$PACK/"
  rm -rf "$debs"

  say "packing Fashion-MNIST with the images $PROFILE does not use blanked"
  rm -rf "$PACK/fashion-mnist"
  mkdir -p "$PACK/fashion-mnist"
  local helper
  helper="$(mktemp --suffix=.ts)"
  cat >"$helper" <<EOF
import { loadLongTail } from "$ROOT/lib/data/source.ts";
import { findFashionMnist } from "$ROOT/lib/data/fashion_mnist.ts";
const [outDir] = Deno.args;
const splits = await loadLongTail("$PROFILE");
const used = new Set([...splits.train.indices, ...splits.val.indices]);
const where = findFashionMnist({}).files;
const read = async (path: string) => {
  const bytes = await Deno.readFile(path);
  if (!path.endsWith(".gz")) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
};
const images = await read(where.trainImages);
const pixels = 28 * 28;
for (let i = 0; i < 60000; i++) if (!used.has(i)) images.fill(0, 16 + i * pixels, 16 + (i + 1) * pixels);
await Deno.writeFile(\`\${outDir}/train-images-idx3-ubyte\`, images);
await Deno.writeFile(\`\${outDir}/train-labels-idx1-ubyte\`, await read(where.trainLabels));
await Deno.writeFile(\`\${outDir}/t10k-images-idx3-ubyte\`, await read(where.testImages));
await Deno.writeFile(\`\${outDir}/t10k-labels-idx1-ubyte\`, await read(where.testLabels));
console.error(\`kept \${used.size} of 60000 training images (train + validation of $PROFILE)\`);
EOF
  deno run --quiet --allow-read --allow-write="$PACK/fashion-mnist" --allow-env "$helper" \
    "$PACK/fashion-mnist"
  rm -f "$helper"
  for f in "${DATA_FILES[@]}"; do xz -9 -T2 -f "$PACK/fashion-mnist/$f"; done

  local total=0 size
  for f in "$PACK"/deno.xz "$PACK"/deno_dir.tar.xz "$PACK"/deno.lock "$PACK"/libvulkan1_*.deb \
    "$PACK"/fashion-mnist/*.xz; do
    size=$(stat -c %s "$f")
    total=$((total + size))
    printf 'device_check: %8.2f MiB  %s\n' "$(echo "$size / 1048576" | bc -l)" "${f#"$ROOT"/}" >&2
  done
  printf 'device_check: %8.2f MiB  in all (limit 60 MiB)\n' "$(echo "$total / 1048576" | bc -l)" >&2
  if [ "$total" -gt "$MAX_PACK_BYTES" ]; then
    say "the packed files exceed 60 MiB"
    exit 1
  fi
}

if [ "${1:-}" = "--pack" ]; then
  pack
  exit 0
fi

# ---- the check ----
STARTED=$(date +%s)
OUTDIR="${1:-${OUT:-}}"
if [ -z "$OUTDIR" ]; then
  say "cannot run: give an output folder (bash scripts/device_check.sh OUTDIR) or set OUT"
  exit 2
fi
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
for f in "$PACK/deno.xz" "$PACK/deno_dir.tar.xz" "$PACK/deno.lock"; do
  if [ ! -s "$f" ]; then
    say "cannot run: $f is missing; make it with bash scripts/device_check.sh --pack"
    exit 2
  fi
done
SUMMARY="$OUTDIR/summary.txt"
: >"$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY" >&2; }
elapsed() { echo $(($(date +%s) - STARTED)); }
# Seconds a part may take: its cap, or what is left of the total less what later parts keep.
budget() { # cap reserve
  local left=$((TOTAL_SECONDS - $(elapsed) - $2))
  if [ "$left" -lt "$1" ]; then echo $((left > 5 ? left : 5)); else echo "$1"; fi
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
unxz_to "$PACK/deno.xz" "$WORK/deno"
chmod +x "$WORK/deno"
DENO="$WORK/deno"
cp "$PACK/deno.lock" "$WORK/deno.lock"
export DENO_DIR="$WORK/deno_dir"
mkdir -p "$DENO_DIR"
unxz_to "$PACK/deno_dir.tar.xz" "$WORK/deno_dir.tar"
tar -C "$DENO_DIR" -xf "$WORK/deno_dir.tar"
rm -f "$WORK/deno_dir.tar"
DATA_DIR="$WORK/fashion-mnist"
mkdir -p "$DATA_DIR"
for f in "${DATA_FILES[@]}"; do
  [ -s "$PACK/fashion-mnist/$f.xz" ] && unxz_to "$PACK/fashion-mnist/$f.xz" "$DATA_DIR/$f"
done
export XDG_RUNTIME_DIR="$WORK/xdg"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1

if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  deb="$(ls "$PACK"/libvulkan1_*.deb 2>/dev/null | head -n1 || true)"
  if [ -n "$deb" ]; then
    if command -v dpkg >/dev/null 2>&1; then
      dpkg -x "$deb" "$WORK/vulkan"
    else
      (mkdir -p "$WORK/vulkan" && cd "$WORK/vulkan" && ar x "$deb" && tar -xf data.tar.*)
    fi
    lib="$(dirname "$(find "$WORK/vulkan" -name 'libvulkan.so.1*' | head -n1)")"
    export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    note "vulkan loader: not installed; using the carried $(basename "$deb")"
  else
    note "vulkan loader: not installed and none carried"
  fi
fi
# A container may get NVIDIA's Vulkan driver library without its ICD file: point the loader at it.
if ls /dev/nvidia[0-9]* >/dev/null 2>&1 && ! grep -qls nvidia /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null; then
  glx="$(ldconfig -p 2>/dev/null | grep -o '/[^ ]*libGLX_nvidia\.so\.0' | head -n1 || true)"
  if [ -n "$glx" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' \
      "$glx" >"$WORK/nvidia_icd.json"
    export VK_ICD_FILENAMES="$WORK/nvidia_icd.json" VK_DRIVER_FILES="$WORK/nvidia_icd.json"
    note "vulkan driver: no NVIDIA ICD file; wrote one for $glx"
  fi
fi

note "device check $(date -u +%FT%TZ) on $(uname -n); deno $("$DENO" --version | head -n1 | cut -d' ' -f2)"
command -v nvidia-smi >/dev/null 2>&1 &&
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu: /' |
  tee -a "$SUMMARY" >&2 || true

cat >"$WORK/adapter.ts" <<'EOF'
const adapter = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
const info = adapter?.info;
const summary = {
  description: info?.description || info?.device || null,
  vendor: info?.vendor ?? null,
  architecture: info?.architecture ?? null,
  fallback: Boolean(info?.isFallbackAdapter),
  features: adapter ? [...adapter.features].sort() : [],
};
Deno.writeTextFileSync(Deno.args[0], JSON.stringify(summary, null, 2) + "\n");
// For the shell: the fallback flag, then the description.
console.log(`${summary.fallback ? 1 : 0} ${summary.description ?? "none"}`);
EOF
line="$("$DENO" run --quiet --cached-only --lock="$WORK/deno.lock" --allow-write="$OUTDIR" \
  "$WORK/adapter.ts" "$OUTDIR/adapter.json" 2>"$OUTDIR/adapter.log" || echo "1 none")"
FALLBACK="${line%% *}"
ADAPTER="${line#* }"
note "adapter: $ADAPTER$([ "$FALLBACK" = 1 ] && echo ' (software fallback)')"
if [ "$ADAPTER" = none ]; then
  note "FAILED: WebGPU found no adapter (see adapter.log)"
  exit 1
fi

FAILED=0
# Runs a part under its timeout; logs to OUTDIR/<name>.log; notes how it ended. A time-out fails
# the check unless SLOW_OK=1 (the paper preset: what it printed until then are its figures).
part() { # name seconds command...
  local name="$1" seconds="$2" t0 rc
  shift 2
  t0=$(date +%s)
  set +e
  timeout --kill-after=5 "$seconds" "$@" >"$OUTDIR/$name.out" 2>"$OUTDIR/$name.log"
  rc=$?
  set -e
  local took=$(($(date +%s) - t0))
  if [ "$rc" = 0 ]; then
    note "$name: ok in ${took}s"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    note "$name: TIMED OUT after ${took}s (limit ${seconds}s)"
    [ "${SLOW_OK:-0}" = 1 ] || FAILED=1
  else
    note "$name: FAILED (exit $rc) in ${took}s; see $name.log"
    FAILED=1
  fi
  return 0
}

# 1. Kernel tests (no type check: CI checks types; the check measures the kernels).
part tests "$(budget 130 150)" "$DENO" test --no-check --cached-only --lock="$WORK/deno.lock" --allow-all "${KERNEL_TESTS[@]}"
grep -E '^(ok|FAILED) \|' "$OUTDIR/tests.out" "$OUTDIR/tests.log" 2>/dev/null | sed 's/^[^:]*:/tests: /' |
  tee -a "$SUMMARY" >&2 || true

# 2. Bench, quick, with the per-kernel table.
part bench "$(budget 75 75)" "$DENO" run --cached-only --lock="$WORK/deno.lock" --allow-all scripts/bench.ts --quick --timings --json
python3 - "$OUTDIR/bench.out" 2>/dev/null <<'EOF' | tee -a "$SUMMARY" >&2 || true
import json, sys
report = json.load(open(sys.argv[1]))
for r in report["rows"]:
    if r.get("section") == "timings" and not r["name"].startswith("family"):
        continue
    print(f"bench: {r.get('section')}: {r['name']}: {r['value']:.4g} {r['unit']}" +
          (f" ({r['note']})" if r.get("note") and r.get("section") == "timings" else ""))
EOF

# 3. The paper preset (capped on a software adapter), into OUTDIR/paper.
PAPER_FLAGS=(--preset paper)
if [ "$FALLBACK" = 1 ]; then
  PAPER_FLAGS+=(--epochs 1 --steps-per-epoch 20 --eval-limit 1000)
  note "paper: software adapter, so capped to 1 epoch of 20 steps and 1000 evaluation images"
fi
rm -rf "$OUTDIR/paper"
SLOW_OK=1 part paper "$(budget 240 35)" "$DENO" run --cached-only --lock="$WORK/deno.lock" --allow-all scripts/train.ts \
  "${PAPER_FLAGS[@]}" --data-dir "$DATA_DIR" --out "$OUTDIR/paper"
{
  tr '\r' '\n' <"$OUTDIR/paper.log" | grep -E 'stage 1 epoch [0-9]+/[0-9]+:|ltkit: done in' | tail -n 3
  grep -E '^(method|Joint|NCM|cRT|LWS|tau-norm|Logit)' "$OUTDIR/paper.out"
  python3 - "$OUTDIR/paper/run.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
print("stage timings: " + ", ".join(f"{t['stage']} {t['seconds']:.1f} s" for t in run["timings"]))
PY
} 2>/dev/null | sed 's/^/paper: /' | tee -a "$SUMMARY" >&2 || true

# 4. PyTorch eager on CUDA, the same ResNet-8 step, where present.
if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
  cat >"$WORK/torch_step.py" <<'EOF'
# ResNet-8 of RECIPE.md (28x28x1, widths 16/32/64, one basic block per stage), batch 128,
# SGD momentum 0.9, weight decay 5e-4: images/s of the training step in PyTorch eager on CUDA.
import json, time, torch, torch.nn as nn, torch.nn.functional as F

class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(cout)
        s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(cout)
        s.short = None
        if stride != 1 or cin != cout:
            s.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
    def forward(s, x):
        y = s.b2(s.c2(F.relu(s.b1(s.c1(x)))))
        return F.relu(y + (s.short(x) if s.short is not None else x))

net = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                    Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)).cuda()
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
x = torch.randn(128, 1, 28, 28, device="cuda"); y = torch.randint(0, 10, (128,), device="cuda")
def step():
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    opt.step()
for _ in range(10): step()
torch.cuda.synchronize()
times = []
for _ in range(5):
    t0 = time.perf_counter()
    for _ in range(20): step()
    torch.cuda.synchronize()
    times.append((time.perf_counter() - t0) / 20)
ms = sorted(times)[2] * 1000
print(json.dumps({"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                  "ms_per_step": ms, "images_per_s": 128 / ms * 1000}))
EOF
  part torch "$(budget 30 0)" python3 "$WORK/torch_step.py"
  python3 - "$OUTDIR/torch.out" 2>/dev/null <<'PY' | tee -a "$SUMMARY" >&2 || true
import json, sys
r = json.load(open(sys.argv[1]))
print(f"torch: ResNet-8 step, batch 128, {r['images_per_s']:.0f} images/s "
      f"({r['ms_per_step']:.2f} ms) on {r['device']}, torch {r['torch']}")
PY
else
  note "torch: no PyTorch with CUDA here; no baseline"
fi

note "device check: $([ "$FAILED" = 0 ] && echo passed || echo FAILED) in $(elapsed)s; figures in $OUTDIR"
exit "$FAILED"
