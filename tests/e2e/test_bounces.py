"""Bounces (RFC 3464 delivery status notifications) from the queue manager.

A bounce is a new message from the null sender to the original sender, delivered like any other
mail; the sender's domain (sender.test) is routed to the same sink as the recipients, so the
tests read the bounces there and parse them with Python's `email` package, field by field.
"""

from __future__ import annotations

import email.utils
import re
import time
from datetime import datetime, timezone

import pytest

from deliverykit import (HOSTNAME, STATE_DEFERRED, DSN, bounces_to, gateway, make_message,
                         route_hosts, send, wait_bounces, wait_gone, wait_state, wait_until)

SENDER = "origin@sender.test"
PERM_REPLY = "550 5.1.1 no such user here"
TEMP_REPLY = "451 4.3.0 mailbox busy, try later"
RULES = {"perm*": PERM_REPLY, "temp*": TEMP_REPLY}


def routes_to(sink):
    return [route_hosts(["example.org", "sender.test"], [sink.address])]


@pytest.fixture(scope="module")
def env(module_gatehouse, module_sinks, tls_files):
    """One gateway and one sink for the tests that do not change delivery settings; each test
    uses its own sender address, so their bounces never mix."""
    sink = module_sinks(rules=RULES, dsn=False)
    gh = gateway(module_gatehouse, routes_to(sink), tls_files=tls_files, name="bounces")
    return gh, sink


def unique_sender(tag: str) -> str:
    return f"{tag}.{time.time_ns() % 10**9}@sender.test"


def assert_is_bounce_message(t, sender: str, dsn: DSN) -> None:
    """What every non-delivery report must look like, apart from the per-recipient details."""
    assert t.mail_from == "", f"a bounce goes out from the null sender, not <{t.mail_from}>"
    assert t.rcpt_tos == [sender]
    m = dsn.msg
    assert m.get_content_type() == "multipart/report"
    assert m.get_param("report-type") == "delivery-status", m["Content-Type"]
    assert re.search(r"mailer-daemon", str(m["From"]), re.I), f"From: {m['From']}"
    assert sender in str(m["To"]), f"To: {m['To']}"
    assert str(m["Auto-Submitted"]).strip().lower().startswith("auto-replied"), \
        f"Auto-Submitted: {m['Auto-Submitted']}"
    assert m["Subject"] and m["Date"] and m["Message-ID"], "Subject, Date and Message-ID"
    assert m["MIME-Version"] == "1.0"
    assert dsn.human.get_content_type() == "text/plain", "the first part is for humans"
    pm = dsn.per_message
    assert pm.get("reporting-mta", "").replace(" ", "").lower() == f"dns;{HOSTNAME}", pm
    arrival = email.utils.parsedate_to_datetime(pm["arrival-date"])
    assert abs((datetime.now(timezone.utc) - arrival).total_seconds()) < 600, pm["arrival-date"]
    for block in dsn.per_recipient:
        assert block["final-recipient"].lower().startswith("rfc822;"), block
    assert not m.defects and all(not p.defects for p in m.walk()), \
        [(p.get_content_type(), p.defects) for p in m.walk() if p.defects]


# --- the report, field by field -------------------------------------------------------------------

def test_bounce_fields(env):
    gh, sink = env
    sender, rcpt = unique_sender("fields"), "perm.fields@example.org"
    original = make_message(sender, [rcpt], "this one will bounce",
                            headers={"X-Test-Marker": "bounce-fields"})
    qid = send(gh, sender, [rcpt], original)
    t = wait_bounces(sink, sender)[0]
    dsn = DSN(t.data)
    assert_is_bounce_message(t, sender, dsn)
    r = dsn.recipient(rcpt)
    assert r["final-recipient"].split(";", 1)[1].strip().lower() == rcpt
    assert r["action"].lower() == "failed"
    assert r["status"] == "5.1.1", f"the remote's enhanced status code: {r['status']}"
    assert r["diagnostic-code"].lower().startswith("smtp;"), r["diagnostic-code"]
    assert PERM_REPLY in r["diagnostic-code"], f"the remote reply: {r['diagnostic-code']}"
    if "remote-mta" in r:
        assert r["remote-mta"].lower().startswith("dns;"), r
    assert rcpt in dsn.human.get_content(), "the human-readable part names the recipient"
    assert dsn.original is not None, "the original message or its headers must be returned"
    assert dsn.original["Message-ID"] == email.message_from_bytes(original)["Message-ID"]
    assert dsn.original["Subject"] == "this one will bounce"
    assert dsn.original["X-Test-Marker"] == "bounce-fields"
    wait_gone(gh, qid)
    assert len(bounces_to(sink, sender)) == 1


