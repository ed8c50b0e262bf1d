#!/usr/bin/python3
"""A controllable SMTP sink for delivery tests (aiosmtpd), in-process or as a script.

In a test:

    sink = Sink("127.0.0.1").start()            # free port; Sink("127.0.0.12", port=2526) also
    sink.rules = {"temp*": "451 4.3.0 try later", "perm*": "550 5.1.1 no such user"}
    ...                                         # point Gatehouse at sink.address
    t = sink.wait_for(1)[0]                     # a Transaction: peer, ehlo, mail_from, rcpt_tos, data, tls
    sink.stop()

Every accepted transaction is recorded (`sink.transactions`), and so is every connection
(`sink.connections`), every MAIL (`sink.mails`) and every RCPT with the reply it got
(`sink.rcpts`). Behaviour is read at each command, so a test may change it while Gatehouse is
connected:

  rules              {local-part glob: reply} for RCPT, first match wins (case-insensitive);
                     anything else gets 250
  mail_reply         reply to MAIL instead of 250 (e.g. "451 4.7.1 greylisted")
  data_reply         reply after the final dot instead of 250 (e.g. "554 5.6.0 rejected")
  drop_after_data    how many upcoming transactions get no reply after the final dot: the
                     connection is cut (recorded with dropped=True)
  greeting           "220" (default) | "421" (421 4.3.2 and close) | "close" (close silently)
  delay              seconds to wait before every final reply line (slow server)
  starttls           offer STARTTLS with a self-signed certificate (constructor argument)
  eightbitmime       advertise 8BITMIME (default True; aiosmtpd always would, we can hide it)
  smtputf8           advertise and accept SMTPUTF8 (constructor argument)
  dsn                advertise DSN and accept NOTIFY/ORCPT/RET/ENVID (they are recorded)

The null sender is recorded as mail_from == "". As a script it prints one JSON line per
transaction (`--help`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import fnmatch
import itertools
import json
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.smtp import SMTP

DSN_PARAMS = ("NOTIFY", "ORCPT", "RET", "ENVID")


@dataclass
class Connection:
    id: int
    peer: tuple
    started: float
    ehlo: str | None = None
    tls: bool = False
    closed: float | None = None


@dataclass
class Transaction:
    conn_id: int
    peer: tuple
    ehlo: str | None
    tls: bool
    mail_from: str                  # "" for the null sender
    mail_options: list[str]         # upper-cased by aiosmtpd, e.g. ["BODY=8BITMIME", "SIZE=123"]
    rcpt_tos: list[str]             # the recipients that got 250
    rcpt_options: list[str]
    data: bytes                     # as received, dot-stuffing removed, CRLF line ends
    time: float = field(default_factory=time.time)
    dropped: bool = False           # the connection was cut instead of replying after the dot
    login: str | None = None        # the user name of a successful AUTH on this connection

    @property
    def message_id(self) -> str | None:
        head = self.data.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                return line.split(b":", 1)[1].strip().decode("ascii", "replace")
        return None

    def message(self):
        """The data parsed by Python's email package (policy.default)."""
        import email
        import email.policy
        return email.message_from_bytes(self.data, policy=email.policy.default)


def make_self_signed(directory: Path, cn: str = "sink.example.net") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "sink-cert.pem", directory / "sink-key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                        "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={cn}",
                        "-addext", f"subjectAltName=DNS:{cn}"],
                       check=True, capture_output=True, timeout=60)
    return cert, key


class _SinkSMTP(SMTP):
    """aiosmtpd's SMTP with the knobs above. One instance per connection."""

    def __init__(self, sink: "Sink", **kw):
        self.sink = sink
        self.conn: Connection | None = None
        super().__init__(_Handler(sink), hostname=sink.hostname, ident="sink", **kw)

    def connection_made(self, transport):
        first = self.conn is None
        super().connection_made(transport)
        self.sink._protocols.add(self)
        if first:
            self.conn = self.sink._new_connection(transport.get_extra_info("peername"))
        else:                                   # the same connection after STARTTLS
            self.conn.tls = True

    def connection_lost(self, error):
        if self.conn is not None and self.conn.closed is None:
            self.conn.closed = time.time()
        self.sink._protocols.discard(self)
        super().connection_lost(error)

    async def _handle_client(self):
        mode = self.sink.greeting
        if mode in ("421", "close"):
            if mode == "421":
                await self.push("421 4.3.2 sink.example.net service not available")
            self.transport.close()
            return
        await super()._handle_client()

    async def push(self, status):
        text = status.decode() if isinstance(status, bytes) else status
        if self.sink.delay and text[3:4] != "-":
            await asyncio.sleep(self.sink.delay)
        await super().push(status)

    def _getparams(self, params):
        result = super()._getparams(params)
        if result is not None and self.sink.dsn:
            for k in DSN_PARAMS:
                result.pop(k, None)
        return result


