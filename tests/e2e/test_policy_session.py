"""The policy in the SMTP session (issue "Policy and scanning"): the message is scanned and decided
after its data and before the reply. Reject → 5xx and nothing kept; tempfail → 4xx; quarantine →
held in the node's store (then `gatehouse quarantine list|show|release|forward|delete`); the other
actions change what the internal server (an aiosmtpd sink) receives, per recipient. Viruses come
from a real clamd with our own EICAR signature."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path

import pytest

from deliverykit import gateway_config, make_message, route_hosts, send, wait_until
from harness import SMTPClient, UNTRUSTED, free_port, gatehouse_bin

EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode()
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
SENDER = "someone@sender.test"
ALICE, BOB, CEO = "alice@example.org", "bob@example.org", "ceo@example.org"

POLICY = {
    "groups": [
        {"name": "protect", "scope": {"directions": ["inbound"]}, "rules": [
            {"name": "viruses", "any": [{"virus": True}, {"virus_scan_failed": True}],
             "actions": [{"quarantine": "virus"}, {"notify": {"to": "sender", "template": "virus-sender"}}],
             "stop": True},
            {"name": "disguised", "all": [{"type_mismatch": True}], "actions": [{"quarantine": "attachments"}], "stop": True},
            {"name": "unscannable", "all": [{"unscannable": True}], "actions": [{"quarantine": "unscannable"}], "stop": True},
            {"name": "spam", "all": [{"spam_score": ">= 5"}],
             "actions": [{"quarantine": "spam"}, {"notify": {"to": "recipients", "template": "quarantined"}}],
             "stop": True},
            {"name": "fraud", "all": [{"subject": "/wire transfer/i"}],
             "actions": [{"reject": "550 5.7.1 Payment fraud refused"}]},
            {"name": "busy", "all": [{"subject": "/try later/i"}],
             "actions": [{"tempfail": "451 4.7.1 Come back later"}]},
            {"name": "drop", "all": [{"subject": "/newsletter nobody reads/i"}], "actions": ["delete"]},
            {"name": "exe", "all": [{"attachment_name": ["*.exe"]}],
             "actions": [{"strip": {"names": ["*.exe"]}}]},
            {"name": "archive", "all": [{"subject": "/contract/i"}], "actions": [{"copy": "archive@example.org"}]},
            {"name": "stamp", "all": [{"subject": "/stamp me/i"}],
             "actions": [{"add_header": {"name": "X-Stamped", "value": "yes"}}, {"remove_header": "X-Internal"},
                         {"disclaimer": {"text": "This message came from outside."}}]},
            {"name": "divert", "all": [{"recipient": ["old@example.org"]}], "actions": [{"redirect": "new@example.org"}]},
            {"name": "elsewhere", "all": [{"subject": "/reroute/i"}], "actions": [{"route": "{ROUTE}"}]},
        ]},
        {"name": "vip", "scope": {"recipients": [CEO]}, "rules": [
            {"name": "external-tag", "all": [{"not": {"sender": ["@example.org"]}}],
             "actions": [{"tag_subject": "[EXTERNAL]"}]},
        ]},
        {"name": "reject-one", "scope": {"recipients": ["closed@example.org"]}, "rules": [
            {"name": "closed", "actions": [{"reject": "550 5.1.1 Mailbox closed"}]},
        ]},
    ]
}


@pytest.fixture(scope="module")
def setup(module_gatehouse, tls_files, module_sinks, clamd):
    sink = module_sinks()
    other = module_sinks()
    cfg = gateway_config([route_hosts(["example.org", "sender.test"], [sink.address])], tls_files=tls_files)
    policy = json.loads(json.dumps(POLICY).replace("{ROUTE}", other.address))
    cfg["policy"] = policy
    cfg["scanning"] = {"antivirus": {"clamd": clamd[0], "timeout": "20s"}}
    gh = module_gatehouse(cfg, name="policy-session")
    return gh, sink, other


def gh_cli(gh, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([str(gatehouse_bin()), *args, "--data", str(gh.data)], capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def transact(gh, rcpts, body: bytes, sender: str = SENDER):
    """One transaction on the inbound listener; returns (rcpt replies, reply after the dot)."""
    c = SMTPClient(gh.port("inbound"), source=UNTRUSTED, timeout=60)
    try:
        c.greet()
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{sender}>").code == 250
        replies = [c.cmd(f"RCPT TO:<{r}>") for r in rcpts]
        assert c.cmd("DATA").code == 354
        c.send(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        return replies, c.reply(timeout=60)
    finally:
        c.quit()


def delivered_to(sink, address: str, subject_part: str, timeout: float = 30, sender: str | None = None):
    def find():
        return [t for t in sink.transactions if address in t.rcpt_tos and subject_part.encode() in t.data
                and (sender is None or t.mail_from == sender)]
    wait_until(lambda: find(), timeout, f"a message with {subject_part!r} for {address} at the sink")
    return find()


def quarantine_list(gh, *args: str) -> list[dict]:
    return json.loads(gh_cli(gh, "quarantine", "list", "--json", *args).stdout)


def with_attachment(subject: str, data: bytes, name: str) -> bytes:
    b64 = base64.encodebytes(data).decode().replace("\n", "\r\n")
    return (f"From: <{SENDER}>\r\nTo: <{BOB}>\r\nSubject: {subject}\r\nMessage-ID: <{time.time_ns()}@sender.test>\r\n"
            "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            f"--b\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + "--b--\r\n").encode()


# --- refusals in the session ------------------------------------------------------------------

def test_reject_is_a_5xx_after_data_and_nothing_is_kept(setup):
    gh, sink, _ = setup
    before = len(sink.transactions)
    _, reply = transact(gh, [BOB], make_message(SENDER, [BOB], "Urgent wire transfer needed"))
    assert reply.code == 550 and "Payment fraud refused" in str(reply), reply
    time.sleep(1.5)
    assert len(sink.transactions) == before, "a rejected message must not be delivered"
    assert all("wire transfer" not in r["subject"] for r in quarantine_list(gh))


def test_tempfail_is_a_4xx(setup):
    gh, _, _ = setup
    _, reply = transact(gh, [BOB], make_message(SENDER, [BOB], "please try later"))
    assert reply.code == 451 and "4.7.1" in str(reply), reply


def test_a_rejected_recipient_is_dropped_when_another_is_accepted(setup):
    gh, sink, _ = setup
    _, reply = transact(gh, [BOB, "closed@example.org"], make_message(SENDER, [BOB, "closed@example.org"], "mixed verdicts"))
    assert reply.code == 250, reply
    [t] = delivered_to(sink, BOB, "mixed verdicts")
    assert t.rcpt_tos == [BOB], t.rcpt_tos
    time.sleep(1)
    assert not [t for t in sink.transactions if "closed@example.org" in t.rcpt_tos]


def test_every_recipient_rejected_gives_that_rejection(setup):
    gh, _, _ = setup
    _, reply = transact(gh, ["closed@example.org"], make_message(SENDER, ["closed@example.org"], "closed box"))
    assert reply.code == 550 and "5.1.1" in str(reply), reply


# --- quarantine -------------------------------------------------------------------------------

def test_gtube_is_quarantined_and_released_once(setup):
    gh, sink, _ = setup
    subject = f"gtube {time.time_ns()}"
    _, reply = transact(gh, [BOB], make_message(SENDER, [BOB], subject, body=GTUBE + "\r\n"))
    assert reply.code == 250, reply
    entries = [e for e in quarantine_list(gh, "--folder", "spam") if e["subject"] == subject]
    assert len(entries) == 1, quarantine_list(gh)
    entry = entries[0]
    assert entry["recipients"] == [{"address": BOB}] and entry["rules_fired"] == ["protect/spam"], entry
    assert entry["spam_score"] >= 1000 and any("GTUBE" in line for line in entry["trace"]), entry
    assert entry["expires"] > entry["arrival"]
    # The recipient is told (built-in "quarantined" template), from the null sender.
    [notice] = delivered_to(sink, BOB, "Message held")
    assert notice.mail_from == "" and b"Auto-Submitted: auto-replied" in notice.data
    assert not [t for t in sink.transactions if subject.encode() in t.data and t.mail_from != ""], "held, not delivered"

    shown = gh_cli(gh, "quarantine", "show", entry["id"]).stdout
    assert "protect/spam" in shown and "GTUBE" in shown and f"<{BOB}> held" in shown, shown
    raw = subprocess.run([str(gatehouse_bin()), "quarantine", "show", entry["id"], "--raw", "--data", str(gh.data)],
                         capture_output=True, timeout=60).stdout
    assert GTUBE.encode() in raw and subject.encode() in raw

    released = json.loads(gh_cli(gh, "quarantine", "release", entry["id"], "--json").stdout)
    assert released["recipients"] == [BOB]
    [t] = delivered_to(sink, BOB, subject, sender=SENDER)
    assert GTUBE.encode() in t.data
    again = gh_cli(gh, "quarantine", "release", entry["id"], check=False)
    assert again.returncode == 1 and "already released" in again.stderr, again
    time.sleep(1.5)
    assert len([t for t in sink.transactions if subject.encode() in t.data and t.mail_from == SENDER]) == 1


def test_concurrent_releases_deliver_once(setup):
    gh, sink, _ = setup
    subject = f"gtube race {time.time_ns()}"
    _, reply = transact(gh, [ALICE], make_message(SENDER, [ALICE], subject, body=GTUBE + "\r\n"))
    assert reply.code == 250
    [entry] = [e for e in quarantine_list(gh) if e["subject"] == subject]
    procs = [subprocess.Popen([str(gatehouse_bin()), "quarantine", "release", entry["id"], "--data", str(gh.data)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    codes = [p.wait(60) for p in procs]
    assert sorted(codes) == [0, 1, 1, 1], codes
    delivered_to(sink, ALICE, subject, sender=SENDER)
    time.sleep(1.5)
    assert len([t for t in sink.transactions if subject.encode() in t.data and t.mail_from == SENDER]) == 1


def test_forward_and_delete(setup):
    gh, sink, _ = setup
    subject = f"gtube forward {time.time_ns()}"
    assert transact(gh, [BOB], make_message(SENDER, [BOB], subject, body=GTUBE + "\r\n"))[1].code == 250
    [entry] = [e for e in quarantine_list(gh) if e["subject"] == subject]
    gh_cli(gh, "quarantine", "forward", entry["id"], "--to", "security@example.org")
    delivered_to(sink, "security@example.org", subject, sender=SENDER)
    assert [e for e in quarantine_list(gh) if e["id"] == entry["id"]], "a forward leaves the entry held"
    gh_cli(gh, "quarantine", "delete", entry["id"])
    assert not [e for e in quarantine_list(gh) if e["id"] == entry["id"]]
    gone = gh_cli(gh, "quarantine", "show", entry["id"], check=False)
    assert gone.returncode == 1 and "no quarantined message" in gone.stderr


@pytest.mark.parametrize("form", ["plain", "zipped", "base64"])
def test_eicar_goes_to_the_virus_folder_and_the_sender_is_told(setup, form):
    import io
    import zipfile
    gh, sink, _ = setup
    subject = f"eicar {form} {time.time_ns()}"
    if form == "plain":
        body = make_message(SENDER, [BOB], subject, body=EICAR.decode() + "\r\n")
    elif form == "zipped":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("invoice.txt", EICAR)
        body = with_attachment(subject, buf.getvalue(), "invoice.zip")
    else:
        body = with_attachment(subject, EICAR, "eicar.com.txt")
    _, reply = transact(gh, [BOB], body)
    assert reply.code == 250, reply
    [entry] = [e for e in quarantine_list(gh, "--folder", "virus") if e["subject"] == subject]
    assert any("Eicar" in v or "EICAR" in v for v in entry["viruses"]), entry
    [notice] = delivered_to(sink, SENDER, subject)
    assert notice.mail_from == "" and b"malware" in notice.data


def test_clamd_down_holds_the_message_when_the_policy_says_so(module_gatehouse, tls_files, module_sinks):
    sink = module_sinks()
    cfg = gateway_config([route_hosts(["example.org"], [sink.address])], tls_files=tls_files)
    cfg["policy"] = json.loads(json.dumps(POLICY).replace("{ROUTE}", sink.address))
    cfg["scanning"] = {"antivirus": {"clamd": f"127.0.0.1:{free_port()}", "timeout": "2s"}}
    gh = module_gatehouse(cfg, name="clamd-down")
    # This policy holds what could not be scanned (virus_scan_failed → quarantine virus).
    _, reply = transact(gh, [BOB], make_message(SENDER, [BOB], "scanner down"))
    assert reply.code == 250
    [entry] = [e for e in quarantine_list(gh, "--folder", "virus") if e["subject"] == "scanner down"]
    assert any("virus scan failed" in line for line in entry["trace"]), entry


def test_clamd_down_without_a_rule_for_it_fails_closed(module_gatehouse, tls_files, module_sinks):
    sink = module_sinks()
    cfg = gateway_config([route_hosts(["example.org"], [sink.address])], tls_files=tls_files)
    cfg["policy"] = {"groups": [{"name": "av", "rules": [{"name": "virus", "all": [{"virus": True}], "actions": [{"quarantine": "virus"}]}]}]}
    cfg["scanning"] = {"antivirus": {"clamd": f"127.0.0.1:{free_port()}", "timeout": "2s"}}
    gh = module_gatehouse(cfg, name="clamd-down-default")
    _, reply = transact(gh, [BOB], make_message(SENDER, [BOB], "scanner down, no rule"))
    assert reply.code == 451 and "4.3.0" in str(reply), reply


def test_clamd_down_with_tempfail_policy_is_4xx(module_gatehouse, tls_files, module_sinks):
    sink = module_sinks()
    cfg = gateway_config([route_hosts(["example.org"], [sink.address])], tls_files=tls_files)
    cfg["policy"] = {"groups": [{"name": "av", "rules": [
        {"name": "scan-failed", "all": [{"virus_scan_failed": True}], "actions": [{"tempfail": "451 4.3.0 Virus scanner unavailable"}]}]}]}
    cfg["scanning"] = {"antivirus": {"clamd": f"127.0.0.1:{free_port()}", "timeout": "2s"}}
    gh = module_gatehouse(cfg, name="clamd-down-tempfail")
    _, reply = transact(gh, [BOB], make_message(SENDER, [BOB], "scanner down"))
    assert reply.code == 451 and "Virus scanner unavailable" in str(reply), reply


def test_an_executable_renamed_pdf_is_caught_by_its_true_type(setup):
    gh, sink, _ = setup
    subject = f"invoice {time.time_ns()}"
    body = with_attachment(subject, b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 300, "invoice.pdf")
    body = body.replace(b"application/octet-stream", b"application/pdf")
    assert transact(gh, [BOB], body)[1].code == 250
    [entry] = [e for e in quarantine_list(gh, "--folder", "attachments") if e["subject"] == subject]
    assert entry["rules_fired"] == ["protect/disguised"], entry
    assert any("declared application/pdf but is pe" in line for line in entry["trace"]), entry["trace"]


def test_a_zip_bomb_is_unscannable(setup):
    import io
    import zipfile
    gh, _, _ = setup
    subject = f"bomb {time.time_ns()}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.txt", b"\0" * (24 << 20))
    body = with_attachment(subject, buf.getvalue(), "data.zip").replace(b"application/octet-stream", b"application/zip")
    assert transact(gh, [BOB], body)[1].code == 250
    [entry] = [e for e in quarantine_list(gh, "--folder", "unscannable") if e["subject"] == subject]
    assert entry["rules_fired"] == ["protect/unscannable"], entry


# --- actions on delivered copies ------------------------------------------------------------

def test_per_recipient_copies_tag_only_the_vip(setup):
    gh, sink, _ = setup
    subject = f"quarterly numbers {time.time_ns()}"
    _, reply = transact(gh, [BOB, CEO], make_message(SENDER, [BOB, CEO], subject))
    assert reply.code == 250
    [for_ceo] = delivered_to(sink, CEO, subject)
    [for_bob] = delivered_to(sink, BOB, subject)
    assert for_ceo.rcpt_tos == [CEO] and for_bob.rcpt_tos == [BOB]
    assert for_ceo.message()["Subject"] == f"[EXTERNAL] {subject}"
    assert for_bob.message()["Subject"] == subject


def test_spam_headers_are_stamped_and_forged_ones_replaced(setup):
    gh, sink, _ = setup
    subject = f"stamped {time.time_ns()}"
    body = make_message(SENDER, [BOB], subject, headers={"X-Spam-Status": "No, forged", "X-Spam-Score": "-100"})
    assert transact(gh, [BOB], body)[1].code == 250
    [t] = delivered_to(sink, BOB, subject)
    m = t.message()
    assert m.get_all("X-Spam-Status") and len(m.get_all("X-Spam-Status")) == 1, t.data[:800]
    assert m["X-Spam-Status"].startswith("No, score=") and "required=5.0" in m["X-Spam-Status"]
    assert m["X-Spam-Score"] != "-100"


def test_headers_and_disclaimer(setup):
    gh, sink, _ = setup
    subject = f"stamp me {time.time_ns()}"
    body = make_message(SENDER, [BOB], subject, headers={"X-Internal": "secret"}, body="Hello Bob.\r\n")
    assert transact(gh, [BOB], body)[1].code == 250
    [t] = delivered_to(sink, BOB, subject)
    m = t.message()
    assert m["X-Stamped"] == "yes" and m["X-Internal"] is None
    assert "This message came from outside." in m.get_content() and "Hello Bob." in m.get_content()


def test_strip_removes_the_exe_and_leaves_a_notice(setup):
    gh, sink, _ = setup
    subject = f"tool {time.time_ns()}"
    body = with_attachment(subject, b"MZ\x90\x00" + b"\x00" * 200, "setup.exe")
    assert transact(gh, [BOB], body)[1].code == 250
    [t] = delivered_to(sink, BOB, subject)
    m = t.message()
    names = [p.get_filename() for p in m.walk() if p.get_filename()]
    assert "setup.exe" not in names, names
    assert b"was removed by the mail gateway" in t.data


def test_copy_redirect_delete_and_route(setup):
    gh, sink, other = setup
    stamp = time.time_ns()
    # copy: the original goes to the archive too, as a separate copy.
    assert transact(gh, [BOB], make_message(SENDER, [BOB], f"contract {stamp}"))[1].code == 250
    delivered_to(sink, BOB, f"contract {stamp}")
    delivered_to(sink, "archive@example.org", f"contract {stamp}")
    # redirect: old@ is replaced by new@.
    assert transact(gh, ["old@example.org"], make_message(SENDER, ["old@example.org"], f"moved {stamp}"))[1].code == 250
    [t] = delivered_to(sink, "new@example.org", f"moved {stamp}")
    assert "old@example.org" not in t.rcpt_tos
    # delete: accepted, nothing delivered.
    assert transact(gh, [BOB], make_message(SENDER, [BOB], f"newsletter nobody reads {stamp}"))[1].code == 250
    # route: delivered through the other next hop.
    assert transact(gh, [BOB], make_message(SENDER, [BOB], f"reroute {stamp}"))[1].code == 250
    delivered_to(other, BOB, f"reroute {stamp}")
    time.sleep(1.5)
    assert not [t for t in sink.transactions if f"newsletter nobody reads {stamp}".encode() in t.data]
    assert not [t for t in sink.transactions if f"reroute {stamp}".encode() in t.data]


def test_the_mail_log_has_the_verdict_and_trace(setup):
    gh, _, _ = setup
    subject = f"gtube log {time.time_ns()}"
    _, reply = transact(gh, [BOB], make_message(SENDER, [BOB], subject, body=GTUBE + "\r\n"))
    qid = reply.queue_id
    assert qid, reply

    def lines():
        return [line for line in gh.log_text().splitlines() if qid in line]
    wait_until(lambda: any("held as" in line for line in lines()), 10, "the quarantine line in the log")
    assert any("verdict=quarantine(spam)" in line and "rules=protect/spam" in line for line in lines()), lines()
    assert any("trace: " in line and "GTUBE" in line for line in lines()), lines()


def test_a_queued_message_keeps_its_decision_trace(gatehouse, tls_files, module_sinks):
    """The decision trace is stored with the message record: `gatehouse queue show` prints it for a
    message waiting in the queue (delivery paused here), rules that fired and those that did not."""
    sink = module_sinks()
    cfg = gateway_config([route_hosts(["example.org", "sender.test"], [sink.address])], tls_files=tls_files,
                         paused=True)
    cfg["policy"] = {"groups": [{"name": "tags", "rules": [
        {"name": "stamp", "all": [{"subject": "/stamp me/i"}],
         "actions": [{"add_header": {"name": "X-Stamped", "value": "yes"}}]},
        {"name": "never", "all": [{"subject": "/no such subject/"}], "actions": [{"tag_subject": "[X]"}]},
    ]}]}
    gh = gatehouse(cfg, name="trace-kept")
    _, reply = transact(gh, [BOB], make_message(SENDER, [BOB], "please stamp me"))
    assert reply.code == 250 and reply.queue_id, reply
    shown = json.loads(gh_cli(gh, "queue", "show", reply.queue_id, "--json").stdout)
    trace = shown["trace"]
    assert any(line.startswith(f"{BOB}: tags/stamp: FIRED") and "stamp me" in line for line in trace), trace
    assert any(line.startswith(f"{BOB}: tags/never: no") for line in trace), trace
    text = gh_cli(gh, "queue", "show", reply.queue_id).stdout
    assert "trace:     " + f"{BOB}: tags/stamp: FIRED" in text, text