def test_one_bounce_lists_every_failed_recipient(env):
    gh, sink = env
    sender = unique_sender("two")
    ok, p1, p2 = "ok.two@example.org", "perm.two.a@example.org", "perm.two.b@example.org"
    qid = send(gh, sender, [p1, ok, p2])
    t = wait_bounces(sink, sender)[0]
    dsn = DSN(t.data)
    assert_is_bounce_message(t, sender, dsn)
    finals = sorted(b["final-recipient"].split(";", 1)[1].strip().lower() for b in dsn.per_recipient)
    assert finals == [p1, p2], f"one report for both failed recipients, none for {ok}: {finals}"
    wait_gone(gh, qid)
    time.sleep(0.5)
    assert len(bounces_to(sink, sender)) == 1, "one bounce per message, not per recipient"
    assert len(sink.received_by(ok)) == 1


def test_dsn_parameters_echoed_and_ret_hdrs(env):
    gh, sink = env
    sender, rcpt = unique_sender("params"), "perm.params@example.org"
    body = make_message(sender, [rcpt], "ret hdrs", body="SECRET-BODY-TEXT\r\n")
    qid = send(gh, sender, [rcpt], body, mail_params="RET=HDRS ENVID=env-42.xyz",
               rcpt_params={rcpt: f"NOTIFY=FAILURE ORCPT=rfc822;Original.Params@example.org"})
    t = wait_bounces(sink, sender)[0]
    dsn = DSN(t.data)
    assert_is_bounce_message(t, sender, dsn)
    assert dsn.per_message.get("original-envelope-id") == "env-42.xyz", dsn.per_message
    r = dsn.recipient(rcpt)
    assert r.get("original-recipient", "").replace(" ", "").lower() == \
        "rfc822;original.params@example.org", r
    assert dsn.original_type == "text/rfc822-headers", f"RET=HDRS returns headers: {dsn.original_type}"
    assert b"SECRET-BODY-TEXT" not in t.data, "RET=HDRS: the body must not be returned"
    assert dsn.original["Subject"] == "ret hdrs"
    wait_gone(gh, qid)


def test_ret_full_returns_the_message(env):
    gh, sink = env
    sender, rcpt = unique_sender("full"), "perm.full@example.org"
    body = make_message(sender, [rcpt], "ret full", body="THE-WHOLE-BODY\r\n")
    send(gh, sender, [rcpt], body, mail_params="RET=FULL")
    dsn = DSN(wait_bounces(sink, sender)[0].data)
    assert dsn.original_type == "message/rfc822", dsn.original_type
    assert "THE-WHOLE-BODY" in dsn.original.get_content()


def test_no_bounce_for_a_null_sender_message(env):
    gh, sink = env
    rcpt = "perm.nullsender@example.org"
    qid = send(gh, "", [rcpt], make_message("", [rcpt], "a bounce that bounces"))
    wait_until(lambda: sink.rcpt_attempts(rcpt), 30, "the delivery attempt")
    wait_gone(gh, qid)
    time.sleep(1.5)
    leaks = [t for t in sink.transactions if t.mail_from == "" and rcpt.encode() in t.data]
    assert not leaks, "a message from <> must never cause a bounce"


def test_notify_never_is_respected(env):
    gh, sink = env
    sender, rcpt = unique_sender("never"), "perm.never@example.org"
    qid = send(gh, sender, [rcpt], rcpt_params={rcpt: "NOTIFY=NEVER"})
    wait_until(lambda: sink.rcpt_attempts(rcpt), 30, "the delivery attempt")
    wait_gone(gh, qid)
    time.sleep(1.5)
    assert not bounces_to(sink, sender), "NOTIFY=NEVER: no bounce"


