#!/usr/bin/env bash
# Installs what ltkit needs on Debian: Deno (pinned, from npm), Mesa's Vulkan drivers (a CPU
# WebGPU adapter when there is no GPU) and the Fashion-MNIST data set. Idempotent.
set -euo pipefail

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
# Headless Chromium checks the HTML report in the tests; the kit itself does not need it.
if [ "${LTKIT_SETUP_TEST:-1}" = 1 ]; then
  dpkg -s chromium >/dev/null 2>&1 || need+=(chromium)
fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
