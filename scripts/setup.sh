#!/usr/bin/env bash
# Installs what ltkit needs on Debian: Deno (pinned, from npm), Mesa's Vulkan drivers (a CPU
# WebGPU adapter when there is no GPU) and the Fashion-MNIST data set. With --test, also what the
# tests need: headless Chromium, which checks the HTML report and runs the kernels and the stage-2
# page in its WebGPU (deno task test:browser; playwright-core comes through npm: and downloads no
# browser). Idempotent.
set -euo pipefail

WITH_TEST_TOOLS=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST_TOOLS=1 ;;
    *) echo "setup: unknown argument $arg (use --test to add the test tools)" >&2; exit 2 ;;
  esac
done

DENO_VERSION=2.9.6
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if ! command -v deno >/dev/null 2>&1 || [ "$(deno --version | head -n1 | cut -d' ' -f2)" != "$DENO_VERSION" ]; then
  echo "setup: installing deno@$DENO_VERSION from npm"
  $SUDO npm install -g --no-audit --no-fund "deno@$DENO_VERSION"
fi

# Mesa 25 from bookworm-backports on Debian 12 when no GPU driver is present: its lavapipe runs
# ltkit's training about twice as fast as Debian 12's Mesa 22.3. "No GPU driver" means: no
# /dev/nvidia[0-9]* device, no /dev/dri/renderD* node bound to a real GPU's kernel driver (the
# virtual vgem/vkms nodes do not count), and no Vulkan ICD outside Mesa's libvulkan_*.so in
# /usr/share/vulkan/icd.d or /etc/vulkan/icd.d. A machine with a GPU keeps its drivers as they are.
MESA_MIN=25
gpu_driver=""
for dev in /dev/nvidia[0-9]*; do [ -e "$dev" ] && gpu_driver="$dev"; done
for node in /sys/class/drm/renderD*; do
  [ -e "$node/device/driver" ] || continue
  drv="$(basename "$(readlink -f "$node/device/driver")")"
  case "$drv" in vgem | vkms) ;; *) gpu_driver="$(basename "$node") ($drv)" ;; esac
done
for icd in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do
  [ -e "$icd" ] || continue
  grep -Eq '"library_path"[^,]*libvulkan_[a-z0-9_]+\.so' "$icd" || gpu_driver="$icd"
done
os_id="$(. /etc/os-release && echo "${ID:-}:${VERSION_ID:-}")"
mesa_now="$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
if [ "$os_id" != "debian:12" ]; then
  echo "setup: Mesa upgrade skipped: not Debian 12 ($os_id)"
elif [ -n "$gpu_driver" ]; then
  echo "setup: Mesa upgrade skipped: a GPU driver is present ($gpu_driver)"
elif [ -n "$mesa_now" ] && dpkg --compare-versions "$mesa_now" ge "$MESA_MIN"; then
  echo "setup: mesa-vulkan-drivers $mesa_now is already >= $MESA_MIN"
else
  if ! grep -Eqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources; then
    echo "setup: adding bookworm-backports to /etc/apt/sources.list.d/bookworm-backports.list"
    echo "deb http://deb.debian.org/debian bookworm-backports main" |
      $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
  fi
  echo "setup: installing mesa-vulkan-drivers from bookworm-backports (was ${mesa_now:-not installed})"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers
  echo "setup: mesa-vulkan-drivers is now $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
fi

need=()
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || need+=(dataset-fashion-mnist)
dpkg -s libturbojpeg0 >/dev/null 2>&1 || need+=(libturbojpeg0) # JPEG decoding for deno task pack
if [ "$WITH_TEST_TOOLS" = 1 ]; then
  dpkg -s chromium >/dev/null 2>&1 || need+=(chromium)
  dpkg -s libjpeg-turbo-progs >/dev/null 2>&1 || need+=(libjpeg-turbo-progs) # cjpeg/djpeg for tests
fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

# --test: a Python virtual environment at .venv/ with pyarrow, polars and DuckDB, in which
# tests/features/interop_test.ts runs the README's snippets on a real feature dump. A venv
# because Debian's system Python refuses `pip install` outside one; pinned so that reruns skip.
if [ "$WITH_TEST_TOOLS" = 1 ]; then
  VENV="$(cd "$(dirname "$0")/.." && pwd)/.venv"
  PY_PINS=(pyarrow==25.0.1 polars==1.44.2 duckdb==1.5.6 numpy==2.4.6)
  venv_has_pins() {
    [ -x "$VENV/bin/python" ] || return 1
    local frozen
    frozen="$("$VENV/bin/python" -m pip freeze 2>/dev/null)" || return 1
    for pin in "${PY_PINS[@]}"; do grep -qix "$pin" <<<"$frozen" || return 1; done
  }
  if venv_has_pins; then
    echo "setup: $VENV already has ${PY_PINS[*]}"
  else
    if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
      if ! command -v python3 >/dev/null 2>&1; then
        echo "setup: installing python3 with apt"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3
      fi
      echo "setup: creating a Python virtual environment at $VENV"
      rm -rf "$VENV"
      if ! python3 -m venv "$VENV"; then
        # Debian's python3 makes venvs only with python3-venv (ensurepip and its wheels).
        echo "setup: installing python3-venv with apt, for python3 -m venv"
        rm -rf "$VENV"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
        python3 -m venv "$VENV"
      fi
    fi
    echo "setup: installing ${PY_PINS[*]} with pip into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PY_PINS[@]}"
    venv_has_pins || { echo "setup: $VENV still lacks one of ${PY_PINS[*]}" >&2; exit 1; }
  fi
fi

# --test: cache playwright-core (npm) now, so that the browser tests need no network later.
if [ "$WITH_TEST_TOOLS" = 1 ]; then
  (cd "$(dirname "$0")/.." && deno cache scripts/_deps.ts)
fi