def test_a_bounce_that_cannot_be_delivered_is_not_bounced_again(env):
    gh, sink = env
    sender, rcpt = "perm.sender@sender.test", "perm.loop@example.org"     # the sink refuses both
    qid = send(gh, sender, [rcpt])
    wait_until(lambda: sink.rcpt_attempts(sender), 30, "the bounce's delivery attempt")
    wait_gone(gh, qid)
    time.sleep(2)
    assert len(sink.rcpt_attempts(sender)) == 1, f"bounce retried or looped: {sink.rcpt_attempts(sender)}"
    assert not [t for t in sink.transactions if t.mail_from == "" and sender in t.rcpt_tos]
    wait_until(lambda: not [e for e in gh.queue_list() if sender in e["recipients"]], 30,
               "the undeliverable bounce to leave the queue (dropped, not bounced)")


# --- failures that are not a RCPT reply ------------------------------------------------------------

def test_bounce_for_a_rejection_after_data(gatehouse, sinks, tls_files):
    hop, bounce_sink = sinks(), sinks()
    hop.data_reply = "554 5.6.0 message content rejected"
    gh = gateway(gatehouse, [route_hosts(["example.org"], [hop.address]),
                             route_hosts(["sender.test"], [bounce_sink.address])], tls_files=tls_files)
    sender, rcpt = unique_sender("data"), "alice@example.org"
    qid = send(gh, sender, [rcpt])
    t = wait_bounces(bounce_sink, sender)[0]
    assert hop.transactions and hop.transactions[0].rcpt_tos == [rcpt]
    r = DSN(t.data).recipient(rcpt)
    assert r["action"].lower() == "failed" and r["status"] == "5.6.0", r
    assert "554 5.6.0 message content rejected" in r["diagnostic-code"], r
    wait_gone(gh, qid)
    assert len(hop.transactions) == 1, "a 5xx after the data is final: not retried"


@pytest.mark.timeout(90)
def test_queue_lifetime_expiry_bounces(gatehouse, sinks, tls_files):
    lifetime = 4
    sink = sinks(rules=RULES)
    gh = gateway(gatehouse, routes_to(sink), tls_files=tls_files, queue_lifetime=f"{lifetime}s",
                 minimum_backoff="1s", maximum_backoff="1s")
    sender, rcpt = unique_sender("expire"), "temp.expire@example.org"
    t0 = time.time()
    qid = send(gh, sender, [rcpt])
    wait_state(gh, qid, STATE_DEFERRED)
    t = wait_bounces(sink, sender, timeout=40)[0]
    assert t.time - t0 >= lifetime - 0.5, f"bounced after {t.time - t0:.1f}s, lifetime {lifetime}s"
    dsn = DSN(t.data)
    assert_is_bounce_message(t, sender, dsn)
    r = dsn.recipient(rcpt)
    assert r["action"].lower() == "failed", r
    assert re.fullmatch(r"[45]\.\d{1,3}\.\d{1,3}", r["status"]), r
    assert "451" in r.get("diagnostic-code", ""), f"the last remote reply: {r}"
    assert len(sink.rcpt_attempts(rcpt)) >= 2, "retried before giving up"
    wait_gone(gh, qid)
    assert not sink.received_by(rcpt)


@pytest.mark.timeout(90)
def test_delay_warning_is_sent_once(gatehouse, sinks, tls_files):
    sink = sinks(rules=RULES)
    gh = gateway(gatehouse, routes_to(sink), tls_files=tls_files, delay_warning="2s",
                 minimum_backoff="1s", maximum_backoff="1s")
    sender, rcpt = unique_sender("delay"), "temp.delay@example.org"
    qid = send(gh, sender, [rcpt])
    t = wait_bounces(sink, sender, timeout=30)[0]
    dsn = DSN(t.data)
    assert t.mail_from == ""
    r = dsn.recipient(rcpt)
    assert r["action"].lower() == "delayed", f"a delay notice, not a failure: {r}"
    assert r["status"].startswith("4."), r
    wait_until(lambda: len(sink.rcpt_attempts(rcpt)) >= 5, 30, "more retries")
    assert len(bounces_to(sink, sender)) == 1, "the delay warning is sent once"
    sink.rules = {}
    wait_until(lambda: sink.received_by(rcpt), 30, "delivery once the mailbox accepts")
    wait_gone(gh, qid)
    time.sleep(1)
    assert len(bounces_to(sink, sender)) == 1, "no failure report after a successful delivery"
