#!/usr/bin/env python3
"""idle-sessions.py - hold N idle SMTP sessions open and report the server's memory.

Opens --sessions connections to --target HOST:PORT (loopback only), reads each greeting, sends
EHLO, then holds them all idle while it reads the server's VmRSS (and the peak, VmHWM) from
/proc/PID/status for --pid. Connections are spread over source addresses 127.0.0.2.. so one
client address never holds more than --per-source sessions. Bounded: at most 20,000 sessions,
--hold seconds.
"""
import argparse
import ipaddress
import resource
import selectors
import socket
import sys
import time


def status(pid):
    values = {}
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--target", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--sessions", type=int, default=10000)
    ap.add_argument("--per-source", type=int, default=2000)
    ap.add_argument("--hold", type=float, default=5)
    args = ap.parse_args()
    host, _, port = args.target.rpartition(":")
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit("loopback only")
    if args.sessions > 20000:
        raise SystemExit("at most 20000 sessions")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.sessions + 1024), hard))
    before = status(args.pid)
    sel = selectors.DefaultSelector()
    socks = []
    pending = {}
    start = time.time()
    for i in range(args.sessions):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.%d" % (2 + i // args.per_source), 0))
        s.connect((host, int(port)))
        s.setblocking(False)
        socks.append(s)
        pending[s.fileno()] = b""
        sel.register(s, selectors.EVENT_READ)
    greeted = 0
    ehlo_done = 0
    deadline = time.time() + 120
    state = {}
    while ehlo_done < len(socks) and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            data = s.recv(4096)
            if not data:
                sel.unregister(s)
                ehlo_done += 1
                continue
            pending[s.fileno()] += data
            buf = pending[s.fileno()]
            st = state.get(s.fileno(), 0)
            if st == 0 and b"\r\n" in buf:
                if not buf.startswith(b"220"):
                    print("refused: %r" % buf[:80], file=sys.stderr)
                    sel.unregister(s)
                    ehlo_done += 1
                    continue
                greeted += 1
                pending[s.fileno()] = b""
                s.send(b"EHLO idle.test\r\n")
                state[s.fileno()] = 1
            elif st == 1 and b"\r\n250 " in b"\r\n" + buf:
                state[s.fileno()] = 2
                ehlo_done += 1
                sel.unregister(s)
    opened = time.time() - start
    time.sleep(args.hold)
    during = status(args.pid)
    for s in socks:
        s.close()
    print("sessions=%d greeted=%d open_s=%.1f rss_before_mib=%.1f rss_held_mib=%.1f peak_mib=%.1f per_session_kib=%.1f" % (
        len(socks), greeted, opened, before["VmRSS"] / 2**20, during["VmRSS"] / 2**20, during["VmHWM"] / 2**20,
        (during["VmRSS"] - before["VmRSS"]) / max(1, greeted) / 1024))


if __name__ == "__main__":
    main()
