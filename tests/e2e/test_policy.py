"""`gatehouse policy test` and `gatehouse policy check`: the policy of tests/e2e/policy/gatehouse.yaml
(the example of docs/policy.md) over real messages, with the real MIME engine, spam rules and a
real clamd (Debian's clamav-daemon with our own EICAR signature, started on loopback by
Tests/AntiVirusTests/Resources/clamd-test.sh)."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from harness import free_port, gatehouse_bin

POLICY = Path(__file__).resolve().parent / "policy"
CONFIG = POLICY / "gatehouse.yaml"
# The EICAR test string, assembled at run time so that this file is not itself "infected".
EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode()


def gatehouse(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([str(gatehouse_bin()), *args], capture_output=True, text=True, timeout=120)
    if check:
        assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def policy_test(message: Path, *extra: str, to: str = "bob@example.org", sender: str = "x@remote.test") -> dict:
    p = gatehouse("policy", "test", str(message), "--from", sender, "--to", to, "--config", str(CONFIG), "--json", *extra)
    return json.loads(p.stdout)


def test_the_example_fixtures_pass():
    p = gatehouse("policy", "check", str(POLICY), "--config", str(CONFIG))
    assert "5 fixtures, 0 failed" in p.stdout, p.stdout


def test_a_wrong_expectation_fails_with_the_trace(tmp_path):
    shutil.copy(POLICY / "gtube.eml", tmp_path / "gtube.eml")
    (tmp_path / "gtube.expect").write_text("from: spammer@remote.test\nto: bob@example.org\nexpect: deliver\n")
    p = gatehouse("policy", "check", str(tmp_path), "--config", str(CONFIG), check=False)
    assert p.returncode == 1, p
    assert "FAIL gtube.eml" in p.stdout and "expected deliver, got quarantine:spam" in p.stdout, p.stdout
    assert "inbound-protection/spam: FIRED" in p.stdout and "GTUBE" in p.stdout, p.stdout


def test_policy_test_prints_verdict_and_trace():
    report = policy_test(POLICY / "gtube.eml")
    assert report["reply"].startswith("250"), report
    [verdict] = report["verdicts"]
    assert verdict["verdict"] == "quarantine:spam" and verdict["rules"] == ["inbound-protection/spam"], report
    assert report["spam_score"] >= 1000
    assert any("GTUBE" in line for line in report["trace"]), report["trace"]


def test_per_recipient_verdicts_and_one_reply():
    # The VIP group tags the CEO's copy only; both copies are delivered, the message is accepted once.
    msg = POLICY / "ham.eml"
    p = gatehouse("policy", "test", str(msg), "--from", "friend@remote.test", "--to", "bob@example.org",
                  "--to", "ceo@example.org", "--config", str(CONFIG), "--json")
    report = json.loads(p.stdout)
    verdicts = {v["recipient"]: v for v in report["verdicts"]}
    assert verdicts["bob@example.org"]["rules"] == [] and verdicts["ceo@example.org"]["rules"] == ["vip/external-tag"], report
    assert "tagSubject" in verdicts["ceo@example.org"]["actions"][0], report
    assert report["reply"].startswith("250")


def message_with(attachment: bytes, name: str) -> bytes:
    b64 = base64.encodebytes(attachment).decode().replace("\n", "\r\n")
    return ("From: x@remote.test\r\nTo: bob@example.org\r\nSubject: files\r\nMessage-ID: <av@remote.test>\r\n"
            "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhere\r\n"
            f"--b\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b64 + "--b--\r\n").encode()


def zipped(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("readme.txt", data)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["plain", "base64", "zipped"])
def test_eicar_goes_to_the_virus_quarantine_through_clamd(tmp_path, clamd, kind):
    address, _ = clamd
    path = tmp_path / f"eicar-{kind}.eml"
    if kind == "plain":
        path.write_bytes(b"From: x@remote.test\r\nTo: bob@example.org\r\nSubject: t\r\n\r\n" + EICAR + b"\r\n")
    elif kind == "base64":
        path.write_bytes(message_with(EICAR, "eicar.com"))
    else:
        path.write_bytes(message_with(zipped(EICAR), "docs.zip"))
    report = policy_test(path, "--clamd", address)
    assert report["virus"].startswith("infected: Gatehouse.Test.EICAR"), report
    assert report["verdicts"][0]["verdict"] == "quarantine:virus", report


def test_clean_mail_through_clamd_is_delivered(clamd):
    address, _ = clamd
    report = policy_test(POLICY / "ham.eml", "--clamd", address, sender="friend@remote.test")
    assert report["virus"] == "clean" and report["verdicts"][0]["verdict"] == "deliver", report


def test_scanner_down_is_caught_by_the_scan_failed_condition(tmp_path):
    report = policy_test(POLICY / "ham.eml", "--clamd", f"127.0.0.1:{free_port()}", sender="friend@remote.test")
    assert report["virus"].startswith("scan failed"), report
    assert report["verdicts"][0]["verdict"] == "quarantine:virus", report
