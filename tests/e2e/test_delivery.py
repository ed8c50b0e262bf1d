"""Delivery (issue "Mail path II"): the queue manager delivers what the spool accepted.

Each test starts Gatehouse with a `delivery:` section pointing at in-process SMTP sinks
(sink.py), a DNS server (dnsserver.py) or a private Postfix (postfix_server.py), all on
127.0.0.0/8. Retries happen only when a test runs `gatehouse queue flush`, unless it sets a short
`minimum_backoff` (see deliverykit.TEST_DELIVERY). Names the code may spell differently are in
deliverykit.py.
"""

from __future__ import annotations

import collections
import email
import email.policy
import re
import time

import pytest

from deliverykit import (HOSTNAME, RCPT_DELIVERED, RCPT_FAILED, RCPT_PENDING, STATE_DEFERRED,
                         DSN, DirWatcher, Inotify, bounces_to, crlf_to_lf, flush, gateway,
                         make_message, maildir, maildir_messages, recipients_status,
                         route_hosts, route_local, route_mx, route_smarthost, send, send_many,
                         show, wait_bounces, wait_gone, wait_queue_empty, wait_state,
                         wait_until)
from harness import free_port, port_is_busy

SENDER = "origin@sender.test"                  # foreign sender; sender.test is routed to the sink
ALICE, BOB = "alice@example.org", "bob@example.org"


def sink_routes(sink, *domains, tls=None):
    """example.org (and the sender's domain, for bounces) to one sink."""
    return [route_hosts(list(domains) or ["example.org", "sender.test"], [sink.address], tls=tls)]


def dead_address() -> str:
    """A loopback address:port nobody listens on (connection refused)."""
    return f"127.0.0.1:{free_port()}"


def received_prefix(data: bytes, original: bytes) -> bytes:
    """What Gatehouse put in front of the original message; asserts the rest is untouched."""
    assert data.endswith(original), ("the message must reach the next hop unchanged after the "
                                     f"Received: header\n--- got\n{data[:1500]!r}\n--- sent\n{original[:1500]!r}")
    return data[:len(data) - len(original)]


# --- the basic path ----------------------------------------------------------------------------

def test_envelope_and_data_arrive_intact_with_received_header(gatehouse, tls_files, sinks):
    sink = sinks()
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    body = make_message(SENDER, [ALICE, BOB], "intact", body=(
        "First line\r\n.starts with a dot\r\n..two dots\r\n.\r\n"
        + "x" * 990 + "\r\n" + "tab\there  trailing space \r\n\r\nlast line\r\n"))
    qid = send(gh, SENDER, [ALICE, BOB], body)

    wait_until(lambda: {r for t in sink.transactions for r in t.rcpt_tos} >= {ALICE, BOB}, 30,
               "both recipients at the sink")
    wait_gone(gh, qid)                                   # a delivered message leaves the queue
    got = collections.Counter(r for t in sink.transactions for r in t.rcpt_tos)
    assert got == {ALICE: 1, BOB: 1}, f"each recipient exactly once: {got}"
    for t in sink.transactions:
        assert t.mail_from == SENDER
        assert t.ehlo == HOSTNAME, f"EHLO name should be node.hostname, was {t.ehlo!r}"
        prefix = received_prefix(t.data, body)
        assert prefix.startswith(b"Received: "), f"Received: header first, got {prefix[:200]!r}"
        assert re.search(rb"\bby " + re.escape(HOSTNAME.encode()), prefix), prefix
        assert qid.encode() in prefix, f"the queue id should be in our Received: header: {prefix!r}"
        assert all(ln.startswith((b"Received:", b" ", b"\t")) for ln in prefix.split(b"\r\n")[:-1]), \
            f"only the Received: header is added: {prefix!r}"
    assert len(sink.transactions) == 1, \
        f"two recipients at one destination should go in one transaction: {len(sink.transactions)}"


def test_delivery_is_logged(gatehouse, tls_files, sinks):
    sink = sinks()
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    qid = send(gh, SENDER, [ALICE])
    wait_gone(gh, qid)
    wait_until(lambda: re.search(rf"{qid}: to=<{re.escape(ALICE)}>.*status=sent", gh.log_text()),
               10, lambda: f"a Postfix-style delivery log line\n{gh.log_tail(20)}")
    line = re.search(rf"{qid}: to=<{re.escape(ALICE)}>.*", gh.log_text()).group(0)
    assert "relay=" in line and sink.address.split(":")[1] in line, line


def test_smarthost_route(gatehouse, tls_files, sinks):
    sink = sinks()
    gh = gateway(gatehouse, [route_smarthost(["*"], [sink.address])], tls_files=tls_files)
    qid = send(gh, "alice@example.test", ["someone@far-away.test"])
    t = sink.wait_for(1)[0]
    assert t.mail_from == "alice@example.test" and t.rcpt_tos == ["someone@far-away.test"]
    wait_gone(gh, qid)


def test_smarthost_auth_is_sent_over_tls(gatehouse, tls_files, sinks):
    sink = sinks(starttls=True, auth={"relayuser": "s3cret pass"})
    route = route_smarthost(["*"], [sink.address], tls="required", auth={"username": "relayuser", "password": "s3cret pass"})
    gh = gateway(gatehouse, [route], tls_files=tls_files)
    qid = send(gh, "alice@example.test", ["someone@far-away.test"])
    t = sink.wait_for(1)[0]
    assert t.tls and t.login == "relayuser", (t.tls, t.login)
    assert sink.auth_attempts == [("relayuser", True, True)]
    wait_gone(gh, qid)