class _Handler:
    def __init__(self, sink: "Sink"):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        server.conn.ehlo = hostname
        session.host_name = hostname
        out = [r for r in responses if (self.sink.auth is not None or not r[4:].startswith("AUTH"))
               and (self.sink.eightbitmime or r[4:] != "8BITMIME")]
        if self.sink.dsn:
            out.insert(-1, "250-DSN")
        return out

    async def handle_HELO(self, server, session, envelope, hostname):
        server.conn.ehlo = hostname
        session.host_name = hostname
        return f"250 {self.sink.hostname}"

    async def handle_MAIL(self, server, session, envelope, address, options):
        with self.sink._lock:
            self.sink.mails.append((server.conn.id, "" if address == "<>" else address, list(options)))
        reply = self.sink.mail_reply
        if reply and not reply.startswith("2"):
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return reply or "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        reply = self.sink.reply_for(address)
        with self.sink._lock:
            self.sink.rcpts.append((server.conn.id, address, reply))
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        return reply

    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        t = Transaction(conn_id=server.conn.id, peer=server.conn.peer, ehlo=server.conn.ehlo,
                        tls=server.conn.tls,
                        mail_from="" if envelope.mail_from == "<>" else envelope.mail_from,
                        mail_options=list(envelope.mail_options), rcpt_tos=list(envelope.rcpt_tos),
                        rcpt_options=list(envelope.rcpt_options), data=bytes(envelope.original_content),
                        login=session.auth_data if session.authenticated else None)
        with sink._cond:
            drop = sink.drop_after_data > 0
            if drop:
                sink.drop_after_data -= 1
                t.dropped = True
                sink.dropped.append(t)
            else:
                sink.transactions.append(t)
            sink._cond.notify_all()
        if sink.on_message is not None:
            sink.on_message(t)
        if drop:
            server.transport.abort()          # no reply; later writes are discarded
            await asyncio.sleep(3600)         # cancelled by connection_lost
        return sink.data_reply or "250 2.0.0 OK queued"


