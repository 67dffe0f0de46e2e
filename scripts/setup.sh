#!/usr/bin/env bash
# Installs what ltkit needs on Debian: Deno (pinned, from npm), Mesa's Vulkan drivers (a CPU
# WebGPU adapter when there is no GPU) and the Fashion-MNIST data set. With --test, also what the
# tests need: headless Chromium, which checks the HTML report. Idempotent.
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