def test_smarthost_credentials_never_cross_in_plain_text(gatehouse, tls_files, sinks):
    # The relay offers AUTH without STARTTLS: Gatehouse defers instead of sending the password.
    sink = sinks(auth={"relayuser": "s3cret"}, auth_require_tls=False)
    route = route_smarthost(["*"], [sink.address], tls="opportunistic", auth={"username": "relayuser", "password": "s3cret"})
    gh = gateway(gatehouse, [route], tls_files=tls_files)
    qid = send(gh, "alice@example.test", ["someone@far-away.test"])
    wait_state(gh, qid, STATE_DEFERRED)
    assert sink.auth_attempts == [] and sink.transactions == []
    assert "4.7.4" in str(show(gh, qid)), show(gh, qid)


def test_smarthost_refusing_the_credentials_defers(gatehouse, tls_files, sinks):
    sink = sinks(starttls=True, auth={"relayuser": "right"})
    route = route_smarthost(["*"], [sink.address], tls="required", auth={"username": "relayuser", "password": "wrong"})
    gh = gateway(gatehouse, [route], tls_files=tls_files)
    qid = send(gh, "alice@example.test", ["someone@far-away.test"])
    wait_state(gh, qid, STATE_DEFERRED)
    assert sink.auth_attempts and all(not ok for _, _, ok in sink.auth_attempts)
    assert sink.transactions == []
    assert "authentication" in str(show(gh, qid)), show(gh, qid)


def test_ipv6_next_hops(gatehouse, tls_files, sinks, dns_server):
    # A literal [::1] next hop, and an MX whose host has only an AAAA record.
    v6 = sinks(host="::1")
    dns = dns_server({"six.test": {"MX": [(10, "mx.six.test")]}, "mx.six.test": {"AAAA": ["::1"]}})
    gh = gateway(gatehouse, [route_hosts(["example.org"], [f"[::1]:{v6.port}"]), route_mx(["six.test"], v6.port)],
                 tls_files=tls_files, dns=dns.address)
    send(gh, "alice@example.test", ["bob@example.org"])
    send(gh, "alice@example.test", ["carol@six.test"])
    wait_until(lambda: {r for t in v6.transactions for r in t.rcpt_tos} >= {"bob@example.org", "carol@six.test"}, 30,
               "both messages at the IPv6 sink")
    assert all(t.peer[0] == "::1" for t in v6.transactions)


class InjectingHop:
    """A next hop that answers STARTTLS with "220" followed, in the same packet, by plain-text
    replies meant to be read as if they came over TLS (response injection, CVE-2011-0411 style).
    After the handshake it is a plain, correct SMTP server; `lines` is what it was sent."""

    def __init__(self, cert_dir):
        import socket
        import ssl
        import threading
        from sink import make_self_signed
        cert, key = make_self_signed(cert_dir)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self.delivered = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        conn, _ = self.sock.accept()
        conn.settimeout(20)
        f = conn.makefile("rb")

        def line():
            text = f.readline().decode(errors="replace").rstrip("\r\n")
            self.lines.append(text)
            return text
        conn.sendall(b"220 hostile.test ESMTP\r\n")
        line()
        conn.sendall(b"250-hostile.test\r\n250 STARTTLS\r\n")
        assert line().upper() == "STARTTLS"
        conn.sendall(b"220 2.0.0 go ahead\r\n250-injected.test\r\n250 AUTH PLAIN\r\n")
        tls = self.tls.wrap_socket(conn, server_side=True)
        f = tls.makefile("rb")
        replies = {"EHLO": b"250-hostile.test\r\n250 8BITMIME\r\n", "MAIL": b"250 2.1.0 ok\r\n", "RCPT": b"250 2.1.5 ok\r\n",
                   "DATA": b"354 go\r\n", "QUIT": b"221 bye\r\n", "RSET": b"250 ok\r\n", "NOOP": b"250 ok\r\n"}
        while True:
            text = line()
            if not text:
                break
            verb = text.split(" ", 1)[0].split(":", 1)[0].upper()
            tls.sendall(replies.get(verb, b"502 5.5.2 what\r\n"))
            if verb == "DATA":
                while line() != ".":
                    pass
                tls.sendall(b"250 2.0.0 accepted\r\n")
                self.delivered.set()
            if verb == "QUIT":
                break
        tls.close()


def test_replies_injected_after_starttls_are_discarded(gatehouse, tls_files, tmp_path):
    hop = InjectingHop(tmp_path)
    gh = gateway(gatehouse, [route_hosts(["example.org"], [f"127.0.0.1:{hop.port}"], tls="required")], tls_files=tls_files)
    qid = send(gh, "alice@example.test", ["bob@example.org"])
    assert hop.delivered.wait(30), hop.lines
    wait_gone(gh, qid)
    verbs = [l.split(" ", 1)[0].split(":", 1)[0].upper() for l in hop.lines if l]
    assert "AUTH" not in verbs, hop.lines
    assert verbs.count("EHLO") == 2, hop.lines          # the injected "250" was not taken as the EHLO reply
    wait_until(lambda: "bytes of plain text after the 220 to STARTTLS discarded" in gh.log_text(), 10, "the warning in the log")


