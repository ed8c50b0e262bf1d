#!/usr/bin/python3
"""A tiny authoritative DNS server for tests (Debian's python3-dnslib), UDP and TCP on one
loopback port.

    dns = DNSServer({
        "dest.test":      {"MX": [(10, "mx1.dest.test"), (20, "mx2.dest.test")],
                           "TXT": ["v=spf1 -all"]},
        "mx1.dest.test":  {"A": ["127.0.0.11"], "AAAA": ["::1"]},
        "nullmx.test":    {"MX": [(0, ".")]},                 # RFC 7505 null MX
        "www.dest.test":  {"CNAME": "mx1.dest.test"},
        "11.0.0.127.in-addr.arpa": {"PTR": "mx1.dest.test"},
        "broken.test":    {"SERVFAIL": True},                  # temporary failure
        "silent.test":    {"DROP": True},                      # no answer at all (timeout)
    }).start()
    dns.address        # "127.0.0.1:PORT", for delivery.dns.nameservers
    dns.queries        # [(name, type, "udp"|"tcp"), ...] in arrival order
    dns.zone[...] = …  # may be changed while running

Names are case-insensitive, without the trailing dot. A name that is in the zone but has no
record of the asked type gets NOERROR with no answer (NODATA); any other name NXDOMAIN. CNAMEs are
followed inside the zone. MX values are (preference, host) pairs or "10 host" strings; every
other value is a string or a list of strings. `tcp_only=True` truncates every UDP answer (TC), so
a resolver has to retry over TCP.

As a script: dnsserver.py --listen 127.0.0.1:5353 ZONE.json
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time

from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, SOA, TXT, A, DNSLabel, DNSRecord
from dnslib.server import DNSServer as _LibServer

TTL = 60


class _QuietLogger:
    def __init__(self, owner: "DNSServer"):
        self.owner = owner

    def __getattr__(self, name):                 # log_recv, log_send, log_request, ...
        return lambda *a, **k: None

    def log_error(self, handler, e):
        self.owner.errors.append(repr(e))


def _norm(name) -> str:
    return str(name).rstrip(".").lower()


def _values(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) and not (
        len(v) == 2 and isinstance(v[0], int)) else [v]


class DNSServer:
    def __init__(self, zone: dict, host: str = "127.0.0.1", port: int = 0, tcp_only: bool = False):
        assert host.startswith("127.") or host == "::1", "test servers bind loopback addresses only"
        self.zone = {_norm(k): v for k, v in zone.items()}
        self.host, self.port, self.tcp_only = host, port, tcp_only
        self.queries: list[tuple[str, str, str]] = []
        self.errors: list[str] = []
        self._servers: list[_LibServer] = []
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- life cycle

    def start(self) -> "DNSServer":
        for _ in range(50):
            port = self.port or self._free_udp_port()
            try:
                udp = _LibServer(self, address=self.host, port=port, tcp=False,
                                 logger=_QuietLogger(self))
            except OSError:
                if self.port:
                    raise
                continue
            try:
                tcp = _LibServer(self, address=self.host, port=port, tcp=True,
                                 logger=_QuietLogger(self))
            except OSError:
                udp.server.server_close()
                if self.port:
                    raise
                continue
            self.port = port
            self._servers = [udp, tcp]
            for s in self._servers:
                s.start_thread()
            return self
        raise RuntimeError("no port free for UDP and TCP")

    def _free_udp_port(self) -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((self.host, 0))
            return s.getsockname()[1]

    def stop(self) -> None:
        for s in self._servers:
            s.stop()
            s.server.server_close()
        self._servers = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- resolving (called by dnslib's handler threads)

    def resolve(self, request: DNSRecord, handler) -> DNSRecord:
        q = request.q
        name, qtype = _norm(q.qname), QTYPE[q.qtype]
        proto = getattr(handler, "protocol", "udp")
        with self._lock:
            self.queries.append((name, qtype, proto))
        reply = request.reply()                   # aa=1, ra=1, the question copied
        if proto == "udp" and self.tcp_only:
            reply.header.tc = 1
            return reply
        seen = set()
        while True:
            node = self.zone.get(name)
            if node is None:
                reply.header.rcode = RCODE.NXDOMAIN
                break
            if node.get("DROP"):
                time.sleep(30)                    # longer than any resolver timeout in the tests
                return reply
            if node.get("SERVFAIL"):
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            if qtype != "CNAME" and "CNAME" in node and name not in seen:
                seen.add(name)
                target = _norm(node["CNAME"])
                reply.add_answer(RR(name, QTYPE.CNAME, ttl=TTL, rdata=CNAME(target + ".")))
                name = target
                continue
            for rr in self._records(name, qtype, node):
                reply.add_answer(rr)
            break
        if not reply.rr:
            reply.add_auth(RR("test", QTYPE.SOA, ttl=TTL, rdata=SOA(
                "ns.test.", "hostmaster.test.", (1, 3600, 600, 86400, TTL))))
        return reply

    @staticmethod
    def _records(name: str, qtype: str, node: dict) -> list[RR]:
        out = []
        types = [qtype] if qtype != "ANY" else [t for t in node if t.isupper()]
        for t in types:
            if t not in node:
                continue
            for v in _values(node[t]):
                if t == "A":
                    rdata = A(v)
                elif t == "AAAA":
                    rdata = AAAA(v)
                elif t == "MX":
                    pref, host = (v if isinstance(v, (list, tuple)) else
                                  (int(v.split()[0]), v.split()[1]))
                    rdata = MX("." if host in (".", "") else host.rstrip(".") + ".", int(pref))
                elif t == "TXT":
                    rdata = TXT(v)
                elif t == "CNAME":
                    rdata = CNAME(v.rstrip(".") + ".")
                elif t == "PTR":
                    rdata = PTR(v.rstrip(".") + ".")
                else:
                    continue
                out.append(RR(DNSLabel(name), getattr(QTYPE, t), ttl=TTL, rdata=rdata))
        return out

    # -- assertions

    def asked(self, name: str, qtype: str | None = None) -> bool:
        with self._lock:
            return any(n == _norm(name) and (qtype is None or t == qtype)
                       for n, t, _ in self.queries)


def query(server: str, name: str, qtype: str = "A", tcp: bool = False, timeout: float = 3.0) -> DNSRecord:
    """Ask `server` ("host:port") one question; returns the parsed reply."""
    host, port = server.rsplit(":", 1)
    packet = DNSRecord.question(name, qtype).send(host, int(port), tcp=tcp, timeout=timeout)
    return DNSRecord.parse(packet)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Authoritative test DNS server (UDP+TCP).")
    ap.add_argument("--listen", default="127.0.0.1:5353")
    ap.add_argument("--tcp-only", action="store_true", help="truncate every UDP answer")
    ap.add_argument("zone", help='JSON file: {"name": {"MX": [[10, "mx.host"]], "A": ["127.0.0.1"]}}')
    ns = ap.parse_args(argv)
    host, port = ns.listen.rsplit(":", 1)
    with open(ns.zone) as f:
        srv = DNSServer(json.load(f), host, int(port), tcp_only=ns.tcp_only).start()
    print(f"dns listening on {srv.address} (udp+tcp)", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
