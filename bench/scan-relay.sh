#!/usr/bin/env bash
# scan-relay.sh - end-to-end relay WITH SCANNING, side by side in one run (issue 5 "Benchmark"):
# Gatehouse scanning every message, plain Postfix (no filter), Postfix + Rspamd milter.
#
#   bench/scan-relay.sh                    # 10 KiB, 20 sessions, 20,000 messages per run, 3 runs
#   QUICK=1 bench/scan-relay.sh            # 10 KiB, 2,000 messages per run, 1 run (smoke test)
#   SCRATCH=.build-bench bench/scan-relay.sh   # build and run from another scratch path
#
#   smtp-source --> Gatehouse        127.0.0.1:2525 (policy + spam rules, bench/gatehouse-scan.yaml) --\
#   smtp-source --> Postfix          127.0.0.1:2527 (no filter)                                          >--> smtp-sink 127.0.0.1:2626
#   smtp-source --> Postfix + Rspamd 127.0.0.1:2529 (milter -> rspamd proxy 127.0.0.1:11332)           --/
#
# All three fsync every message before the 250 and deliver from their queue. ../shared/bench/smtp-bench.py
# runs the targets interleaved (plus `wire`, smtp-source straight to the sink, as the loopback limit),
# counts arrivals at the sink and waits for each queue to drain. Rspamd is Debian's package with the
# shared harness's configuration (loopback only, network modules off, no redis: no Bayes); Gatehouse
# runs the built-in rule pack with no anti-virus and no SPF/DKIM/DMARC - no network in either.
# The messages are smtp-source's synthetic ones (smtp-bench.py cannot send a corpus).
#
# Environment: QUICK=1, REPEAT (default 3; 1 with QUICK), COUNT (messages per run; 20000, 2000 with
#   QUICK), SIZES (default "10240"), SESSIONS (default 20), SCRATCH (swift scratch path, default .build),
#   JOBS (swift build -j), NO_BUILD=1 (use the binary already in SCRATCH), SHARED (default ../shared/bench), GH_PORT/PF_PORT/PFR_PORT/SINK_PORT
#   (2525/2527/2529/2626), KEEP_LOG=1 (copy the Gatehouse log to bench/results/tmp/).
# Raw rows: bench/results/scan-relay.tsv. Everything started here is stopped here by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
SCRATCH=${SCRATCH:-.build}
OUT=bench/results
mkdir -p "$OUT"
GH_PORT=${GH_PORT:-2525} PF_PORT=${PF_PORT:-2527} PFR_PORT=${PFR_PORT:-2529} SINK_PORT=${SINK_PORT:-2626}
if [[ -n "${QUICK:-}" ]]; then
    COUNT=${COUNT:-2000}; REPEAT=${REPEAT:-1}
else
    COUNT=${COUNT:-20000}; REPEAT=${REPEAT:-3}
fi
SESSIONS=${SESSIONS:-20}
read -r -a SIZE_LIST <<<"${SIZES:-10240}"

for port in "$GH_PORT" "$PF_PORT" "$PFR_PORT" "$SINK_PORT" 11332 11333 11334; do
    if ss -Hltn "sport = :$port" | grep -q .; then echo "scan-relay: port $port is in use" >&2; exit 1; fi
done

"$SHARED/postfix-relay.sh" install >/dev/null
"$SHARED/rspamd-milter.sh" install >/dev/null
if [[ -z "${NO_BUILD:-}" ]]; then
    swift build -c release ${JOBS:+-j "$JOBS"} --product gatehouse --scratch-path "$SCRATCH" >/dev/null
fi
BIN=$SCRATCH/release/gatehouse

PF=(env PF_LISTEN=127.0.0.1:$PF_PORT PF_NEXTHOP=127.0.0.1:$SINK_PORT "$SHARED/postfix-relay.sh")
PFR=(env PF_LISTEN=127.0.0.1:$PFR_PORT PF_NEXTHOP=127.0.0.1:$SINK_PORT PF_MILTER=inet:127.0.0.1:11332 "$SHARED/postfix-relay.sh")
RS=("$SHARED/rspamd-milter.sh")

DATA=$(mktemp -d /tmp/gatehouse-scan.XXXXXX)
sed -e "s/127\.0\.0\.1:2525/127.0.0.1:$GH_PORT/; s/127\.0\.0\.1:2626/127.0.0.1:$SINK_PORT/" \
    bench/gatehouse-scan.yaml >"$DATA/gatehouse.yaml"