def test_routes_first_match_wins_and_subdomains(gatehouse, tls_files, sinks):
    exact, sub, default = sinks(), sinks(), sinks()
    gh = gateway(gatehouse, [
        route_hosts(["example.org"], [exact.address]),
        route_hosts([".example.org"], [sub.address]),
        route_hosts(["example.org", "other.test"], [default.address]),   # shadowed for example.org
        route_hosts(["*"], [default.address]),
    ], tls_files=tls_files)
    send(gh, "alice@example.test", ["a@example.org"])
    send(gh, "alice@example.test", ["b@deep.sub.example.org"])
    send(gh, "alice@example.test", ["c@other.test", "d@notexample.org"])
    exact.wait_for(1)
    sub.wait_for(1)
    wait_until(lambda: {r for t in default.transactions for r in t.rcpt_tos} >= {"c@other.test",
                                                                               "d@notexample.org"},
               30, "the default route")
    assert [r for t in exact.transactions for r in t.rcpt_tos] == ["a@example.org"]
    assert [r for t in sub.transactions for r in t.rcpt_tos] == ["b@deep.sub.example.org"]
    assert "a@example.org" not in {r for t in default.transactions for r in t.rcpt_tos}


# --- next hops: failover, priority, weights, connection reuse ----------------------------------

@pytest.mark.parametrize("first", ["refused", "421", "close"])
def test_failover_when_first_hop_is_down(gatehouse, tls_files, sinks, first):
    good = sinks()
    if first == "refused":
        bad_address, bad = dead_address(), None
    else:
        bad = sinks()
        bad.greeting = first
        bad_address = bad.address
    gh = gateway(gatehouse, [route_hosts(["example.org", "sender.test"], [bad_address, good.address])],
                 tls_files=tls_files)
    qid = send(gh, SENDER, [ALICE])
    t = good.wait_for(1, timeout=30)[0]
    assert t.rcpt_tos == [ALICE]
    wait_gone(gh, qid)
    if bad is not None:
        assert len(bad.connections) >= 1 and not bad.transactions
    assert not bounces_to(good, SENDER)


def test_failover_to_lower_priority_only_when_higher_are_down(gatehouse, tls_files, sinks):
    primary, backup = sinks(), sinks()
    gh = gateway(gatehouse, [route_hosts(["example.org"], [
        {"address": dead_address(), "priority": 10},
        {"address": primary.address, "priority": 10},
        {"address": backup.address, "priority": 20}])], tls_files=tls_files)
    for i in range(5):
        send(gh, SENDER, [ALICE])
    primary.wait_for(5)
    primary.stop()
    qid = send(gh, SENDER, [BOB])
    assert backup.wait_for(1)[0].rcpt_tos == [BOB]
    wait_gone(gh, qid)
    assert sum(len(t.rcpt_tos) for t in backup.transactions) == 1, \
        "the priority-20 host must not get mail while a priority-10 host is up"


@pytest.mark.timeout(180)
def test_weights_share_load(gatehouse, tls_files, sinks):
    n = 200
    heavy, light, backup = sinks(), sinks(), sinks()
    gh = gateway(gatehouse, [route_hosts(["example.org"], [
        {"address": heavy.address, "priority": 10, "weight": 3},
        {"address": light.address, "priority": 10, "weight": 1},
        {"address": backup.address, "priority": 20}])],
        tls_files=tls_files, connection_cache="0")       # one message per connection: a fair count
    send_many(gh, SENDER, ALICE, n, "weights")
    wait_until(lambda: len(heavy.transactions) + len(light.transactions) >= n, 90,
               lambda: f"{n} deliveries, have {len(heavy.transactions)} + {len(light.transactions)}")
    share = len(heavy.transactions) / n
    print(f"\nweight 3:1 -> {len(heavy.transactions)}:{len(light.transactions)} (share {share:.2f})")
    # binomial(200, 0.75): sd 6.1 messages; 0.65..0.85 is more than 3 sd either side
    assert 0.65 <= share <= 0.85, f"weight 3:1 gave {len(heavy.transactions)}:{len(light.transactions)}"
    assert not backup.transactions and not backup.connections
    wait_queue_empty(gh)


def test_connection_reuse(gatehouse, tls_files, sinks):
    n = 30
    sink = sinks()
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files, connection_cache="2s",
                 destination_concurrency=2)
    send_many(gh, SENDER, ALICE, n, "reuse")
    sink.wait_for(n, timeout=60)
    per_conn = collections.Counter(t.conn_id for t in sink.transactions)
    print(f"\n{n} messages over {len(per_conn)} connections: {sorted(per_conn.values(), reverse=True)}")
    assert max(per_conn.values()) >= 3, f"no connection carried several messages: {per_conn}"
    assert len(sink.connections) <= n // 2, f"{len(sink.connections)} connections for {n} messages"
    wait_queue_empty(gh)


