"""Self-tests of the delivery test fixtures, without Gatehouse: the SMTP sink (sink.py), the DNS
server (dnsserver.py), the private Postfix (postfix_server.py) and the RFC 3464 parser and
Maildir watchers of deliverykit.py. They pass whether or not Gatehouse can deliver."""

from __future__ import annotations

import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dnslib import QTYPE, RCODE

from deliverykit import DSN, DirWatcher, Inotify, wait_until
from dnsserver import query
from harness import free_port

HERE = Path(__file__).resolve().parent


def client_ctx() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# --- sink ------------------------------------------------------------------------------------

def test_sink_records_transaction(sinks):
    sink = sinks("127.0.0.7")
    body = b"Subject: t\r\nMessage-ID: <m1@x>\r\n\r\n.leading dot\r\nend\r\n"
    with smtplib.SMTP(sink.host, sink.port, local_hostname="client.test", timeout=10) as s:
        assert s.ehlo()[0] == 250
        assert s.has_extn("8bitmime") and not s.has_extn("starttls") and not s.has_extn("auth")
        s.sendmail("a@x.test", ["b@y.test", "c@y.test"], body, mail_options=["BODY=8BITMIME"])
    t = sink.wait_for(1)[0]
    assert t.peer[0] == "127.0.0.1" and t.ehlo == "client.test" and not t.tls
    assert t.mail_from == "a@x.test" and "BODY=8BITMIME" in t.mail_options
    assert t.rcpt_tos == ["b@y.test", "c@y.test"]
    assert t.data == body, "dot-stuffing must be undone, bytes otherwise unchanged"
    assert t.message_id == "<m1@x>" and t.message()["Subject"] == "t"


def test_sink_null_sender(sinks):
    sink = sinks()
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        s.sendmail("<>", ["b@y.test"], b"Subject: bounce\r\n\r\nx\r\n")
    assert sink.wait_for(1)[0].mail_from == ""


def test_sink_per_recipient_rules_and_switching(sinks):
    sink = sinks(rules={"temp*": "451 4.3.0 later", "perm*": "550 5.1.1 unknown"})
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        refused = s.sendmail("a@x.test", ["ok@y.test", "Temp1@y.test", "perm@y.test"],
                             b"Subject: mix\r\n\r\nx\r\n")
    assert refused == {"Temp1@y.test": (451, b"4.3.0 later"), "perm@y.test": (550, b"5.1.1 unknown")}
    assert sink.wait_for(1)[0].rcpt_tos == ["ok@y.test"]
    assert sink.rcpt_attempts("temp1@y.test") == ["451 4.3.0 later"]
    sink.rules = {}
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        assert s.sendmail("a@x.test", ["temp1@y.test"], b"Subject: again\r\n\r\nx\r\n") == {}
    assert len(sink.received_by("temp1@y.test")) == 1


def test_sink_mail_and_data_replies(sinks):
    sink = sinks()
    sink.data_reply = "554 5.6.0 content rejected"
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("a@x.test", ["b@y.test"], b"Subject: x\r\n\r\nx\r\n")
        assert e.value.smtp_code == 554
    sink.data_reply = None
    sink.mail_reply = "451 4.7.1 greylisted"
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        with pytest.raises(smtplib.SMTPSenderRefused):
            s.sendmail("a@x.test", ["b@y.test"], b"Subject: x\r\n\r\nx\r\n")
    assert [m[1] for m in sink.mails] == ["a@x.test", "a@x.test"]


def test_sink_drop_after_data(sinks):
    sink = sinks()
    sink.drop_after_data = 1
    with pytest.raises(smtplib.SMTPServerDisconnected):
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
            s.sendmail("a@x.test", ["b@y.test"], b"Subject: drop\r\n\r\nx\r\n")
    assert len(sink.dropped) == 1 and sink.dropped[0].dropped and not sink.transactions
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:       # the next one is accepted
        s.sendmail("a@x.test", ["b@y.test"], b"Subject: drop\r\n\r\nx\r\n")
    assert len(sink.wait_for(1)) == 1


@pytest.mark.parametrize("mode", ["421", "close"])
def test_sink_refuses_at_greeting(sinks, mode):
    sink = sinks()
    sink.greeting = mode
    with socket.create_connection((sink.host, sink.port), timeout=5) as c:
        data = b""
        while True:
            chunk = c.recv(1024)
            if not chunk:
                break
            data += chunk
    assert data == (b"421 4.3.2 sink.example.net service not available\r\n" if mode == "421" else b"")
    assert len(sink.connections) == 1


def test_sink_starttls(sinks):
    sink = sinks(starttls=True)
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        s.ehlo()
        assert s.has_extn("starttls")
        s.starttls(context=client_ctx())
        s.ehlo()
        assert not s.has_extn("starttls")
        s.sendmail("a@x.test", ["b@y.test"], b"Subject: tls\r\n\r\nx\r\n")
    t = sink.wait_for(1)[0]
    assert t.tls and sink.connections[0].tls


