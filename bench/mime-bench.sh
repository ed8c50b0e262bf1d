#!/usr/bin/env bash
# MIME engine benchmark: parse + decode + hash + text extraction throughput over shared/corpus on
# one core (release build), and peak memory while parsing a generated 50 MB single-attachment
# message.
#
#   bench/mime-bench.sh [ROUNDS]      (default 5; the best round is reported)
#
# Environment: MIME_PACKAGE_DIR — package that declares the mime-dump product (default: the
# repository); MIME_BUILD_FLAGS — extra `swift build` flags (e.g. "-j 1 --scratch-path .build-mime"
# on a shared machine); BENCH_CPU — the core to pin to (default 0). Output: two lines per
# measurement, also appended to bench/results/mime.txt.
set -euo pipefail
rounds="${1:-5}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
pkg="${MIME_PACKAGE_DIR:-$repo}"
shared="$(cd "$repo/../shared" && pwd)"
build_flags=(${MIME_BUILD_FLAGS:-})
(cd "$pkg" && swift build -c release "${build_flags[@]}" --product mime-dump >/dev/null)
bin="$(cd "$pkg" && swift build -c release "${build_flags[@]}" --show-bin-path)/mime-dump"
mkdir -p "$repo/bench/results"
{
  echo "== $(date -u +%FT%TZ) $(uname -m) rounds=$rounds"
  taskset -c "${BENCH_CPU:-0}" "$bin" --bench "$rounds" "$shared/corpus/ham" "$shared/corpus/spam"
  taskset -c "${BENCH_CPU:-0}" "$bin" --big 50
} | tee -a "$repo/bench/results/mime.txt"