@pytest.mark.parametrize("active_limit", [10000, 3])
def test_parallel_sessions_each_message_delivered_exactly_once(gatehouse, tls_files, sinks, active_limit):
    """Many sessions committing at once while the queue manager delivers: messages handed to it at
    commit and those found by its scans of the queue must each arrive once, and nothing may be
    left behind in the queue (a message both scanned and handed over was once delivered twice,
    and one taken by neither stayed in active/). A tiny active set makes the queue manager refuse
    hand-overs and scan after every delivery, so scans and hand-overs meet all the time."""
    import shutil
    import subprocess
    source = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    if not shutil.which(source):
        pytest.skip("smtp-source (postfix) not installed")
    n = 600
    sink = sinks()
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files, connection_cache="2s",
                 active_limit=active_limit)
    argv = [source, "-s", "20", "-m", str(n), "-l", "2000", "-f", SENDER, "-t", ALICE,
            f"127.0.0.1:{gh.port('inbound')}"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stdout + p.stderr
    sink.wait_for(n, timeout=120)
    wait_queue_empty(gh, timeout=60)
    time.sleep(1.5)                                   # a late duplicate would arrive by now
    ids = [re.search(rb"\(Gatehouse\) with \S+ id ([0-9A-Za-z]+)", t.data).group(1) for t in sink.transactions]
    dupes = [i for i, c in collections.Counter(ids).items() if c > 1]
    assert not dupes, f"{len(dupes)} messages delivered more than once, e.g. {dupes[:3]}"
    assert len(ids) == n, f"{len(ids)} delivered for {n} accepted"


def test_connection_cache_off_means_one_message_per_connection(gatehouse, tls_files, sinks):
    n = 60
    sink = sinks()
    sink.delay = 0.02                 # slow enough that jobs wait for workers (and could reuse them)
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files, connection_cache="0",
                 destination_concurrency=2)
    send_many(gh, SENDER, ALICE, n, "nocache")
    sink.wait_for(n)
    per_conn = collections.Counter(t.conn_id for t in sink.transactions)
    assert set(per_conn.values()) == {1}, f"connection_cache 0 still reused connections: {per_conn}"


def test_destination_concurrency_is_respected(gatehouse, tls_files, sinks):
    sink = sinks()
    sink.delay = 0.05                                    # keep sessions open a little
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files, destination_concurrency=2,
                 connection_cache="0")
    send_many(gh, SENDER, ALICE, 20, "conc")
    sink.wait_for(20, timeout=60)
    events = sorted([(c.started, 1) for c in sink.connections] +
                    [(c.closed or time.time(), -1) for c in sink.connections])
    peak = cur = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    assert peak <= 2, f"{peak} simultaneous connections with destination_concurrency 2"


# --- per-recipient results, retries ---------------------------------------------------------------

def test_per_recipient_250_4xx_5xx(gatehouse, tls_files, sinks):
    ok, temp, perm = "ok@example.org", "temp1@example.org", "perm1@example.org"
    sink = sinks(rules={"temp*": "451 4.3.0 mailbox busy, try later",
                        "perm*": "550 5.1.1 no such user here"})
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    qid = send(gh, SENDER, [ok, temp, perm])

    first = sink.wait_for(1, where=lambda t: t.mail_from == SENDER)[0]
    assert first.rcpt_tos == [ok]
    bounce = wait_bounces(sink, SENDER)[0]
    dsn = DSN(bounce.data)
    assert [r["final-recipient"].split(";")[-1].strip().lower() for r in dsn.per_recipient] == [perm], \
        f"the bounce names only the 5xx recipient: {dsn.per_recipient}"
    wait_state(gh, qid, STATE_DEFERRED)
    st = recipients_status(show(gh, qid))
    assert st[ok]["status"] == RCPT_DELIVERED, st
    assert st[temp]["status"] == RCPT_PENDING and "451" in st[temp]["reason"], st
    assert st[perm]["status"] == RCPT_FAILED, st
    perm_entry = st[perm]["raw"]                         # its reason is checked last (see below)

    flush(gh)                                            # still 451: tried again, only temp
    wait_until(lambda: len(sink.rcpt_attempts(temp)) >= 2, 30, "a second attempt for the 4xx rcpt")
    wait_state(gh, qid, STATE_DEFERRED)
    assert len(sink.rcpt_attempts(ok)) == 1 and len(sink.rcpt_attempts(perm)) == 1, sink.rcpts

    sink.rules = {"perm*": "550 5.1.1 no such user here"}  # the busy mailbox accepts now
    flush(gh)
    second = sink.wait_for(1, where=lambda t: t.mail_from == SENDER and temp in t.rcpt_tos)[0]
    assert second.rcpt_tos == [temp]
    wait_gone(gh, qid)
    assert len(sink.received_by(ok)) == 1 and len(sink.received_by(temp)) == 1
    assert len(sink.rcpt_attempts(perm)) == 1, "a 5xx recipient must never be tried again"
    assert len(bounces_to(sink, SENDER)) == 1
    assert "550" in str(st[perm]["reason"]), \
        f"queue show should give the last reason for a failed recipient too: {perm_entry}"


def test_drop_after_data_is_retried_not_lost(gatehouse, tls_files, sinks):
    sink = sinks()
    sink.drop_after_data = 1
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    body = make_message(SENDER, [ALICE], "dropped once")
    qid = send(gh, SENDER, [ALICE], body)
    wait_until(lambda: sink.dropped, 30, "the sink to cut the first attempt after the dot")
    wait_state(gh, qid, STATE_DEFERRED)               # no reply after the dot: not delivered yet
    st = recipients_status(show(gh, qid))
    assert st[ALICE]["status"] == RCPT_PENDING, st
    flush(gh)
    t = sink.wait_for(1)[0]
    assert t.data.endswith(body)
    wait_gone(gh, qid)
    assert not bounces_to(sink, SENDER)


