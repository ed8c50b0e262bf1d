"""Helpers shared by the delivery tests (test_delivery*.py, test_bounces.py, test_queue_cli.py).

Everything that depends on how the delivery code names things is at the top of this file, so
that the tests follow the code with one edit here: configuration keys, route types, queue states,
recipient statuses, the JSON keys of `queue show --json`, the Maildir location.

A delivery test starts Gatehouse with `gateway(...)`: an `inbound` listener (internal
recipients, any client) and an `outbound` one (127.0.0.1 may relay for internal senders), high
client limits, the test certificate (no key generation at start), and a `delivery:` section
whose defaults make tests deterministic: retries only when the test asks (`queue flush`) unless
it sets a short `minimum_backoff`, short timeouts.
"""

from __future__ import annotations

import ctypes
import email
import email.policy
import email.utils
import json
import os
import struct
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, Sequence

from harness import (TRUSTED, UNTRUSTED, CLIENT_NAME, CLIResult, Gatehouse, SMTPClient,
                     base_config, listener)

# --------------------------------------------------------------------------------------------
# Names used by the delivery code (adjust here when it lands)

HOSTNAME = "mx.example.test"                   # node.hostname: EHLO, Received:, Reporting-MTA
DELIVERY_KEY = "delivery"
ROUTE_HOSTS, ROUTE_MX, ROUTE_SMARTHOST, ROUTE_LOCAL = "hosts", "mx", "smarthost", "local"
MAILBOXES_DIR = "mailboxes"                    # DATA/mailboxes/<domain>/<localpart>/{tmp,new,cur}

STATE_INCOMING, STATE_ACTIVE, STATE_DEFERRED, STATE_HOLD = "incoming", "active", "deferred", "hold"
RCPT_PENDING, RCPT_DELIVERED, RCPT_FAILED = "pending", "delivered", "failed"

# `queue show ID --json`: where the per-recipient entries are and what their keys may be called
SHOW_RECIPIENTS_KEYS = ("recipients",)
SHOW_ADDRESS_KEYS = ("address", "recipient", "rcpt", "to")
SHOW_STATUS_KEYS = ("status", "state")
SHOW_REASON_KEYS = ("reason", "last_reason", "diagnostic", "last_error", "error", "response")
SHOW_NEXT_ATTEMPT_KEYS = ("next_attempt", "nextAttempt", "next_retry", "next_attempt_at", "retry_at")

# Delivery settings for tests: nothing is retried unless the test flushes or sets a short backoff
TEST_DELIVERY = {
    "concurrency": 20,
    "destination_concurrency": 5,
    "connection_cache": "2s",
    "minimum_backoff": "1h",
    "maximum_backoff": "1h",
    "queue_lifetime": "5d",
    "timeouts": {"connect": "3s", "greeting": "10s", "helo": "10s", "mail": "10s", "rcpt": "10s",
                 "data": "10s", "data_block": "10s", "data_done": "10s"},
}

HIGH_LIMITS = {"messages_per_minute_per_client": 1000000,
               "connections_per_minute_per_client": 1000000,
               "sessions_per_client": 500, "sessions": 2000}

SENDER_DOMAIN = "sender.test"                  # foreign senders; route it to a sink to get bounces


# --------------------------------------------------------------------------------------------
# Routes and configuration

def route_hosts(domains: Sequence[str], hosts: Sequence, tls: str | None = None, **extra) -> dict:
    """`hosts`: "addr:port" strings in failover order, or dicts {address, priority, weight}."""
    r = {"domains": list(domains), "type": ROUTE_HOSTS, "hosts": list(hosts)}
    if tls is not None:
        r["tls"] = tls
    r.update(extra)
    return r


def route_mx(domains: Sequence[str], port: int, tls: str | None = None, **extra) -> dict:
    r = {"domains": list(domains), "type": ROUTE_MX, "port": port}
    if tls is not None:
        r["tls"] = tls
    r.update(extra)
    return r


def route_smarthost(domains: Sequence[str], hosts: Sequence, tls: str | None = None, **extra) -> dict:
    r = {"domains": list(domains), "type": ROUTE_SMARTHOST, "hosts": list(hosts)}
    if tls is not None:
        r["tls"] = tls
    r.update(extra)
    return r


def route_local(domains: Sequence[str], **extra) -> dict:
    return {"domains": list(domains), "type": ROUTE_LOCAL, **extra}


