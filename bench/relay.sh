#!/usr/bin/env bash
# relay.sh - end-to-end relay, Gatehouse and Postfix side by side (issue "Mail path II" benchmark).
#
#   bench/relay.sh             # 1, 10 and 100 KiB, 20 sessions, 3 runs each
#   QUICK=1 bench/relay.sh     # 10 KiB only
#   SIZE_LIST="1048576" bench/relay.sh   # other sizes, in bytes (1 MiB: 1,000 messages per run)
#
#   smtp-source --> Gatehouse 127.0.0.1:2525 --\
#                                                >--> smtp-sink 127.0.0.1:2626 (the "internal server")
#   smtp-source --> Postfix   127.0.0.1:2527 --/
#
# Both fsync every message before the 250 and deliver from their queue. ../shared/bench/smtp-bench.py
# runs the targets interleaved, counts arrivals at the sink and waits for each queue to drain.
# Raw rows: bench/results/relay.tsv. Copy the figures into docs/performance.md with this command.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
OUT=bench/results
mkdir -p "$OUT"
export PF_LISTEN=127.0.0.1:2527 PF_NEXTHOP=127.0.0.1:2626

"$SHARED/postfix-relay.sh" install >/dev/null
[[ -n "${NO_BUILD:-}" ]] || swift build -c release --product gatehouse >/dev/null
BIN=.build/release/gatehouse

DATA=$(mktemp -d /tmp/gatehouse-relay.XXXXXX)
"$BIN" serve --config bench/gatehouse-relay.yaml --data "$DATA" 2>"$DATA/log" &
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

if [[ -n "${SIZE_LIST:-}" ]]; then
    SIZES=(); for size in $SIZE_LIST; do SIZES+=(--size "$size"); done
elif [[ -n "${QUICK:-}" ]]; then SIZES=(--size 10240); else SIZES=(--size 1024 --size 10240 --size 102400); fi
echo "== end-to-end relay, $(date -u +%FT%TZ), $(nproc) cores"
"$SHARED/smtp-bench.py" --target gatehouse=127.0.0.1:2525 --target postfix=127.0.0.1:2527 --target wire=sink \
    --sink 127.0.0.1:2626 "${SIZES[@]}" --sessions 20 --count "1024=20000,10240=20000,102400=5000,1048576=1000,10000" \
    --repeat "${REPEAT:-3}" --from bench@bench.test --to user@example.test \
    --qsize-cmd "postfix=$SHARED/postfix-relay.sh qsize" \
    --qsize-cmd "gatehouse=find $DATA/queue/incoming $DATA/queue/active $DATA/queue/deferred -type f | wc -l" \
    --out "$OUT/relay.tsv"
echo "== Gatehouse deferred or bounced during the runs (should be 0):"
grep -cE "status=(deferred|bounced)" "$DATA/log" || true
