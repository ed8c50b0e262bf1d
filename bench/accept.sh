#!/usr/bin/env bash
# accept.sh - Gatehouse and Postfix accepting mail side by side, same durability (fsync before 250).
#
#   bench/accept.sh            # full matrix: 1/10/100 KiB x 1/20/200 sessions, then 10,000 idle sessions
#   QUICK=1 bench/accept.sh    # 10 KiB x 20 sessions only
#
# Starts (all on loopback, all stopped by PID at the end):
#   - Gatehouse (release build) on 127.0.0.1:2525 with bench/gatehouse-bench.yaml, data in a temp dir
#   - a private Postfix relay from ../shared/bench on 127.0.0.1:2527, relaying to smtp-sink 127.0.0.1:2626
# Then runs, interleaved per configuration:
#   1. ../shared/bench/smtp-bench.py (Postfix's smtp-source as load): accepted msg/s
#   2. bench/latency.py: accepted msg/s and end-of-DATA -> 250 latency p50/p99
#   3. bench/idle-sessions.py: memory of Gatehouse holding 10,000 idle sessions
# Gatehouse does not deliver yet, so its queue is emptied between runs; Postfix drains to the sink.
# Raw rows go to bench/results/*.tsv; copy the figures into docs/performance.md with the command.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
OUT=bench/results
mkdir -p "$OUT"
export PF_LISTEN=127.0.0.1:2527 PF_NEXTHOP=127.0.0.1:2626

"$SHARED/postfix-relay.sh" install >/dev/null
swift build -c release --product gatehouse >/dev/null
BIN=.build/release/gatehouse

DATA=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
"$BIN" serve --config bench/gatehouse-bench.yaml --data "$DATA" 2>"$DATA/log" &
GH=$!
cleanup() {
    kill "$GH" 2>/dev/null || true
    wait "$GH" 2>/dev/null || true
    "$SHARED/postfix-relay.sh" clean >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
trap cleanup EXIT
"$SHARED/postfix-relay.sh" start >/dev/null
for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null && break
    sleep 0.2
done

empty_gatehouse="find $DATA/queue/incoming -type f -delete; echo 0"
if [[ -n "${QUICK:-}" ]]; then SIZES=(10240); SESSIONS=(20); else SIZES=(1024 10240 102400); SESSIONS=(1 20 200); fi

size_args=(); for s in "${SIZES[@]}"; do size_args+=(--size "$s"); done
session_args=(); for s in "${SESSIONS[@]}"; do session_args+=(--sessions "$s"); done

echo "== accepted msg/s (smtp-source load), $(date -u +%FT%TZ), $(nproc) cores"
"$SHARED/smtp-bench.py" --target gatehouse=127.0.0.1:2525 --target postfix=127.0.0.1:2527 \
    --sink 127.0.0.1:2626 "${size_args[@]}" "${session_args[@]}" \
    --count 1024=20000,10240=20000,102400=5000,10000 --repeat "${REPEAT:-3}" --to user@example.test \
    --qsize-cmd "postfix=$SHARED/postfix-relay.sh qsize" --qsize-cmd "gatehouse=$empty_gatehouse" \
    --out "$OUT/accept.tsv"

echo "== end-of-DATA -> 250 latency (bench/latency.py load)"
bench/latency.py --target gatehouse=127.0.0.1:2525 --target postfix=127.0.0.1:2527 \
    "${size_args[@]}" "${session_args[@]}" --count "${LATENCY_COUNT:-4000}" --repeat 1 \
    --between "$empty_gatehouse >/dev/null; while [ \"\$($SHARED/postfix-relay.sh qsize)\" != 0 ]; do sleep 0.5; done" \
    --out "$OUT/latency.tsv"

if [[ -z "${QUICK:-}" ]]; then
    echo "== 10,000 idle sessions"
    bench/idle-sessions.py --target 127.0.0.1:2525 --pid "$GH" --sessions 10000 | tee -a "$OUT/idle.txt"
fi