def test_automatic_retry_with_backoff(gatehouse, tls_files, sinks):
    sink = sinks(rules={"*": "451 4.3.0 not yet"})
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files, minimum_backoff="2s",
                 maximum_backoff="4s")
    qid = send(gh, SENDER, [ALICE])
    wait_until(lambda: sink.rcpt_attempts(ALICE), 30, "a first attempt")
    t_first = time.monotonic()
    wait_state(gh, qid, STATE_DEFERRED)
    wait_until(lambda: len(sink.rcpt_attempts(ALICE)) >= 2, 30, "an automatic second attempt")
    gap = time.monotonic() - t_first
    assert gap >= 1.5, f"retried after {gap:.1f}s with minimum_backoff 2s"
    sink.rules = {}
    sink.wait_for(1, timeout=30)
    wait_gone(gh, qid)


def test_slow_hop_times_out_and_is_retried(gatehouse, tls_files, sinks):
    sink = sinks()
    sink.delay = 2.5                                      # every reply, the greeting included
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files,
                 timeouts={k: "1s" for k in ("greeting", "helo", "mail", "rcpt", "data",
                                             "data_block", "data_done")})
    qid = send(gh, SENDER, [ALICE])
    wait_until(lambda: sink.connections, 30, "a connection")
    wait_state(gh, qid, STATE_DEFERRED)
    reason = recipients_status(show(gh, qid))[ALICE]["reason"]
    assert re.search(r"time|greeting", reason, re.I), f"queue show should name the timeout: {reason!r}"
    assert not sink.transactions
    sink.delay = 0
    flush(gh)
    sink.wait_for(1)
    wait_gone(gh, qid)


# --- TLS policy per route ---------------------------------------------------------------------------

def test_tls_required_without_starttls_defers_and_never_sends_in_clear(gatehouse, tls_files, sinks):
    sink = sinks(starttls=False)
    gh = gateway(gatehouse, [route_hosts(["example.org"], [sink.address], tls="required")],
                 tls_files=tls_files)
    qid = send(gh, SENDER, [ALICE])
    wait_until(lambda: any(c.ehlo for c in sink.connections), 30, "Gatehouse to connect and EHLO")
    wait_state(gh, qid, STATE_DEFERRED)
    time.sleep(0.5)
    assert not sink.mails and not sink.transactions, "mail was sent in clear under tls: required"
    reason = recipients_status(show(gh, qid))[ALICE]["reason"]
    assert re.search(r"tls|starttls", reason, re.I), f"queue show should say why: {reason!r}"
    flush(gh)                                            # and again on retry
    wait_until(lambda: sum(1 for c in sink.connections if c.ehlo) >= 2, 30, "a second attempt")
    wait_state(gh, qid, STATE_DEFERRED)
    assert not sink.mails


@pytest.mark.parametrize("policy,offered,expect_tls", [
    ("required", True, True), ("opportunistic", True, True), ("opportunistic", False, False),
    ("none", True, False)])
def test_tls_policies_that_deliver(gatehouse, tls_files, sinks, policy, offered, expect_tls):
    sink = sinks(starttls=offered)
    gh = gateway(gatehouse, [route_hosts(["example.org"], [sink.address], tls=policy)],
                 tls_files=tls_files)
    qid = send(gh, SENDER, [ALICE])
    t = sink.wait_for(1)[0]
    assert t.tls == expect_tls, f"tls: {policy}, STARTTLS offered: {offered} -> tls={t.tls}"
    wait_gone(gh, qid)


def test_tls_verify_refuses_self_signed_hop(gatehouse, tls_files, sinks):
    sink = sinks(starttls=True)
    gh = gateway(gatehouse, [route_hosts(["example.org"], [sink.address], tls="verify")],
                 tls_files=tls_files)
    qid = send(gh, SENDER, [ALICE])
    wait_until(lambda: sink.connections, 30, "a connection")
    wait_state(gh, qid, STATE_DEFERRED)
    assert not sink.mails, "mail sent to a hop whose certificate does not verify"
    reason = recipients_status(show(gh, qid))[ALICE]["reason"]
    assert re.search(r"certif|verif|tls", reason, re.I), reason


# --- MX ------------------------------------------------------------------------------------------------

def mx_gateway(gatehouse, tls_files, dns, port, bounce_sink, **kw):
    return gateway(gatehouse, [route_hosts(["example.test"], [bounce_sink.address]),
                               route_mx(["*"], port)], tls_files=tls_files, dns=dns.address, **kw)


MX_ZONE = {
    "dest.test": {"MX": [(20, "mx2.dest.test"), (10, "mx1.dest.test")]},
    "mx1.dest.test": {"A": ["127.0.0.11"]},
    "mx2.dest.test": {"A": ["127.0.0.12"]},
    "a-only.test": {"A": ["127.0.0.13"]},
    "nullmx.test": {"MX": [(0, ".")]},
    "broken.test": {"SERVFAIL": True},
}


def test_mx_lookup_lowest_preference_first(gatehouse, tls_files, sinks, dns_server):
    port = free_port()
    mx1, mx2, bsink = sinks("127.0.0.11", port), sinks("127.0.0.12", port), sinks()
    dns = dns_server(MX_ZONE)
    gh = mx_gateway(gatehouse, tls_files, dns, port, bsink)
    qid = send(gh, "alice@example.test", ["bob@dest.test"])
    assert mx1.wait_for(1)[0].rcpt_tos == ["bob@dest.test"]
    wait_gone(gh, qid)
    assert not mx2.transactions
    assert dns.asked("dest.test", "MX") and dns.asked("mx1.dest.test", "A")