"$BIN" config check "$DATA/gatehouse.yaml" >/dev/null
GH=
cleanup() {
    if [[ -n $GH ]]; then kill "$GH" 2>/dev/null || true; wait "$GH" 2>/dev/null || true; fi
    "${PF[@]}" clean >/dev/null 2>&1 || true
    "${PFR[@]}" clean >/dev/null 2>&1 || true
    "${RS[@]}" clean >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
trap cleanup EXIT
"$BIN" serve --config "$DATA/gatehouse.yaml" --data "$DATA" 2>"$DATA/log" &
GH=$!
"${PF[@]}" start >/dev/null
"${RS[@]}" start >/dev/null
"${PFR[@]}" start >/dev/null
for _ in $(seq 100); do
    # a polite probe (greeting read, QUIT sent) so that it leaves no warning in the log
    if (exec 3<>"/dev/tcp/127.0.0.1/$GH_PORT" && read -r -t 5 _ <&3 && printf 'QUIT\r\n' >&3 && read -r -t 5 _ <&3) 2>/dev/null; then
        break
    fi
    kill -0 "$GH" 2>/dev/null || { cat "$DATA/log" >&2; echo "scan-relay: gatehouse exited" >&2; exit 1; }
    sleep 0.2
done

SIZE_ARGS=(); for z in "${SIZE_LIST[@]}"; do SIZE_ARGS+=(--size "$z"); done
echo "== end-to-end relay with scanning, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== gatehouse binary $BIN (built $(date -u -r "$BIN" +%FT%TZ)) at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Package.swift || echo ' + uncommitted changes'), rspamd $(rspamd --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1), postfix $(postconf -d -h mail_version 2>/dev/null)"
"$SHARED/smtp-bench.py" --target gatehouse=127.0.0.1:$GH_PORT --target postfix=127.0.0.1:$PF_PORT \
    --target postfix+rspamd=127.0.0.1:$PFR_PORT --target wire=sink \
    --sink 127.0.0.1:$SINK_PORT "${SIZE_ARGS[@]}" --sessions "$SESSIONS" --count "$COUNT" \
    --repeat "$REPEAT" --timeout 600 --from bench@bench.test --to user@example.test \
    --qsize-cmd "postfix=${PF[*]} qsize" \
    --qsize-cmd "postfix+rspamd=${PFR[*]} qsize" \
    --qsize-cmd "gatehouse=find $DATA/queue/incoming $DATA/queue/active $DATA/queue/deferred -type f | wc -l" \
    --out "$OUT/scan-relay.tsv"

LOG=$DATA/log
echo "== checks (every message delivered; deferred/bounced, quarantined and warnings should be 0)"
echo "gatehouse policy verdicts: $(grep -c 'verdict=' "$LOG" || true) ($(grep -o 'verdict=[a-z]*' "$LOG" | sort | uniq -c | tr -s ' \n' ' '))"
echo "gatehouse delivered: $(grep -c 'status=sent' "$LOG" || true), deferred/bounced: $(grep -cE 'status=(deferred|bounced)' "$LOG" || true)"
echo "gatehouse quarantined: $(find "$DATA/quarantine" -type f -name '*.eml' 2>/dev/null | wc -l) files in $DATA/quarantine ($(find "$DATA/quarantine" -type f 2>/dev/null | wc -l) files in all)"
echo "gatehouse warning/error lines: $(grep -ciE 'warning|error|fatal|panic' "$LOG" || true)"
grep -iE 'warning|error|fatal|panic' "$LOG" | head -5 || true
echo "gatehouse sample policy lines:"; grep -m 3 'gatehouse/policy' "$LOG" || true
echo "rspamd: $("${RS[@]}" stats 2>/dev/null || echo 'stats unavailable')"
RSLOG=/tmp/rsbench-11332/log/rspamd.log
echo "rspamd warning/error lines in its log: $(grep -ciE 'warn|error|crit' "$RSLOG" 2>/dev/null || true)"
grep -iE 'warn|error|crit' "$RSLOG" 2>/dev/null | cut -c1-200 | sort -u -k4 | head -5 || true
for d in /tmp/pfbench-$PF_PORT /tmp/pfbench-$PFR_PORT; do
    echo "postfix warnings in $d/maillog: $(grep -ciE 'warning|fatal|panic' "$d/maillog" 2>/dev/null || true)"
    grep -iE 'warning|fatal|panic' "$d/maillog" 2>/dev/null | head -3 || true
done
if [[ -n "${KEEP_LOG:-}" ]]; then
    mkdir -p "$OUT/tmp"; cp "$LOG" "$OUT/tmp/scan-relay-gatehouse.log"; echo "log kept: $OUT/tmp/scan-relay-gatehouse.log"
fi
