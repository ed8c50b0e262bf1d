"""The administrative CLI (`user ...`, `queue ...`), the log format, and the embedded default
configuration (`gatehouse serve` without --config)."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from pathlib import Path

import pytest

from harness import (UNTRUSTED, SMTPClient, base_config, listener, port_is_busy, session)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def auth_ok(port: int, user: str, password: str) -> bool:
    c = session(port, source=UNTRUSTED, tls=True)
    try:
        r = c.cmd(f"AUTH PLAIN {b64(chr(0) + user + chr(0) + password)}")
        assert r.code in (235, 535), str(r)
        return r.code == 235
    finally:
        c.close()


# --- users ---------------------------------------------------------------------------------

def test_user_lifecycle(gatehouse, tls_files):
    cfg = base_config([listener("submission", "submission", tls="starttls_required", auth="required")],
                      tls_files=tls_files)
    server = gatehouse(cfg, start=False)
    data = str(server.data)
    server.user_add("alice@example.test", "first-Password")
    server.user_add("carol", "carol-Password", addresses=["carol@example.org"])

    dup = server.cli("user", "add", "carol", "--data", data, "--password-stdin", input="x-Password\n")
    assert dup.returncode != 0, f"adding an existing user should fail\n{dup}"

    listing = server.cli("user", "list", "--data", data)
    assert listing.returncode == 0, str(listing)
    assert "alice@example.test" in listing.stdout and "carol" in listing.stdout, str(listing)

    # passwords are never stored in the clear
    for path in Path(data).rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert b"first-Password" not in blob and b"carol-Password" not in blob, \
                f"a password is stored in the clear in {path}"

    server.start()
    port = server.port("submission")
    assert auth_ok(port, "alice@example.test", "first-Password")
    assert auth_ok(port, "carol", "carol-Password")

    r = server.cli("user", "passwd", "alice@example.test", "--data", data, "--password-stdin",
                   input="second-Password\n")
    assert r.returncode == 0, str(r)
    r = server.cli("user", "remove", "carol", "--data", data)
    assert r.returncode == 0, str(r)
    listing = server.cli("user", "list", "--data", data)
    assert "carol" not in listing.stdout, str(listing)

    server.restart()
    assert auth_ok(port, "alice@example.test", "second-Password")
    assert not auth_ok(port, "alice@example.test", "first-Password")
    assert not auth_ok(port, "carol", "carol-Password")


def test_user_commands_refuse_nonsense(gatehouse):
    server = gatehouse(None, start=False)
    data = str(server.data)
    r = server.cli("user", "add", "dave@example.test", "--data", data, "--password-stdin", input="\n")
    assert r.returncode != 0, f"empty password accepted\n{r}"
    r = server.cli("user", "remove", "nobody", "--data", data)
    assert r.returncode != 0, f"removing an unknown user succeeded\n{r}"
    r = server.cli("user", "passwd", "nobody", "--data", data, "--password-stdin", input="x-Password\n")
    assert r.returncode != 0, f"passwd for an unknown user succeeded\n{r}"
    r = server.cli("user", "add", "eve", "--data", data, "--password-stdin",
                   "--address", "not an address", input="x-Password\n")
    assert r.returncode != 0, f"a malformed --address was accepted\n{r}"


# --- queue -------------------------------------------------------------------------------

@pytest.fixture
def queued(gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound")], tls_files=tls_files)
    server = gatehouse(cfg)
    c = session(server.port("inbound"), source=UNTRUSTED)
    try:
        body = b"Subject: queue list\r\n\r\nhello\r\n"
        r = c.send_mail("sender@foreign.test", ["alice@example.test", "bob@example.org"], body)
        assert r.code == 250 and r.queue_id, str(r)
    finally:
        c.quit()
    return server, r.queue_id, len(body)


def test_queue_list_json(queued):
    server, qid, body_len = queued
    t = time.time()
    entries = server.queue_list()
    assert [e["id"] for e in entries] == [qid]
    e = entries[0]
    assert set(e) >= {"id", "state", "sender", "recipients", "size", "arrival"}, e
    assert e["state"] == "incoming"
    assert e["sender"] == "sender@foreign.test"
    assert sorted(e["recipients"]) == ["alice@example.test", "bob@example.org"]
    assert isinstance(e["size"], int) and e["size"] >= body_len, e
    assert (server.data / "queue" / "incoming" / qid).is_file()
    assert re.fullmatch(r"[0-9A-Za-z]+", qid)


def test_queue_check_passes_then_detects_corruption(queued):
    server, qid, _ = queued
    ok = server.queue_check()
    assert ok.returncode == 0, str(ok)
    server.stop()
    path = server.data / "queue" / "incoming" / qid
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x20
    path.write_bytes(bytes(blob))
    bad = server.queue_check()
    assert bad.returncode != 0, f"a flipped bit in {path} went unnoticed\n{bad}"
    assert qid in bad.stdout + bad.stderr, str(bad)


def test_queue_check_detects_truncation(queued):
    server, qid, _ = queued
    server.stop()
    path = server.data / "queue" / "incoming" / qid
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) * 2 // 3])
    bad = server.queue_check()
    assert bad.returncode != 0, f"a truncated queue file went unnoticed\n{bad}"


def test_queue_list_empty(gatehouse):
    server = gatehouse(None, start=False)
    server.data.mkdir(parents=True, exist_ok=True)
    r = server.cli("queue", "list", "--data", str(server.data), "--json")
    assert r.returncode == 0, str(r)
    assert json.loads(r.stdout) == []


# --- log lines ---------------------------------------------------------------------------

def test_postfix_style_log_lines(queued):
    server, qid, _ = queued
    time.sleep(0.3)
    log = server.log_text()
    assert re.search(rf"gatehouse/smtpd\[\d+\]: {qid}: client=\S*\[127\.0\.0\.2\]", log), server.log_tail()
    assert re.search(rf"{qid}: from=<sender@foreign\.test>, size=\d+, nrcpt=2", log), server.log_tail()
    assert "hello" not in log, "message content must not be logged"


# --- embedded default configuration ----------------------------------------------------------

def test_default_configuration_smoke(gatehouse):
    if port_is_busy(2525) or port_is_busy(2587):
        pytest.skip("2525 or 2587 is in use on this machine")
    server = gatehouse(None, start=False)
    server.start(ports=[(2525, False), (2587, False)])
    c = session(2525, source=UNTRUSTED)
    try:
        assert "STARTTLS" in c.last_ehlo.keywords, str(c.last_ehlo)
        m, rs = c.mail_rcpt("x@foreign.test", ["someone@example.test", "victim@foreign.test"])
        assert m.code == 250 and [r.code for r in rs] == [250, 554], [str(r) for r in rs]
    finally:
        c.quit()
    c = session(2587, source=UNTRUSTED)
    try:
        assert "AUTH" not in c.last_ehlo.keywords and "STARTTLS" in c.last_ehlo.keywords
        assert c.cmd("MAIL FROM:<x@example.test>").code == 530
        c.starttls()
        e = c.ehlo()
        assert "AUTH" in e.keywords, str(e)
    finally:
        c.quit()
    tls_dir = server.data / "tls"
    assert tls_dir.is_dir() and any(tls_dir.iterdir()), "no self-signed certificate in DATA/tls/"
    key_files = [p for p in tls_dir.iterdir() if "key" in p.name]
    for k in key_files:
        assert os.stat(k).st_mode & 0o077 == 0, f"{k} is readable by others"
