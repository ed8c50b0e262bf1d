#!/usr/bin/env python3
"""latency.py - SMTP accept rate and end-of-DATA -> 250 latency, loopback only.

Opens SESSIONS concurrent sessions against each --target LABEL=HOST:PORT in turn and sends COUNT
messages of SIZE bytes in all (each session: EHLO once, then MAIL, RCPT, DATA, content, repeated;
commands are not pipelined, as smtp-source does). For every message it records the time from
sending the final "<CRLF>.<CRLF>" to reading the 250 reply. Prints, per target, accepted msg/s and
the latency percentiles p50/p90/p99/max in milliseconds, and appends TSV rows with --out.

The driver is one Python process with asyncio; at high rates it is itself a bottleneck, which
weighs on every target alike because runs alternate. Use the figures to compare targets measured
in one invocation, not as absolute limits.
"""
import argparse
import asyncio
import ipaddress
import os
import statistics
import sys
import time

MAX_COUNT = 200000
MAX_SESSIONS = 1000


def parse_target(text):
    label, _, addr = text.partition("=")
    host, _, port = addr.rpartition(":")
    if not label or not port.isdigit():
        raise SystemExit("bad target %r (want LABEL=HOST:PORT)" % text)
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit("refusing non-loopback address %r" % addr)
    return label, host, int(port)


async def read_reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), line


async def session(host, port, messages, body, sender, rcpt, latencies, errors):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        code, _ = await read_reply(reader)
        if code != 220:
            raise ConnectionError("greeting %d" % code)
        writer.write(b"EHLO bench.test\r\n")
        code, _ = await read_reply(reader)
        for _ in range(messages):
            writer.write(b"MAIL FROM:<%s>\r\n" % sender)
            if (await read_reply(reader))[0] != 250:
                errors.append("mail")
                continue
            writer.write(b"RCPT TO:<%s>\r\n" % rcpt)
            if (await read_reply(reader))[0] != 250:
                errors.append("rcpt")
                writer.write(b"RSET\r\n")
                await read_reply(reader)
                continue
            writer.write(b"DATA\r\n")
            if (await read_reply(reader))[0] != 354:
                errors.append("data")
                continue
            writer.write(body)
            await writer.drain()
            start = time.perf_counter()
            writer.write(b".\r\n")
            code, line = await read_reply(reader)
            latencies.append(time.perf_counter() - start)
            if code != 250:
                errors.append("end of data: %r" % line)
        writer.write(b"QUIT\r\n")
        await read_reply(reader)
    finally:
        writer.close()


def make_body(size):
    line = b"X" * 76 + b"\r\n"
    header = b"From: <bench@bench.test>\r\nTo: <%s>\r\nSubject: latency bench\r\n\r\n"
    n = max(1, size // len(line))
    return header + line * n


async def run(label, host, port, sessions, count, size, sender, rcpt, timeout):
    body = make_body(size).replace(b"%s", rcpt)
    per = [count // sessions + (1 if i < count % sessions else 0) for i in range(sessions)]
    latencies, errors = [], []
    start = time.perf_counter()
    tasks = [session(host, port, n, body, sender, rcpt, latencies, errors) for n in per if n > 0]
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
    elapsed = time.perf_counter() - start
    failures = [r for r in results if isinstance(r, Exception)]
    return elapsed, latencies, errors, failures


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", action="append", required=True)
    ap.add_argument("--sessions", type=int, action="append")
    ap.add_argument("--size", type=int, action="append")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--from", dest="sender", default="bench@bench.test")
    ap.add_argument("--to", dest="rcpt", default="user@example.test")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--between", default="", help="shell command run after each run (e.g. empty a queue)")
    ap.add_argument("--out")
    args = ap.parse_args()
    targets = [parse_target(t) for t in args.target]
    if args.count > MAX_COUNT:
        raise SystemExit("--count at most %d" % MAX_COUNT)
    sessions_list = args.sessions or [20]
    if max(sessions_list) > MAX_SESSIONS:
        raise SystemExit("--sessions at most %d" % MAX_SESSIONS)
    sizes = args.size or [10240]
    out = open(args.out, "a") if args.out else None
    print("%-10s %6s %8s %6s %9s %8s %8s %8s %8s %6s" % ("target", "size", "sessions", "count", "msg/s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors"))
    for size in sizes:
        for sessions in sessions_list:
            count = max(args.count, sessions)
            for rep in range(args.repeat):
                for label, host, port in targets:
                    elapsed, lat, errors, failures = asyncio.run(
                        run(label, host, port, sessions, count, size, args.sender.encode(), args.rcpt.encode(), args.timeout))
                    mps = len(lat) / elapsed if elapsed > 0 else 0
                    row = (label, size, sessions, len(lat), mps, pct(lat, 50) * 1000, pct(lat, 90) * 1000,
                           pct(lat, 99) * 1000, (max(lat) if lat else float("nan")) * 1000, len(errors) + len(failures))
                    print("%-10s %6d %8d %6d %9.1f %8.2f %8.2f %8.2f %8.2f %6d" % row, flush=True)
                    if failures:
                        print("  first failure: %r" % failures[0], file=sys.stderr)
                    if out:
                        out.write("\t".join(str(x) for x in (time.strftime("%Y-%m-%dT%H:%M:%S"),) + row) + "\n")
                        out.flush()
                    if args.between:
                        os.system(args.between)


if __name__ == "__main__":
    main()