def test_mx_failover_to_next_preference(gatehouse, tls_files, sinks, dns_server):
    port = free_port()
    mx2, bsink = sinks("127.0.0.12", port), sinks()     # nothing listens on 127.0.0.11
    dns = dns_server(MX_ZONE)
    gh = mx_gateway(gatehouse, tls_files, dns, port, bsink)
    qid = send(gh, "alice@example.test", ["bob@dest.test"])
    assert mx2.wait_for(1)[0].rcpt_tos == ["bob@dest.test"]
    wait_gone(gh, qid)


def test_no_mx_falls_back_to_address_record(gatehouse, tls_files, sinks, dns_server):
    port = free_port()
    host, bsink = sinks("127.0.0.13", port), sinks()
    dns = dns_server(MX_ZONE)
    gh = mx_gateway(gatehouse, tls_files, dns, port, bsink)
    qid = send(gh, "alice@example.test", ["bob@a-only.test"])
    assert host.wait_for(1)[0].rcpt_tos == ["bob@a-only.test"]
    wait_gone(gh, qid)


def test_null_mx_bounces_immediately(gatehouse, tls_files, sinks, dns_server):
    bsink = sinks()
    dns = dns_server(MX_ZONE)
    gh = mx_gateway(gatehouse, tls_files, dns, free_port(), bsink)   # minimum_backoff is 1h
    qid = send(gh, "alice@example.test", ["bob@nullmx.test"])
    bounce = wait_bounces(bsink, "alice@example.test", timeout=20)[0]
    r = DSN(bounce.data).recipient("bob@nullmx.test")
    assert r["action"] == "failed" and r["status"].startswith("5."), r
    assert r["status"] == "5.1.10", f"RFC 7505 null MX: 556 5.1.10 expected, got {r['status']}"
    wait_gone(gh, qid)
    assert dns.asked("nullmx.test", "MX")


def test_nxdomain_bounces(gatehouse, tls_files, sinks, dns_server):
    bsink = sinks()
    dns = dns_server(MX_ZONE)
    gh = mx_gateway(gatehouse, tls_files, dns, free_port(), bsink)
    qid = send(gh, "alice@example.test", ["bob@no-such-domain.test"])
    bounce = wait_bounces(bsink, "alice@example.test", timeout=20)[0]
    r = DSN(bounce.data).recipient("bob@no-such-domain.test")
    assert r["action"] == "failed" and r["status"].startswith("5."), r
    wait_gone(gh, qid)


def test_dns_failure_defers(gatehouse, tls_files, sinks, dns_server):
    bsink = sinks()
    dns = dns_server(MX_ZONE)
    gh = mx_gateway(gatehouse, tls_files, dns, free_port(), bsink)
    qid = send(gh, "alice@example.test", ["bob@broken.test"])
    wait_until(lambda: dns.asked("broken.test"), 20, "an MX query for broken.test")
    wait_state(gh, qid, STATE_DEFERRED)
    assert not bounces_to(bsink, "alice@example.test"), "SERVFAIL is temporary: no bounce"


# --- local delivery (Maildir) ------------------------------------------------------------------------

def assert_maildir_message(path, original: bytes):
    data = path.read_bytes()
    head = crlf_to_lf(data).split(b"\n\n", 1)[0]
    assert crlf_to_lf(data).endswith(crlf_to_lf(original).split(b"\n\n", 1)[1]), \
        f"body changed in {path}"
    assert re.search(rb"^Received: ", head, re.M), f"no Received: header in {path}"
    orig_headers = crlf_to_lf(original).split(b"\n\n", 1)[0]
    assert head.endswith(orig_headers), f"original headers changed in {path}"


def test_local_route_maildir(gatehouse, tls_files):
    gh = gateway(gatehouse, [route_local(["example.test"])], tls_files=tls_files)
    body = make_message(SENDER, ["bob@example.test"], "to a local mailbox")
    qid = send(gh, SENDER, ["bob@example.test"], body)
    files = wait_until(lambda: maildir_messages(gh, "bob@example.test"), 30,
                       lambda: f"a file in {maildir(gh, 'bob@example.test')}/new")
    wait_gone(gh, qid)
    md = maildir(gh, "bob@example.test")
    assert {p.name for p in md.iterdir()} >= {"tmp", "new", "cur"}, list(md.iterdir())
    assert not list((md / "tmp").iterdir()), "left-overs in tmp/"
    assert len(files) == 1 and files[0].parent.name == "new"
    assert_maildir_message(files[0], body)
    assert (md.stat().st_mode & 0o077) == 0 and (files[0].stat().st_mode & 0o077) == 0, \
        "mailboxes must not be readable by others"


@pytest.mark.timeout(180)
def test_local_maildir_delivery_is_atomic(gatehouse, tls_files):
    gh = gateway(gatehouse, [route_local(["example.test"])], tls_files=tls_files)
    rcpt = "big@example.test"
    qid = send(gh, SENDER, [rcpt])                       # creates the Maildir
    wait_gone(gh, qid)
    new = maildir(gh, rcpt) / "new"
    watch, watcher = Inotify(new), DirWatcher(new)
    watcher.start()
    line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"\r\n"
    body = make_message(SENDER, [rcpt], "big").replace(b"\r\n\r\n", b"\r\n\r\n" + line * 400000, 1)
    qid = send(gh, SENDER, [rcpt], body)                 # ~30 MB
    wait_gone(gh, qid, timeout=120)
    watcher.stop()
    events = watch.read()
    watch.close()
    files = sorted(new.iterdir(), key=lambda p: p.stat().st_size)
    assert len(files) == 2, files
    big = files[-1]
    assert ("MODIFY", big.name) not in events and ("CLOSE_WRITE", big.name) not in events, \
        f"the message was written in place in new/: {events}"
    assert watcher.first_size.get(big.name) == big.stat().st_size, \
        f"a partial file was visible in new/ ({watcher.first_size.get(big.name)} of {big.stat().st_size} bytes)"
    assert_maildir_message(big, body)