def delivery_section(routes: Sequence[dict], dns: str | None = None, **overrides) -> dict:
    d = json.loads(json.dumps(TEST_DELIVERY))
    for k, v in overrides.items():
        if isinstance(v, dict) and isinstance(d.get(k), dict):
            d[k].update(v)
        else:
            d[k] = v
    if dns is not None:
        d["dns"] = {"nameservers": [dns], "timeout": "1s", "attempts": 2}
    d["routes"] = list(routes)
    return d


def gateway_config(routes: Sequence[dict], *, tls_files=None, dns: str | None = None,
                   internal: Sequence[str] = ("example.test", "example.org"),
                   listener_limits: dict | None = None, **delivery) -> dict:
    limits = {**HIGH_LIMITS, **(listener_limits or {})}
    return base_config([
        listener("inbound", "inbound", tls="starttls", limits=limits),
        listener("outbound", "outbound", tls="starttls", limits=limits,
                 relay_networks=["127.0.0.1/32"]),
    ], hostname=HOSTNAME, internal=internal, tls_files=tls_files,
        **{DELIVERY_KEY: delivery_section(routes, dns=dns, **delivery)})


def gateway(factory, routes: Sequence[dict], *, tls_files=None, dns: str | None = None,
            name: str | None = None, start: bool = True, listener_limits: dict | None = None,
            **delivery) -> Gatehouse:
    """Start Gatehouse (from the `gatehouse` / `module_gatehouse` fixture) with these routes."""
    cfg = gateway_config(routes, tls_files=tls_files, dns=dns, listener_limits=listener_limits,
                         **delivery)
    return factory(cfg, name=name, start=start)


# --------------------------------------------------------------------------------------------
# Messages and injection

def make_message(sender: str, rcpts: Sequence[str], subject: str = "delivery test",
                 body: str = "Hello from the Gatehouse delivery tests.\r\n",
                 headers: dict | None = None, message_id: str | None = None) -> bytes:
    """A small RFC 5322 message with CRLF line ends and a unique Message-ID."""
    mid = message_id or f"<{uuid.uuid4().hex}@{CLIENT_NAME}>"
    h = {"From": f"<{sender}>" if sender else "<MAILER-DAEMON@foreign.test>",
         "To": ", ".join(f"<{r}>" for r in rcpts), "Subject": subject,
         "Date": email.utils.formatdate(localtime=False), "Message-ID": mid}
    h.update(headers or {})
    head = "".join(f"{k}: {v}\r\n" for k, v in h.items())
    if not body.endswith("\r\n"):
        body += "\r\n"
    return (head + "\r\n" + body).encode("utf-8")


def dot_stuff(data: bytes) -> bytes:
    lines = data.split(b"\r\n")
    return b"\r\n".join(b"." + ln if ln.startswith(b".") else ln for ln in lines)


def send(server: Gatehouse, sender: str, rcpts: Sequence[str], body: bytes | None = None, *,
         listener_name: str | None = None, mail_params: str = "",
         rcpt_params: dict[str, str] | None = None, timeout: float = 60) -> str:
    """One transaction that must be accepted; returns the queue id. Internal recipients go in
    through `inbound` from 127.0.0.2, anything else through `outbound` from 127.0.0.1."""
    internal = set(server.config["domains"]["internal"]) if isinstance(server.config, dict) else set()
    if listener_name is None:
        all_internal = all(r.rsplit("@", 1)[-1].lower() in internal for r in rcpts)
        listener_name = "inbound" if all_internal else "outbound"
    source = UNTRUSTED if listener_name == "inbound" else TRUSTED
    body = body if body is not None else make_message(sender, rcpts)
    c = SMTPClient(server.port(listener_name), source=source, timeout=timeout)
    try:
        c.greet()
        c.ehlo()
        m = c.cmd(f"MAIL FROM:<{sender}>" + (f" {mail_params}" if mail_params else ""))
        assert m.code == 250, f"MAIL FROM:<{sender}> {mail_params}: {m}"
        for r in rcpts:
            p = (rcpt_params or {}).get(r, "")
            rr = c.cmd(f"RCPT TO:<{r}>" + (f" {p}" if p else ""))
            assert rr.code == 250, f"RCPT TO:<{r}> {p}: {rr}"
        d = c.cmd("DATA")
        assert d.code == 354, f"DATA: {d}"
        c.send(dot_stuff(body) + b".\r\n")
        r = c.reply(timeout=timeout)
        assert r.code == 250 and r.queue_id, f"end of data: {r}"
        return r.queue_id
    finally:
        c.quit()


