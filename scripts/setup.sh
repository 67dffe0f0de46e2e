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
if [ "$WITH_TEST_TOOLS" = 1 ]; then
  dpkg -s chromium >/dev/null 2>&1 || need+=(chromium)
fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
