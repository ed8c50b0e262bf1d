#!/usr/bin/python3
"""zone_server.py — a small DNS server for the resolver's integration tests (Debian: python3-dnslib).

Serves one zone, given as a master file, on UDP and TCP on the same loopback port, answering as a
recursive resolver would for that zone: CNAME chains inside the zone are followed and returned in
the answer, unknown names get NXDOMAIN and names without the asked type NODATA, both with the SOA
in the authority section (RFC 2308). Queries with an OPT record get one back (payload 1232).

Misbehaviours, each for the names given (repeatable options, names compared case-insensitively):
  --truncate NAME      over UDP, answer with TC=1 and no records (TCP answers in full)
  --drop NAME          never answer (UDP and TCP)
  --delay NAME=SECS    answer after SECS seconds
  --servfail NAME      answer SERVFAIL
  --refuse NAME        answer REFUSED
  --spoof NAME         over UDP, first send a reply with a wrong id (A 6.6.6.6), then one with a
                       wrong question, then the real answer
  --garbage NAME       over UDP, send only an undecodable reply (right id, cut short)
Any UDP answer larger than the client's EDNS payload size (512 without EDNS) is sent truncated.

Control: a TXT query for `TRANSPORT.NAME._control.` (TRANSPORT `udp` or `tcp`) answers with the
number of queries received for NAME over that transport (control queries are not counted).

Prints `PORT <n>` on stdout once both sockets listen on 127.0.0.1:<n> (--port 0 picks a free one).
Exits when its standard input closes (the test process ended), on SIGTERM, or after --lifetime
seconds. With ZONE_LOG=FILE in the environment, logs its start and every UDP datagram received.
"""

import argparse
import os
import signal
import socketserver
import sys
import threading
import time

from dnslib import CLASS, DNSRecord, EDNS0, QTYPE, RCODE, RR, A

lock = threading.Lock()
counts = {}


def lower(name):
    text = str(name).lower()
    return text if text.endswith(".") else text + "."


class Zone:
    def __init__(self, text):
        self.records = {}
        self.soa = None
        for rr in RR.fromZone(text):
            self.records.setdefault(lower(rr.rname), []).append(rr)
            if rr.rtype == QTYPE.SOA and self.soa is None:
                self.soa = rr

    def answer(self, request, options, transport):
        qname = lower(request.q.qname)
        qtype = request.q.qtype
        reply = request.reply()
        reply.header.aa = 1
        edns = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
        if edns:
            reply.add_ar(EDNS0(udp_len=1232))

        if qname.endswith("._control.") and qtype == QTYPE.TXT:
            transport_label, _, rest = qname[: -len("_control.")].partition(".")
            with lock:
                count = counts.get((rest, transport_label), 0)
            reply.add_answer(*RR.fromZone('%s 0 IN TXT "%d"' % (qname, count)))
            return reply

        with lock:
            counts[(qname, transport)] = counts.get((qname, transport), 0) + 1
        if qname in options.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if qname in options.refuse:
            reply.header.rcode = RCODE.REFUSED
            return reply

        name = qname
        for _ in range(16):
            rrs = self.records.get(name)
            if rrs is None:
                reply.header.rcode = RCODE.NXDOMAIN
                break
            cnames = [rr for rr in rrs if rr.rtype == QTYPE.CNAME]
            if cnames and qtype != QTYPE.CNAME:
                reply.add_answer(cnames[0])
                name = lower(cnames[0].rdata.label)
                continue
            matches = [rr for rr in rrs if rr.rtype == qtype]
            for rr in matches:
                reply.add_answer(rr)
            if not matches:
                break  # NODATA
            return reply
        if self.soa is not None:
            reply.add_auth(self.soa)
        return reply


def truncated(reply):
    cut = DNSRecord(header=reply.header, q=reply.q)
    cut.header.tc = 1
    for rr in reply.ar:
        if rr.rtype == QTYPE.OPT:
            cut.add_ar(rr)
    return cut.pack()