def send_many(server: Gatehouse, sender: str, rcpt: str, n: int, subject: str = "bulk") -> list[str]:
    """n messages over one session; returns the Message-IDs in order."""
    mids = []
    c = SMTPClient(server.port("inbound"), source=UNTRUSTED, timeout=30)
    try:
        c.greet()
        c.ehlo()
        for i in range(n):
            mid = f"<{subject}.{i}.{uuid.uuid4().hex[:8]}@{CLIENT_NAME}>"
            r = c.send_mail(sender, [rcpt], make_message(sender, [rcpt], f"{subject} {i}",
                                                          message_id=mid))
            assert r.code == 250, str(r)
            mids.append(mid)
    finally:
        c.quit()
    return mids


# --------------------------------------------------------------------------------------------
# Waiting and the queue CLI

def wait_until(fn: Callable, timeout: float = 30.0, what: str | Callable[[], str] = "condition",
               interval: float = 0.1):
    """Poll fn() until it returns something truthy (returned); AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: "
                                 f"{what() if callable(what) else what}")
        time.sleep(interval)


def queue_cmd(server: Gatehouse, verb: str, *args: str, check: bool = True,
              json_out: bool = False) -> CLIResult:
    argv = ["queue", verb, *args, "--data", str(server.data)]
    if json_out:
        argv.append("--json")
    r = server.cli(*argv)
    if check:
        assert r.returncode == 0, str(r)
    return r


def flush(server: Gatehouse) -> None:
    queue_cmd(server, "flush")


def queue_entry(server: Gatehouse, qid: str) -> dict | None:
    for e in server.queue_list():
        if e["id"] == qid:
            return e
    return None


def state_of(server: Gatehouse, qid: str) -> str | None:
    """The message's state in `queue list --json`, None when it has left the queue."""
    e = queue_entry(server, qid)
    return e["state"] if e else None


def wait_state(server: Gatehouse, qid: str, state: str | None, timeout: float = 30.0) -> None:
    wait_until(lambda: state_of(server, qid) == state, timeout,
               lambda: f"{qid} in state {state!r}; it is {state_of(server, qid)!r}\n"
                       f"{server.log_tail(30)}")


def wait_gone(server: Gatehouse, qid: str, timeout: float = 30.0) -> None:
    wait_state(server, qid, None, timeout)


def wait_queue_empty(server: Gatehouse, timeout: float = 60.0) -> None:
    def left():
        return [(e["id"], e["state"]) for e in server.queue_list()]
    wait_until(lambda: not left(), timeout, lambda: f"an empty queue; left: {left()[:10]}",
               interval=0.3)


def show(server: Gatehouse, qid: str) -> dict:
    r = queue_cmd(server, "show", qid, json_out=True)
    try:
        d = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"queue show --json did not print JSON ({e})\n{r}")
    if isinstance(d, list):
        assert len(d) == 1, f"queue show {qid}: {d}"
        d = d[0]
    return d


def _first(d: dict, keys: Iterable[str], default=None):
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return default


def recipients_status(shown: dict) -> dict[str, dict]:
    """{address: {"status": ..., "reason": ...}} from `queue show --json`."""
    entries = _first(shown, SHOW_RECIPIENTS_KEYS)
    if entries is None and isinstance(shown.get("envelope"), dict):
        entries = _first(shown["envelope"], SHOW_RECIPIENTS_KEYS)
    assert isinstance(entries, list), f"no recipient list in queue show: {shown}"
    out = {}
    for e in entries:
        if isinstance(e, str):
            out[e.lower()] = {"status": None, "reason": "", "raw": e}
            continue
        addr = _first(e, SHOW_ADDRESS_KEYS)
        assert addr, f"no address in recipient entry {e}"
        reason = _first(e, SHOW_REASON_KEYS, "")
        out[addr.lower()] = {"status": _first(e, SHOW_STATUS_KEYS), "reason": str(reason), "raw": e}
    return out


def next_attempt(shown: dict):
    return _first(shown, SHOW_NEXT_ATTEMPT_KEYS)


# --------------------------------------------------------------------------------------------
# Bounces (RFC 3464)

def bounces_to(sink, address: str) -> list:
    """Transactions from the null sender to `address` that reached the sink."""
    return [t for t in list(sink.transactions)
            if t.mail_from == "" and address.lower() in (r.lower() for r in t.rcpt_tos)]


def wait_bounces(sink, address: str, n: int = 1, timeout: float = 30.0) -> list:
    return wait_until(lambda: len(bounces_to(sink, address)) >= n and bounces_to(sink, address),
                      timeout, lambda: f"{n} bounce(s) to {address}; sink has "
                                       f"{[(t.mail_from, t.rcpt_tos) for t in sink.transactions]}")