class Sink:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, hostname: str = "sink.example.net",
                 starttls: bool = False, cert_dir: Path | None = None, smtputf8: bool = False,
                 eightbitmime: bool = True, dsn: bool = False, rules: dict[str, str] | None = None,
                 auth: dict[str, str] | None = None, auth_require_tls: bool = True):
        assert host.startswith("127.") or host == "::1", "test servers bind loopback addresses only"
        self.host, self.port, self.hostname = host, port, hostname
        self.starttls, self.smtputf8 = starttls, smtputf8
        self.eightbitmime, self.dsn = eightbitmime, dsn
        self.rules: dict[str, str] = dict(rules or {})
        # AUTH PLAIN/LOGIN with these user → password pairs (offered only after STARTTLS unless
        # auth_require_tls is false); every attempt is recorded in auth_attempts (user, tls, ok).
        self.auth, self.auth_require_tls = auth, auth_require_tls
        self.auth_attempts: list[tuple[str, bool, bool]] = []
        self.mail_reply: str | None = None
        self.data_reply: str | None = None
        self.drop_after_data = 0
        self.greeting = "220"
        self.delay = 0.0
        self.on_message = None                  # callable(Transaction), called on the loop thread
        self.transactions: list[Transaction] = []
        self.dropped: list[Transaction] = []
        self.connections: list[Connection] = []
        self.mails: list[tuple[int, str, list[str]]] = []       # (conn id, sender, options)
        self.rcpts: list[tuple[int, str, str]] = []             # (conn id, address, reply)
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._tls_context = None
        if starttls:
            cert, key = make_self_signed(Path(cert_dir or tempfile.mkdtemp(prefix="sink-tls-")))
            self._tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls_context.load_cert_chain(cert, key)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._protocols: set[_SinkSMTP] = set()
        self._server = None
        self._thread: threading.Thread | None = None

    # -- life cycle

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> "Sink":
        if self.port == 0:
            try:
                from harness import free_port      # keeps the e2e suite's ports apart
                self.port = free_port()
            except ImportError:
                pass
        ready = threading.Event()
        error: list[BaseException] = []

        def run():
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(loop.create_server(
                    self._factory, host=self.host, port=self.port, reuse_address=True))
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as e:           # noqa: BLE001 - handed to the caller
                error.append(e)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            self._server.close()
            for proto in list(self._protocols):
                if proto.transport is not None:
                    try:
                        proto.transport.abort()
                    except Exception:            # noqa: BLE001 - a TLS transport the peer already closed
                        pass
            loop.run_until_complete(asyncio.sleep(0.05))
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=run, name=f"sink-{self.host}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if error:
            raise error[0]
        return self

    def _factory(self):
        extra = {}
        if self.auth is not None:
            extra = dict(authenticator=self._authenticate, auth_require_tls=self.auth_require_tls,
                         auth_exclude_mechanism=["CRAM-MD5"])
        return _SinkSMTP(self, tls_context=self._tls_context, enable_SMTPUTF8=self.smtputf8,
                         data_size_limit=100 * 1024 * 1024, timeout=60, **extra)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.auth.get(user) == password
        with self._lock:
            self.auth_attempts.append((user, server.conn.tls, ok))
        return AuthResult(success=ok, auth_data=user if ok else None, handled=False)

    def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- behaviour

    def reply_for(self, address: str) -> str:
        local = address.rsplit("@", 1)[0].lower()
        for pattern, reply in list(self.rules.items()):
            if fnmatch.fnmatchcase(local, pattern.lower()):
                return reply
        return "250 2.1.5 OK"

    def _new_connection(self, peer) -> Connection:
        with self._lock:
            c = Connection(next(self._ids), peer, time.time())
            self.connections.append(c)
            return c

    # -- assertions

    def wait_for(self, n: int = 1, timeout: float = 30.0, where=None) -> list[Transaction]:
        """Wait until at least n transactions (those `where(t)` is true for) arrived; return them.
        Raises AssertionError on timeout, listing what did arrive."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [t for t in self.transactions if where is None or where(t)]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"sink {self.address}: {len(got)} of {n} expected transactions within "
                        f"{timeout}s; all: {[(t.mail_from, t.rcpt_tos) for t in self.transactions]}; "
                        f"rcpt replies: {self.rcpts[-10:]}")
                self._cond.wait(min(left, 0.5))

    def received_by(self, rcpt: str) -> list[Transaction]:
        with self._lock:
            return [t for t in self.transactions if rcpt.lower() in (r.lower() for r in t.rcpt_tos)]

    def rcpt_attempts(self, rcpt: str) -> list[str]:
        """Replies given to every RCPT TO for this address, in order."""
        with self._lock:
            return [reply for _, a, reply in self.rcpts if a.lower() == rcpt.lower()]

    def clear(self) -> None:
        with self._lock:
            self.transactions.clear()
            self.dropped.clear()
            self.connections.clear()
            self.mails.clear()
            self.rcpts.clear()


# --------------------------------------------------------------------------------------------
# Script

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="SMTP sink: prints one JSON line per transaction.")
    ap.add_argument("--listen", default="127.0.0.1:2626", help="HOST:PORT (loopback)")
    ap.add_argument("--rule", action="append", default=[], metavar="GLOB=REPLY",
                    help='RCPT reply by local part, e.g. "temp*=451 4.3.0 later" (repeatable)')
    ap.add_argument("--temp", action="append", default=[], metavar="GLOB", help="451 4.3.0 for these")
    ap.add_argument("--perm", action="append", default=[], metavar="GLOB", help="550 5.1.1 for these")
    ap.add_argument("--drop-after-data", type=int, default=0, metavar="N",
                    help="cut the connection instead of replying after the dot, N times")
    ap.add_argument("--greeting", choices=["220", "421", "close"], default="220")
    ap.add_argument("--starttls", action="store_true", help="offer STARTTLS (self-signed)")
    ap.add_argument("--no-8bitmime", action="store_true")
    ap.add_argument("--smtputf8", action="store_true")
    ap.add_argument("--dsn", action="store_true")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before every reply")
    ap.add_argument("--save", metavar="DIR", help="also write each message to DIR/N.eml")
    ns = ap.parse_args(argv)

    host, port = ns.listen.rsplit(":", 1)
    rules = {g: "451 4.3.0 temporary failure (sink)" for g in ns.temp}
    rules.update({g: "550 5.1.1 no such user (sink)" for g in ns.perm})
    rules.update(dict(r.split("=", 1) for r in ns.rule))
    sink = Sink(host, int(port), starttls=ns.starttls, smtputf8=ns.smtputf8,
                eightbitmime=not ns.no_8bitmime, dsn=ns.dsn, rules=rules)
    sink.greeting, sink.delay, sink.drop_after_data = ns.greeting, ns.delay, ns.drop_after_data
    save = Path(ns.save) if ns.save else None
    if save:
        save.mkdir(parents=True, exist_ok=True)
    counter = itertools.count(1)

    def show(t: Transaction):
        n = next(counter)
        if save:
            (save / f"{n}.eml").write_bytes(t.data)
        print(json.dumps({"n": n, "conn": t.conn_id, "peer": list(t.peer), "ehlo": t.ehlo,
                          "tls": t.tls, "mail_from": t.mail_from, "mail_options": t.mail_options,
                          "rcpt_tos": t.rcpt_tos, "size": len(t.data), "dropped": t.dropped,
                          "message_id": t.message_id,
                          "data_b64": None if save else base64.b64encode(t.data[:4096]).decode()}),
              flush=True)

    sink.on_message = show
    sink.start()
    print(f"sink listening on {sink.address}", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