def test_embedded_default_delivers_locally(gatehouse):
    if port_is_busy(2525) or port_is_busy(2587):
        pytest.skip("2525 or 2587 is in use on this machine")
    server = gatehouse(None, start=False)
    server.start(ports=[(2525, False), (2587, False)])
    from harness import SMTPClient, UNTRUSTED
    c = SMTPClient(2525, source=UNTRUSTED)
    body = make_message(SENDER, ["carol@example.test"], "default config")
    try:
        c.greet()
        c.ehlo()
        r = c.send_mail(SENDER, ["carol@example.test"], body)
        assert r.code == 250 and r.queue_id, str(r)
    finally:
        c.quit()
    files = wait_until(lambda: maildir_messages(server, "carol@example.test"), 30,
                       lambda: f"a file in {maildir(server, 'carol@example.test')}/new\n{server.log_tail()}")
    assert_maildir_message(files[0], body)


# --- 8BITMIME -----------------------------------------------------------------------------------------

TEXT_8BIT = "Grüße aus Köln – naïve café, Ωμέγα, 日本語.\r\nZweite Zeile mit = und Ümlaut\r\n" \
            + "lang " * 40 + "ä\r\n"


def lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def eight_bit_message(sender, rcpt) -> bytes:
    return make_message(sender, [rcpt], "8bit", body=TEXT_8BIT, headers={
        "MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8",
        "Content-Transfer-Encoding": "8bit"})


def multipart_8bit_message(sender, rcpt) -> tuple[bytes, bytes]:
    attachment = bytes(range(256)) * 4
    import base64
    b64 = base64.encodebytes(attachment).replace(b"\n", b"\r\n").decode()
    body = ("This is a multi-part message.\r\n"
            "--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" + TEXT_8BIT +
            "--BOUNDARY\r\nContent-Type: text/html; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n<p>Grüße – <b>café</b></p>\r\n"
            "--BOUNDARY\r\nContent-Type: application/octet-stream; name=\"blob.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + b64 +
            "--BOUNDARY--\r\n")
    msg = make_message(sender, [rcpt], "8bit multipart", body=body, headers={
        "MIME-Version": "1.0", "Content-Type": 'multipart/mixed; boundary="BOUNDARY"'})
    return msg, attachment


def test_8bit_to_hop_without_8bitmime_arrives_quoted_printable(gatehouse, tls_files, sinks):
    sink = sinks(eightbitmime=False)
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    qid = send(gh, SENDER, [ALICE], eight_bit_message(SENDER, ALICE), mail_params="BODY=8BITMIME")
    t = sink.wait_for(1)[0]
    wait_gone(gh, qid)
    assert max(t.data) < 0x80, "8-bit bytes sent to a hop that did not offer 8BITMIME"
    assert not any(o.startswith("BODY=8BITMIME") for o in t.mail_options), t.mail_options
    assert all(len(ln) <= 998 for ln in t.data.split(b"\r\n"))
    msg = t.message()
    assert msg["Content-Transfer-Encoding"].lower() == "quoted-printable", msg["Content-Transfer-Encoding"]
    assert lf(msg.get_content()) == lf(TEXT_8BIT)
    assert msg["Subject"] == "8bit" and msg["Received"]


def test_8bit_multipart_to_hop_without_8bitmime(gatehouse, tls_files, sinks):
    sink = sinks(eightbitmime=False)
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    original, attachment = multipart_8bit_message(SENDER, ALICE)
    qid = send(gh, SENDER, [ALICE], original, mail_params="BODY=8BITMIME")
    t = sink.wait_for(1)[0]
    wait_gone(gh, qid)
    assert max(t.data) < 0x80
    parts = list(t.message().iter_parts())
    want = list(email.message_from_bytes(original, policy=email.policy.default).iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html",
                                                     "application/octet-stream"]
    assert parts[0]["Content-Transfer-Encoding"].lower() == "quoted-printable"
    assert parts[1]["Content-Transfer-Encoding"].lower() == "quoted-printable"
    assert lf(parts[0].get_content()) == lf(want[0].get_content())
    assert lf(parts[1].get_content()) == lf(want[1].get_content()) == "<p>Grüße – <b>café</b></p>"
    assert parts[2]["Content-Transfer-Encoding"].lower() == "base64"
    assert parts[2].get_content() == want[2].get_content() == attachment


def test_8bit_passes_unchanged_when_hop_offers_8bitmime(gatehouse, tls_files, sinks):
    sink = sinks(eightbitmime=True)
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    body = eight_bit_message(SENDER, ALICE)
    send(gh, SENDER, [ALICE], body, mail_params="BODY=8BITMIME")
    t = sink.wait_for(1)[0]
    received_prefix(t.data, body)
    assert "BODY=8BITMIME" in t.mail_options, t.mail_options