class DSN:
    """A parsed delivery status notification: .msg (the whole message), .human (text part),
    .per_message (dict), .per_recipient (list of dicts, header names lower-cased),
    .original (the returned message or headers, parsed), .original_type."""

    def __init__(self, data: bytes):
        self.raw = data
        self.msg = email.message_from_bytes(data, policy=email.policy.default)
        assert self.msg.get_content_type() == "multipart/report", \
            f"bounce is {self.msg.get_content_type()}, not multipart/report\n{data[:2000]!r}"
        parts = self.msg.get_payload()
        self.parts = parts
        self.human = parts[0]
        status = [p for p in parts if p.get_content_type() == "message/delivery-status"]
        assert len(status) == 1, f"{len(status)} message/delivery-status parts: " \
                                 f"{[p.get_content_type() for p in parts]}"
        blocks = status[0].get_payload()
        assert isinstance(blocks, list) and len(blocks) >= 2, \
            f"delivery-status needs a per-message and >= 1 per-recipient block: {blocks!r}"
        self.per_message = {k.lower(): str(v) for k, v in blocks[0].items()}
        self.per_recipient = [{k.lower(): str(v) for k, v in b.items()} for b in blocks[1:]]
        rest = [p for p in parts[1:] if p.get_content_type() in ("message/rfc822",
                                                                  "text/rfc822-headers")]
        self.original_type = rest[0].get_content_type() if rest else None
        self.original = None
        if rest:
            if self.original_type == "message/rfc822":
                self.original = rest[0].get_payload()[0]
            else:
                raw = rest[0].get_payload(decode=True) or rest[0].get_content().encode()
                self.original = email.message_from_bytes(raw, policy=email.policy.default)

    def recipient(self, address: str) -> dict:
        for r in self.per_recipient:
            if address.lower() in r.get("final-recipient", "").lower():
                return r
        raise AssertionError(f"no per-recipient block for {address}: {self.per_recipient}")


# --------------------------------------------------------------------------------------------
# Maildir (local delivery)

def maildir(server: Gatehouse, address: str) -> Path:
    local, domain = address.rsplit("@", 1)
    return server.data / MAILBOXES_DIR / domain.lower() / local.lower()


def maildir_messages(server: Gatehouse, address: str) -> list[Path]:
    out = []
    for sub in ("new", "cur"):
        d = maildir(server, address) / sub
        if d.is_dir():
            out += sorted(p for p in d.iterdir() if p.is_file())
    return out


def crlf_to_lf(b: bytes) -> bytes:
    return b.replace(b"\r\n", b"\n")


class Inotify:
    """inotify(7) on one directory through libc: which files were created, moved in, or written
    in place there."""
    IN_MODIFY, IN_CLOSE_WRITE, IN_CREATE, IN_MOVED_TO = 0x2, 0x8, 0x100, 0x80
    NAMES = {0x2: "MODIFY", 0x8: "CLOSE_WRITE", 0x100: "CREATE", 0x80: "MOVED_TO"}

    def __init__(self, directory: Path):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, f"inotify_init1: errno {ctypes.get_errno()}"
        mask = self.IN_MODIFY | self.IN_CLOSE_WRITE | self.IN_CREATE | self.IN_MOVED_TO
        wd = libc.inotify_add_watch(self.fd, str(directory).encode(), mask)
        assert wd >= 0, f"inotify_add_watch({directory}): errno {ctypes.get_errno()}"
        self.events: list[tuple[str, str]] = []

    def read(self) -> list[tuple[str, str]]:
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return self.events
            i = 0
            while i < len(buf):
                _wd, mask, _cookie, ln = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode(errors="replace")
                for bit, label in self.NAMES.items():
                    if mask & bit:
                        self.events.append((label, name))
                i += 16 + ln

    def close(self):
        os.close(self.fd)


class DirWatcher(threading.Thread):
    """Polls a directory as fast as it can and records the size of each file the first time it
    is seen (a file that is still being written shows a smaller size than its final one)."""

    def __init__(self, directory: Path):
        super().__init__(daemon=True)
        self.directory = directory
        self.first_size: dict[str, int] = {}
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            try:
                names = os.listdir(self.directory)
            except FileNotFoundError:
                names = []
            for n in names:
                if n not in self.first_size:
                    try:
                        self.first_size[n] = os.stat(self.directory / n).st_size
                    except FileNotFoundError:
                        pass
            time.sleep(0.0005)

    def stop(self):
        self.stop_event.set()
        self.join(5)