def test_sink_without_8bitmime_with_smtputf8_and_dsn(sinks):
    sink = sinks(eightbitmime=False, smtputf8=True, dsn=True)
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        s.ehlo()
        assert not s.has_extn("8bitmime") and s.has_extn("smtputf8") and s.has_extn("dsn")
        s.sendmail("jörg@x.test", ["b@y.test"], "Subject: ü\r\n\r\nx\r\n".encode(),
                   mail_options=["SMTPUTF8", "RET=HDRS", "ENVID=abc"], rcpt_options=["NOTIFY=NEVER"])
    t = sink.wait_for(1)[0]
    assert t.mail_from == "jörg@x.test" and "RET=HDRS" in t.mail_options
    assert t.rcpt_options == ["NOTIFY=NEVER"]


def test_sink_slow_replies(sinks):
    sink = sinks()
    sink.delay = 0.4
    t0 = time.monotonic()
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        s.ehlo()
    assert time.monotonic() - t0 >= 0.8                      # greeting + EHLO (+ QUIT)


def test_sink_counts_connections_and_stops(sinks):
    sink = sinks()
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        for i in range(3):
            s.sendmail("a@x.test", ["b@y.test"], f"Subject: {i}\r\n\r\nx\r\n".encode())
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        s.sendmail("a@x.test", ["b@y.test"], b"Subject: 4\r\n\r\nx\r\n")
    ts = sink.wait_for(4)
    assert [t.conn_id for t in ts] == [1, 1, 1, 2]
    open_conn = smtplib.SMTP(sink.host, sink.port, timeout=5)
    sink.stop()
    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
        open_conn.noop()
        open_conn.noop()
    with pytest.raises(OSError):
        socket.create_connection((sink.host, sink.port), timeout=2).close()
    sink.start()                                              # same port again
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        assert s.noop()[0] == 250


