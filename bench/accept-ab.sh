#!/usr/bin/env bash
# accept-ab.sh - interleaved A/B of two release builds of the gateway accepting (and relaying) mail:
# the only way to see changes of a few percent on a machine whose rates move +-25% within minutes.
#
#   bench/accept-ab.sh OLD_BINARY NEW_BINARY [ROUNDS]      # default 4 rounds
#
# Each round, for OLD then NEW: a fresh gateway with bench/gatehouse-bench.yaml (relaying to an
# smtp-sink on 127.0.0.1:2626, as in bench/accept.sh), 1,000 warm-up messages, then
# `smtp-source -s 20 -m 10000 -l 10240` (accepted msg/s, and the gateway's user+system CPU and
# context switches per message from /proc), then `bench/latency.py --size 10240 --sessions 20
# --count 2000` (msg/s, p50, p90, p99, max in ms, errors). Everything started here is stopped here.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?old binary}; new=${2:?new binary}; rounds=${3:-4}
sink_user=(); [[ $(id -u) == 0 ]] && sink_user=(-u nobody)
/usr/sbin/smtp-sink "${sink_user[@]}" -m 512 127.0.0.1:2626 1024 >/dev/null 2>&1 &
SINK=$!
trap 'kill $SINK 2>/dev/null || true' EXIT
switches() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }
for round in $(seq "$rounds"); do
    for v in old new; do
        bin=$old; [[ $v == new ]] && bin=$new
        data=$(mktemp -d /tmp/gatehouse-ab.XXXXXX)
        "$bin" serve --config bench/gatehouse-bench.yaml --data "$data" 2>"$data/log" &
        gh=$!
        for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null && break; sleep 0.2; done
        /usr/sbin/smtp-source -s 20 -m 1000 -l 10240 -f bench@bench.test -t user@example.test 127.0.0.1:2525 >/dev/null 2>&1
        sleep 1
        x0=$(switches $gh); c0=$(ticks $gh); t0=$(date +%s.%N)
        /usr/sbin/smtp-source -s 20 -m 10000 -l 10240 -f bench@bench.test -t user@example.test 127.0.0.1:2525 >/dev/null 2>&1
        t1=$(date +%s.%N); c1=$(ticks $gh); x1=$(switches $gh)
        for _ in $(seq 300); do [[ $(find "$data"/queue/incoming "$data"/queue/active -type f | wc -l) == 0 ]] && break; sleep 0.2; done
        lat=$(bench/latency.py --target gatehouse=127.0.0.1:2525 --size 10240 --sessions 20 --count 2000 | tail -n 1)
        echo "round $round $v: smtp-source $(echo "10000 / ($t1 - $t0)" | bc) msg/s, cpu $(echo "scale=2; ($c1 - $c0) * 10 / 10000" | bc) ms/msg, switches/msg $(( (x1 - x0) / 10000 )) | latency: $lat"
        kill $gh; wait $gh 2>/dev/null || true
        rm -rf "$data"
    done
done
