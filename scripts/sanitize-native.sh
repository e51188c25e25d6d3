#!/usr/bin/env bash
# Builds the addon's hashing code (native/sha256_*.cc, cpu_features.cc) with
# AddressSanitizer and UndefinedBehaviorSanitizer into a standalone harness
# (scripts/sanitize-driver.cc) and runs it: every implementation this CPU
# runs, exact-size heap buffers, compared with the generic code. Any ASan or
# UBSan report fails the run (halt_on_error). See docs/reliability.md.
#
#   bash scripts/sanitize-native.sh [iterations]    (npm run sanitize:native)
#
# Needs g++ or clang++ with the sanitizer runtimes (Debian: libasan8,
# libubsan1, installed with g++). Not part of `npm test`: run on demand.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX="${CXX:-g++}"
OUT="${TMPDIR:-/tmp}/headframe-sanitize"
mkdir -p "$OUT"
FLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror)
X86=()
case "$(uname -m)" in x86_64 | amd64) X86=(-DHEADFRAME_X86) ;; esac

objects=()
compile() { # source, extra flags...
  local src="$1"; shift
  local obj="$OUT/$(basename "$src" .cc).o"
  "$CXX" "${FLAGS[@]}" "${X86[@]}" "$@" -c "$src" -o "$obj"
  objects+=("$obj")
}
compile native/sha256_generic.cc
compile native/cpu_features.cc
if [ ${#X86[@]} -gt 0 ]; then
  compile native/sha256_shani.cc -msha -msse4.1 -mssse3
  compile native/sha256_avx2.cc -mavx2
  compile native/sha256_avx512.cc -mavx512f -mavx512vl
fi
compile scripts/sanitize-driver.cc
"$CXX" "${FLAGS[@]}" "${objects[@]}" -o "$OUT/sanitize-driver"
echo "built $OUT/sanitize-driver with $("$CXX" --version | head -1), -fsanitize=address,undefined"
ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "$OUT/sanitize-driver" "${1:-2000}"
echo "sanitizers: no report"
