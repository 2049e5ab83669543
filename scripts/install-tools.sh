#!/usr/bin/env bash
# Installs the system profilers the xtask drives (and its tests run for real):
# perf, heaptrack, valgrind (massif, memcheck, callgrind, ms_print).
# Used by .ci/run and suggested by `cargo xtask doctor`. Safe to re-run.
#
#   scripts/install-tools.sh                 # what is missing, nothing else
#   scripts/install-tools.sh --fast-addr2line  # also gimli's addr2line: not needed for inline frames
#                                              # (read in process), only for the test comparing them with perf's
set -euo pipefail

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

case "$(uname -s)" in
  Darwin)
    xcrun xctrace version >/dev/null 2>&1 || echo "install Xcode (or its command line tools: xcode-select --install) for xctrace"
    exit 0 ;;
esac

missing=()
command -v perf >/dev/null 2>&1 || missing+=(perf)
command -v heaptrack >/dev/null 2>&1 && command -v heaptrack_print >/dev/null 2>&1 || missing+=(heaptrack)
command -v valgrind >/dev/null 2>&1 && command -v ms_print >/dev/null 2>&1 || missing+=(valgrind)
# objdump disassembles the hottest functions into a flamegraph's annotate/.
command -v objdump >/dev/null 2>&1 || missing+=(binutils)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if command -v apt-get >/dev/null 2>&1; then
    packages=()
    for tool in "${missing[@]}"; do
      case "$tool" in
        perf)
          if grep -qi ubuntu /etc/os-release 2>/dev/null; then packages+=(linux-tools-common linux-tools-generic)
          else packages+=(linux-perf); fi ;;
        *) packages+=("$tool") ;;
      esac
    done
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq "${packages[@]}" >/dev/null
  elif command -v dnf >/dev/null 2>&1; then
    sudo_if_needed dnf install -y "${missing[@]}"
  elif command -v pacman >/dev/null 2>&1; then
    sudo_if_needed pacman -S --noconfirm "${missing[@]}"
  else
    echo "no supported package manager: install ${missing[*]} by hand" >&2
    exit 1
  fi
fi

if [ "${1:-}" = "--fast-addr2line" ]; then
  # Into cargo's bin directory, where the test looks (binutils' stays first
  # on PATH if it was). Its version line names GNU for binutils' only.
  if ! "${CARGO_HOME:-$HOME/.cargo}/bin/addr2line" --version 2>/dev/null | head -1 | grep -qv GNU; then
    cargo install addr2line --features bin --locked
  fi
fi

for tool in perf heaptrack valgrind; do
  printf '%-10s %s\n' "$tool" "$(command -v "$tool" || echo MISSING)"
done