def test_sink_as_a_script(tmp_path):
    port = free_port()
    p = subprocess.Popen([sys.executable, str(HERE / "sink.py"), "--listen", f"127.0.0.1:{port}",
                          "--perm", "perm*", "--no-8bitmime"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_until(up, 15, "sink.py listening")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            s.ehlo()
            assert not s.has_extn("8bitmime")
            refused = s.sendmail("a@x.test", ["ok@y.test", "perm@y.test"],
                                 b"Subject: s\r\nMessage-ID: <s@x>\r\n\r\nx\r\n")
            assert list(refused) == ["perm@y.test"]
        rec = json.loads(p.stdout.readline())
        assert rec["rcpt_tos"] == ["ok@y.test"] and rec["message_id"] == "<s@x>"
    finally:
        p.terminate()
        p.wait(10)


# --- DNS server ------------------------------------------------------------------------------

ZONE = {
    "dest.test": {"MX": [(10, "mx1.dest.test"), (20, "mx2.dest.test")], "TXT": ["v=spf1 -all"]},
    "mx1.dest.test": {"A": ["127.0.0.11"], "AAAA": ["::1"]},
    "mx2.dest.test": {"A": "127.0.0.12"},
    "nullmx.test": {"MX": [(0, ".")]},
    "www.dest.test": {"CNAME": "mx1.dest.test"},
    "broken.test": {"SERVFAIL": True},
}


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_dns_answers(dns_server, tcp):
    d = dns_server(ZONE)
    r = query(d.address, "Dest.Test.", "MX", tcp=tcp)
    assert r.header.aa and r.header.rcode == RCODE.NOERROR
    assert sorted((x.rdata.preference, str(x.rdata.label)) for x in r.rr) == \
        [(10, "mx1.dest.test."), (20, "mx2.dest.test.")]
    assert [str(x.rdata) for x in query(d.address, "mx1.dest.test", "A", tcp=tcp).rr] == ["127.0.0.11"]
    assert [str(x.rdata) for x in query(d.address, "mx1.dest.test", "AAAA", tcp=tcp).rr] == ["::1"]
    assert [str(x.rdata) for x in query(d.address, "dest.test", "TXT", tcp=tcp).rr] == ['"v=spf1 -all"']
    www = query(d.address, "www.dest.test", "A", tcp=tcp)
    assert [QTYPE[x.rtype] for x in www.rr] == ["CNAME", "A"] and str(www.rr[1].rdata) == "127.0.0.11"
    assert d.asked("dest.test", "MX") and d.queries[0][2] == ("tcp" if tcp else "udp")


def test_dns_null_mx_nxdomain_nodata_servfail(dns_server):
    d = dns_server(ZONE)
    null = query(d.address, "nullmx.test", "MX")
    assert len(null.rr) == 1 and null.rr[0].rdata.preference == 0 and str(null.rr[0].rdata.label) == "."
    nx = query(d.address, "nowhere.test", "MX")
    assert nx.header.rcode == RCODE.NXDOMAIN and not nx.rr and nx.auth
    nodata = query(d.address, "dest.test", "A")
    assert nodata.header.rcode == RCODE.NOERROR and not nodata.rr and nodata.auth
    assert query(d.address, "broken.test", "MX").header.rcode == RCODE.SERVFAIL


def test_dns_tcp_only_and_live_zone_change(dns_server):
    d = dns_server({"a.test": {"A": "127.0.0.1"}}, tcp_only=True)
    assert query(d.address, "a.test").header.tc == 1
    assert str(query(d.address, "a.test", tcp=True).rr[0].rdata) == "127.0.0.1"
    d.zone["b.test"] = {"A": ["127.0.0.2"]}
    assert str(query(d.address, "b.test", tcp=True).rr[0].rdata) == "127.0.0.2"


# --- private Postfix --------------------------------------------------------------------------

def test_postfix_delivers_to_maildir(postfix):
    pf = postfix(domains=["example.org"])
    assert pf.host == "127.0.0.1"
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True).stdout
    assert f"127.0.0.1:{pf.port}" in out and f"0.0.0.0:{pf.port}" not in out
    body = b"Subject: to postfix\r\nMessage-ID: <pf1@x>\r\n\r\nhello postfix\r\n"
    with smtplib.SMTP(pf.host, pf.port, timeout=10) as s:
        s.ehlo()
        assert s.has_extn("8bitmime") and not s.has_extn("starttls")
        s.sendmail("x@foreign.test", ["alice@example.org", "nobody@example.org"], body)
    got = pf.wait_for_messages("alice@example.org")[0]
    assert b"Delivered-To: alice@example.org" in got and got.endswith(b"\nhello postfix\n")
    assert pf.wait_for_messages("nobody@example.org")            # the domain's catch-all
    wait_until(lambda: pf.qsize() == 0, 20, "Postfix's queue to drain")
    pf.stop()
    assert pf.master_pid() is None


def test_postfix_relays_to_sink_with_starttls_offered(postfix, sinks, tls_files):
    sink = sinks()
    pf = postfix(domains=["example.org"], relayhost=sink.address, tls_files=tls_files)
    with smtplib.SMTP(pf.host, pf.port, timeout=10) as s:
        s.ehlo()
        assert s.has_extn("starttls")
        s.starttls(context=client_ctx())
        s.ehlo()
        s.sendmail("alice@example.org", ["someone@foreign.test"], b"Subject: out\r\n\r\nrelay me\r\n")
    t = sink.wait_for(1)[0]
    assert t.mail_from == "alice@example.org" and t.rcpt_tos == ["someone@foreign.test"]
    assert b"with ESMTPS" in t.data


def test_dsn_parser_on_a_postfix_bounce(postfix, sinks):
    """deliverykit.DSN against a real RFC 3464 report: Postfix relays to the sink, which refuses
    the recipient; Postfix's bounce lands in the sender's Maildir."""
    sink = sinks(rules={"perm*": "550 5.1.1 <perm@foreign.test>: no such user here"})
    pf = postfix(domains=["example.org"], relayhost=sink.address)
    with smtplib.SMTP(pf.host, pf.port, timeout=10) as s:
        s.sendmail("alice@example.org", ["perm@foreign.test"],
                   b"Subject: will bounce\r\nMessage-ID: <orig@x>\r\n\r\nbody\r\n")
    raw = pf.wait_for_messages("alice@example.org")[0]
    dsn = DSN(raw)
    assert dsn.msg.get_param("report-type") == "delivery-status"
    assert "MAILER-DAEMON" in dsn.msg["From"]
    assert dsn.per_message["reporting-mta"].startswith("dns;")
    assert "arrival-date" in dsn.per_message
    r = dsn.recipient("perm@foreign.test")
    assert r["action"] == "failed" and r["status"] == "5.1.1"
    assert "no such user here" in r["diagnostic-code"]
    assert dsn.original is not None and dsn.original["Message-ID"] == "<orig@x>"


# --- Maildir watchers --------------------------------------------------------------------------

def test_inotify_tells_rename_from_write_in_place(tmp_path):
    new, tmp = tmp_path / "new", tmp_path / "tmp"
    new.mkdir()
    tmp.mkdir()
    watch = Inotify(new)
    w = DirWatcher(new)
    w.start()
    (tmp / "a").write_bytes(b"x" * 100000)
    os.rename(tmp / "a", new / "a")
    with open(new / "b", "wb") as f:
        f.write(b"y" * 10)
        f.flush()
        time.sleep(0.05)
        f.write(b"y" * 100000)
    time.sleep(0.05)
    w.stop()
    ev = watch.read()
    watch.close()
    assert ("MOVED_TO", "a") in ev and ("MODIFY", "a") not in ev
    assert ("MODIFY", "b") in ev
    assert w.first_size["a"] == 100000 and w.first_size["b"] < 100010