def test_7bit_message_to_hop_without_8bitmime_is_not_touched(gatehouse, tls_files, sinks):
    sink = sinks(eightbitmime=False)
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    body = make_message(SENDER, [ALICE], "plain ascii", body="nothing to convert =3D here\r\n")
    send(gh, SENDER, [ALICE], body)
    received_prefix(sink.wait_for(1)[0].data, body)


# --- SMTPUTF8 ------------------------------------------------------------------------------------------

UTF8_RCPT = "jörg.müller@example.org"
SMTPUTF8_MISSING_STATUS = "5.6.7"                       # RFC 6531 §3.2 / RFC 6533


def test_smtputf8_to_hop_with_smtputf8(gatehouse, tls_files, sinks):
    sink = sinks(smtputf8=True)
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    body = make_message(SENDER, [UTF8_RCPT], "utf-8 envelope")
    qid = send(gh, SENDER, [UTF8_RCPT], body, mail_params="SMTPUTF8")
    t = sink.wait_for(1)[0]
    assert t.rcpt_tos == [UTF8_RCPT] and "SMTPUTF8" in t.mail_options, (t.rcpt_tos, t.mail_options)
    received_prefix(t.data, body)
    wait_gone(gh, qid)


def test_smtputf8_to_hop_without_it_bounces(gatehouse, tls_files, sinks):
    hop, bounce_sink = sinks(smtputf8=False), sinks()
    gh = gateway(gatehouse, [route_hosts(["example.org"], [hop.address]),
                             route_hosts(["sender.test"], [bounce_sink.address])], tls_files=tls_files)
    qid = send(gh, SENDER, [UTF8_RCPT], mail_params="SMTPUTF8")
    bounce = wait_bounces(bounce_sink, SENDER)[0]
    r = DSN(bounce.data).per_recipient[0]
    assert r["action"] == "failed" and r["status"] == SMTPUTF8_MISSING_STATUS, r
    assert not hop.mails, "a UTF-8 envelope was sent to a hop without SMTPUTF8"
    wait_gone(gh, qid)


# --- a real internal mail server ------------------------------------------------------------------------

def test_delivery_to_postfix_internal_server(gatehouse, tls_files, postfix):
    pf = postfix(domains=["example.org"])
    gh = gateway(gatehouse, [route_hosts(["example.org"], [pf.address])], tls_files=tls_files)
    plain = make_message(SENDER, [ALICE, BOB], "to the internal server")
    eight = eight_bit_message(SENDER, ALICE)
    q1 = send(gh, SENDER, [ALICE, BOB], plain)
    q2 = send(gh, SENDER, [ALICE], eight, mail_params="BODY=8BITMIME")
    got = pf.wait_for_messages(ALICE, 2)
    assert pf.wait_for_messages(BOB, 1)
    wait_gone(gh, q1)
    wait_gone(gh, q2)
    msgs = {m["Subject"]: m for m in (email.message_from_bytes(g, policy=email.policy.default)
                                      for g in got)}
    assert set(msgs) == {"to the internal server", "8bit"}
    for m in msgs.values():
        assert m["Return-Path"] == f"<{SENDER}>"
        rcvd = m.get_all("Received")
        assert any(f"from {HOSTNAME}" in r for r in rcvd), f"Postfix saw another EHLO: {rcvd}"
        assert any(f"by {HOSTNAME}" in r for r in rcvd), f"no Received: from Gatehouse: {rcvd}"
    assert lf(msgs["8bit"].get_content()) == lf(TEXT_8BIT)
    assert crlf_to_lf(got[0]).endswith(crlf_to_lf(plain).split(b"\n\n", 1)[1]) or \
        crlf_to_lf(got[1]).endswith(crlf_to_lf(plain).split(b"\n\n", 1)[1])


def test_tls_required_to_postfix_with_starttls(gatehouse, tls_files, postfix):
    pf = postfix(domains=["example.org"], tls_files=tls_files)
    gh = gateway(gatehouse, [route_hosts(["example.org"], [pf.address], tls="required")],
                 tls_files=tls_files)
    qid = send(gh, SENDER, [ALICE])
    got = pf.wait_for_messages(ALICE, 1)[0]
    wait_gone(gh, qid)
    assert b"with ESMTPS" in got, "Postfix's Received: should show a TLS session"


# --- shutdown -------------------------------------------------------------------------------------------

def test_sigterm_with_a_cached_connection_is_clean_and_quick(gatehouse, tls_files, sinks):
    """SIGTERM while an idle connection to a next hop is cached: exit 0, promptly, no crash.
    (The crash seen here is timing-dependent, so the test tries a few times.)"""
    sink = sinks()
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files, connection_cache="30s")
    for attempt in range(4):
        if attempt:
            gh.start()
        qid = send(gh, SENDER, [ALICE])
        sink.wait_for(attempt + 1)
        wait_gone(gh, qid)
        assert any(c.closed is None for c in sink.connections), "the connection should be cached"
        t0 = time.monotonic()
        rc = gh.stop(timeout=20)
        took = time.monotonic() - t0
        log = gh.log_text()
        assert "Fatal error" not in log and "crashed" not in log, \
            f"crash at SIGTERM (attempt {attempt + 1}):\n" + log[log.rfind("terminating"):][:1500]
        assert rc == 0, f"gatehouse exited with {rc} on SIGTERM"
        assert took < 5, f"SIGTERM took {took:.1f}s with an idle cached connection"
        wait_until(lambda: all(c.closed for c in sink.connections), 5, "the cached connection closed")
