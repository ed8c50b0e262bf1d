#!/usr/bin/env bash
# scan-corpus.sh - messages per second through the full content scan (MIME + spam rules + Bayes,
# no anti-virus, no network) over ../shared/corpus on one core (issue "Policy and scanning").
#
#   bench/scan-corpus.sh            # NO_BUILD=1 to use the release binary already built
#
# Trains a Bayes database on the whole corpus (`gatehouse spam train`), then times
# `gatehouse spam score` over every message pinned to one CPU (taskset), once with one message to
# subtract the start-up (rule compilation, database load). CPU time (user + system) is what counts;
# wall time is printed too. Results: bench/results/scan-corpus.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-../shared/corpus}
OUT=bench/results
mkdir -p "$OUT"
[[ -n "${NO_BUILD:-}" ]] || swift build -c release --product gatehouse >/dev/null
BIN=.build/release/gatehouse
DATA=$(mktemp -d /tmp/gatehouse-scan-corpus.XXXXXX)
trap 'rm -rf "$DATA"' EXIT
"$BIN" spam train --spam "$CORPUS/spam" --ham "$CORPUS/ham" --data "$DATA" >/dev/null
mapfile -t FILES < <(find "$CORPUS/spam" "$CORPUS/ham" -name '*.eml' | sort)
cpu() {  # prints "user+system wall" seconds of one command on CPU 0
    local t
    t=$( { /usr/bin/time -f "%U %S %e" taskset -c 0 "$BIN" spam score --data "$DATA" "$@" >/dev/null; } 2>&1 | tail -1)
    awk '{printf "%.3f %.3f\n", $1 + $2, $3}' <<<"$t"
}
read -r base_cpu base_wall < <(cpu "${FILES[0]}")
read -r all_cpu all_wall < <(cpu "${FILES[@]}")
n=${#FILES[@]}
{
    echo "== full content scan (MIME + rules + Bayes), one core, $(date -u +%FT%TZ), $(git rev-parse --short HEAD)"
    echo "messages: $n ($(du -sh "$CORPUS" | cut -f1) corpus), start-up: ${base_cpu}s CPU"
    awk -v n="$n" -v a="$all_cpu" -v b="$base_cpu" -v w="$all_wall" \
        'BEGIN { printf "CPU for %d messages: %.2fs (wall %.2fs) -> %.0f msg/s per core, %.2f ms/msg\n", n, a - b, w, n / (a - b), 1000 * (a - b) / n }'
} | tee -a "$OUT/scan-corpus.txt"