def payload_limit(request):
    for rr in request.ar:
        if rr.rtype == QTYPE.OPT:
            return max(512, rr.rclass)
    return 512


def delay_for(options, qname):
    return options.delay.get(qname, 0)


class UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        if os.environ.get("ZONE_LOG"):
            with open(os.environ["ZONE_LOG"], "a") as f:
                f.write("%d %s %s\n" % (self.server.server_address[1], self.client_address, data.hex()))
        try:
            request = DNSRecord.parse(data)
        except Exception:
            return
        options = self.server.options
        qname = lower(request.q.qname)
        reply = self.server.zone.answer(request, options, "udp")
        if qname in options.drop:
            return
        time.sleep(delay_for(options, qname))
        if qname in options.garbage:
            sock.sendto(data[:2] + b"\x81\x80\x00\x01\x00\x01", self.client_address)
            return
        if qname in options.spoof:
            fake = request.reply()
            fake.header.id = request.header.id ^ 0x5555
            fake.add_answer(RR(request.q.qname, QTYPE.A, CLASS.IN, 300, A("6.6.6.6")))
            sock.sendto(fake.pack(), self.client_address)
            other = DNSRecord.question("spoof.invalid.", "A")
            other.header.id = request.header.id
            wrong = other.reply()
            wrong.add_answer(RR("spoof.invalid.", QTYPE.A, CLASS.IN, 300, A("6.6.6.6")))
            sock.sendto(wrong.pack(), self.client_address)
        packed = reply.pack()
        if qname in options.truncate or len(packed) > payload_limit(request):
            packed = truncated(reply)
        sock.sendto(packed, self.client_address)


class TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        conn = self.request
        conn.settimeout(30)
        options = self.server.options
        while True:
            header = self.read(2)
            if header is None:
                return
            body = self.read(int.from_bytes(header, "big"))
            if body is None:
                return
            try:
                request = DNSRecord.parse(body)
            except Exception:
                return
            qname = lower(request.q.qname)
            reply = self.server.zone.answer(request, options, "tcp")
            if qname in options.drop:
                time.sleep(30)
                return
            time.sleep(delay_for(options, qname))
            packed = reply.pack()
            conn.sendall(len(packed).to_bytes(2, "big") + packed)

    def read(self, n):
        data = b""
        while len(data) < n:
            try:
                chunk = self.request.recv(n - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data


class UDPServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


class TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    # A test runner may spawn us with signals blocked (Foundation's Process inherits the calling
    # thread's mask): unblock them so that SIGTERM ends us.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parser = argparse.ArgumentParser(description="Zone server for DNS resolver tests")
    parser.add_argument("--zone", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=300)
    for flag in ("truncate", "drop", "servfail", "refuse", "spoof", "garbage", "delay"):
        parser.add_argument("--" + flag, action="append", default=[])
    options = parser.parse_args()
    for flag in ("truncate", "drop", "servfail", "refuse", "spoof", "garbage"):
        setattr(options, flag, {lower(n) for n in getattr(options, flag)})
    options.delay = {lower(n): float(s) for n, s in (d.split("=", 1) for d in options.delay)}

    with open(options.zone) as f:
        zone = Zone(f.read())

    udp = tcp = None
    for _ in range(50):
        udp = UDPServer(("127.0.0.1", options.port), UDPHandler)
        port = udp.server_address[1]
        try:
            tcp = TCPServer(("127.0.0.1", port), TCPHandler)
            break
        except OSError:
            udp.server_close()
            if options.port:
                raise
    if tcp is None:
        sys.exit("no free port for UDP and TCP")
    for server in (udp, tcp):
        server.zone = zone
        server.options = options
        threading.Thread(target=server.serve_forever, daemon=True).start()

    print("PORT %d" % port, flush=True)
    if os.environ.get("ZONE_LOG"):
        with open(os.environ["ZONE_LOG"], "a") as f:
            f.write("START %d %s\n" % (port, " ".join(sys.argv[5:])))

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(1024):
                pass
        except Exception:
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    time.sleep(options.lifetime)
    os._exit(0)


if __name__ == "__main__":
    main()
