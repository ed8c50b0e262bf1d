#!/usr/bin/env bash
# clamd-test.sh — a private clamd (Debian's clamav-daemon) for the anti-virus tests.
#
#   clamd-test.sh start DIR PORT [WATCH_PID]   write DIR/clamd.conf and DIR/db, start clamd, wait for PONG
#   clamd-test.sh stop DIR                     stop the clamd started in DIR (by its PID) and wait for it
#   clamd-test.sh validate DIR FILE            clamscan FILE with DIR/db only (checks the signature loads)
#
# The signature database is ours alone: DIR/db/gatehouse.ndb holds one body signature for the EICAR
# test string (signature downloads are impossible here, and freshclam is never run). It is a body
# signature (.ndb) rather than a hash (.hdb) so that the EICAR variants (other trailing bytes, the
# string inside a larger file) match too; clamd reports it as `Gatehouse.Test.EICAR.UNOFFICIAL`
# (unsigned databases get the suffix).
#
# clamd listens on 127.0.0.1:PORT and on DIR/clamd.sock, runs in the foreground (Foreground yes) in
# the background of this script, logs to DIR/clamd.log, and takes at most 10 MiB per stream
# (StreamMaxLength 10M). `start` prints `READY <pid> <seconds>` once clamd answers PING, or exits 1
# with the end of the log. With WATCH_PID, a watchdog stops clamd when that process ends and then
# removes DIR, so a test run, even one that dies, leaves no daemon and no files behind. The system
# service is never touched.
set -euo pipefail

die() { echo "clamd-test.sh: $*" >&2; exit 1; }

# Close whatever the caller let us inherit beyond the standard three (a test process's sockets and
# pipes), so that clamd and the watchdog, which outlive this script, hold none of them open. Bash
# reads this script through fd 255: that one stays.
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2 && fd != 255)); then eval "exec $fd>&-" 2>/dev/null || true; fi
done

# The first 63 octets of the EICAR test string (all but its closing `$H+H*`), in hex: this file
# must not spell the string out, or scanners (ours included) would flag it.
EICAR_HEX=58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c4521

write_database() {
    local dir=$1
    mkdir -p "$dir/db"
    # Name:TargetType:Offset:HexSignature — target type 0 is any file, offset * anywhere.
    printf 'Gatehouse.Test.EICAR:0:*:%s\n' "$EICAR_HEX" >"$dir/db/gatehouse.ndb"
}

# PING over TCP (Debian's python3); true once clamd answers PONG.
ping() {
    local port=$1
    /usr/bin/python3 - "$port" <<'EOF' 2>/dev/null
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=2)
s.sendall(b"zPING\0")
reply = b""
while not reply.endswith(b"\0"):
    data = s.recv(64)
    if not data:
        break
    reply += data
sys.exit(0 if reply == b"PONG\0" else 1)
EOF
}

start() {
    local dir=$1 port=$2 watch=${3:-}
    command -v clamd >/dev/null || [[ -x /usr/sbin/clamd ]] || die "clamd is not installed (apt-get install clamav-daemon clamav)"
    local clamd
    clamd=$(command -v clamd || echo /usr/sbin/clamd)
    mkdir -p "$dir/tmp"
    write_database "$dir"
    cat >"$dir/clamd.conf" <<EOF
# Written by clamd-test.sh for one test run: nothing here reaches outside $dir.
Foreground yes
TCPSocket $port
TCPAddr 127.0.0.1
LocalSocket $dir/clamd.sock
LocalSocketMode 600
FixStaleSocket yes
DatabaseDirectory $dir/db
TemporaryDirectory $dir/tmp
LogFile $dir/clamd.log
LogTime yes
LogClean yes
PidFile $dir/clamd.pid
StreamMaxLength 10M
MaxThreads 4
ReadTimeout 30
CommandReadTimeout 10
SelfCheck 3600
EOF
    # As root, say so explicitly (clamd then stays root and can read DIR); any other user runs
    # clamd as itself, since only root may switch users.
    if [[ $(id -u) -eq 0 ]]; then echo "User root" >>"$dir/clamd.conf"; fi
    if ping "$port"; then die "something already answers PING on port $port"; fi
    local started=$SECONDS
    local began
    began=$(date +%s.%N)
    "$clamd" --config-file="$dir/clamd.conf" </dev/null >"$dir/clamd.out" 2>&1 &
    local pid=$!
    echo "$pid" >"$dir/clamd.launcher-pid"
    if [[ -n "$watch" ]]; then
        # Detached from this script's output so the caller's pipe closes when `start` returns.
        nohup bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
                       kill "$2" 2>/dev/null; while kill -0 "$2" 2>/dev/null; do sleep 0.2; done; rm -rf "$3"' \
            watchdog "$watch" "$pid" "$dir" </dev/null >/dev/null 2>&1 &
    fi
    while ((SECONDS - started < 60)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$dir/clamd.out" "$dir/clamd.log" >&2 2>/dev/null || true
            die "clamd exited during start-up"
        fi
        if ping "$port"; then
            local now
            now=$(date +%s.%N)
            echo "READY $pid $(awk -v a="$began" -v b="$now" 'BEGIN { printf "%.2f", b - a }')"
            return 0
        fi
        sleep 0.2
    done
    kill "$pid" 2>/dev/null || true
    tail -n 20 "$dir/clamd.log" >&2 2>/dev/null || true
    die "clamd did not answer PING within 60 seconds"
}

stop() {
    local dir=$1
    [[ -f "$dir/clamd.launcher-pid" ]] || return 0
    local pid
    pid=$(cat "$dir/clamd.launcher-pid")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/clamd.launcher-pid"
}

validate() {
    local dir=$1 file=$2
    write_database "$dir"
    clamscan --no-summary -d "$dir/db" "$file"
}

case "${1:-}" in
    start) [[ $# -ge 3 ]] || die "usage: start DIR PORT [WATCH_PID]"; start "$2" "$3" "${4:-}" ;;
    stop) [[ $# -ge 2 ]] || die "usage: stop DIR"; stop "$2" ;;
    validate) [[ $# -ge 3 ]] || die "usage: validate DIR FILE"; validate "$2" "$3" ;;
    *) die "usage: clamd-test.sh start DIR PORT [WATCH_PID] | stop DIR | validate DIR FILE" ;;
esac
