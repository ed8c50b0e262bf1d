#!/usr/bin/env bash
# accept.sh - Gatehouse and Postfix accepting mail side by side, same durability (fsync before 250).
#
#   bench/accept.sh            # full matrix: 1/10/100 KiB x 1/20/200 sessions, then 10,000 idle sessions
#   QUICK=1 bench/accept.sh    # 10 KiB x 20 sessions only
#
# Starts (all on loopback, all stopped by PID at the end):
#   - Gatehouse (release build) on 127.0.0.1:2525 with bench/gatehouse-bench.yaml, data in a temp dir
#   - a private Postfix relay from ../shared/bench on 127.0.0.1:2527, relaying to smtp-sink on 127.0.0.1:2626
# Then, alternating targets run by run so both see the same machine noise:
#   1. Postfix's smtp-source as load: accepted msg/s (time until every message got its 250) and
#      the server's CPU ms per message (from /proc; Postfix: all its processes)
#   2. bench/latency.py: end-of-DATA -> 250 latency p50/p99 (and the rate that driver reaches)
#   3. bench/idle-sessions.py: Gatehouse's memory holding 10,000 idle sessions
# Both relay what they accept to the same smtp-sink while accepting (their normal work); each queue
# drains between runs.
# Raw rows go to bench/results/*.tsv; copy the figures into docs/performance.md with the command.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
OUT=bench/results
mkdir -p "$OUT"
export PF_LISTEN=127.0.0.1:2527 PF_NEXTHOP=127.0.0.1:2626

"$SHARED/postfix-relay.sh" install >/dev/null
[[ -n "${NO_BUILD:-}" ]] || swift build -c release --product gatehouse >/dev/null
BIN=.build/release/gatehouse

DATA=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
"$BIN" serve --config bench/gatehouse-bench.yaml --data "$DATA" 2>"$DATA/log" &
GH=$!
sink_user=(); [[ $(id -u) == 0 ]] && sink_user=(-u nobody)
/usr/sbin/smtp-sink "${sink_user[@]}" -m 512 127.0.0.1:2626 1024 >/dev/null 2>&1 &
SINK=$!
cleanup() {
    kill "$GH" "$SINK" 2>/dev/null || true
    wait "$GH" "$SINK" 2>/dev/null || true
    "$SHARED/postfix-relay.sh" clean >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
trap cleanup EXIT
"$SHARED/postfix-relay.sh" start >/dev/null
for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null && break
    sleep 0.2
done

empty_gatehouse() {  # waits until Gatehouse has relayed everything (at most 60 s)
    for _ in $(seq 300); do
        [[ $(find "$DATA/queue/incoming" "$DATA/queue/active" "$DATA/queue/deferred" -type f | wc -l) -eq 0 ]] && return
        sleep 0.2
    done
    echo "warning: Gatehouse's queue did not drain in 60 s"
}
drain_postfix() {
    for _ in $(seq 600); do [[ "$("$SHARED/postfix-relay.sh" qsize)" == 0 ]] && return; sleep 0.5; done
}
# Postfix: the master and every daemon of the private instance (user postfix).
postfix_pids() { echo $(pgrep -f "^/usr/lib/postfix/sbin/master" || true) $(pgrep -u postfix || true); }
cpu_ticks() { local t=0; for p in "$@"; do [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14+$15+$16+$17}' /proc/$p/stat))); done; echo $t; }

if [[ -n "${QUICK:-}" ]]; then SIZES=(10240); SESSIONS=(20); else SIZES=(1024 10240 102400); SESSIONS=(1 20 200); fi
REPEAT=${REPEAT:-3}

echo "== accepted msg/s with smtp-source, $(date -u +%FT%TZ), $(nproc) cores, $REPEAT runs each"
printf "%-10s %7s %8s %6s %9s %11s\n" target size sessions count msg/s cpu_ms/msg | tee -a "$OUT/accept.tsv"
for size in "${SIZES[@]}"; do
    for sessions in "${SESSIONS[@]}"; do
        count=$(( size >= 102400 ? 4000 : 10000 ))
        (( sessions == 1 )) && count=$(( count / 4 ))
        for rep in $(seq "$REPEAT"); do
            for target in gatehouse postfix; do
                if [[ $target == gatehouse ]]; then port=2525; pids=$GH; else port=2527; pids=$(postfix_pids); fi
                c0=$(cpu_ticks $pids); t0=$(date +%s.%N)
                /usr/sbin/smtp-source -s "$sessions" -m "$count" -l "$size" -f bench@bench.test \
                    -t user@example.test "127.0.0.1:$port" >/dev/null 2>&1 || echo "smtp-source: $target exit $?"
                t1=$(date +%s.%N)
                [[ $target == postfix ]] && pids=$(postfix_pids)
                c1=$(cpu_ticks $pids)
                awk -v t="$target" -v s="$size" -v n="$sessions" -v c="$count" -v a="$t0" -v b="$t1" -v u="$((c1 - c0))" \
                    'BEGIN { printf "%-10s %7d %8d %6d %9.0f %11.2f\n", t, s, n, c, c / (b - a), u * 10 / c }' | tee -a "$OUT/accept.tsv"
                if [[ $target == gatehouse ]]; then empty_gatehouse; else drain_postfix; fi
            done
        done
    done
done

echo "== end-of-DATA -> 250 latency (bench/latency.py)"
for size in "${SIZES[@]}"; do
    for sessions in "${SESSIONS[@]}"; do
        for target in gatehouse=127.0.0.1:2525 postfix=127.0.0.1:2527; do
            bench/latency.py --target "$target" --size "$size" --sessions "$sessions" \
                --count "${LATENCY_COUNT:-3000}" --out "$OUT/latency.tsv" | tail -n 1
            empty_gatehouse; drain_postfix
        done
    done
done

if [[ -z "${QUICK:-}" ]]; then
    echo "== 10,000 idle sessions"
    bench/idle-sessions.py --target 127.0.0.1:2525 --pid "$GH" --sessions 10000 | tee -a "$OUT/idle.txt"
fi
