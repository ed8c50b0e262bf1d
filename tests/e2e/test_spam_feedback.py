"""The Bayesian classifier in the session and administrators' feedback (issue "Policy and
scanning"): a node trained with `gatehouse spam train` on SpamAssassin's public corpus adds its
BAYES_* score to the rule score of every scanned message; `gatehouse quarantine release
--not-spam` and `delete --spam` teach it, and the running gateway picks the change up."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from deliverykit import gateway_config, route_hosts, wait_until
from harness import SMTPClient, UNTRUSTED, gatehouse_bin

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
BOB = "bob@example.org"


def cli(data: Path, *args: str) -> subprocess.CompletedProcess:
    p = subprocess.run([str(gatehouse_bin()), *args, "--data", str(data)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"{args}: {p.stdout}\n{p.stderr}"
    return p


@pytest.fixture(scope="module")
def trained(module_gatehouse, tls_files, module_sinks, tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.fail(f"the corpus is missing: {CORPUS}")
    work = tmp_path_factory.mktemp("bayes")
    spam, ham = sorted((CORPUS / "spam").glob("*.eml")), sorted((CORPUS / "ham").glob("*.eml"))
    for name, files in (("spam", spam[:300]), ("ham", ham[:300])):
        (work / name).mkdir()
        for f in files:
            shutil.copy(f, work / name / f.name)
    data = work / "data"
    data.mkdir()
    cli(data, "spam", "train", "--spam", str(work / "spam"), "--ham", str(work / "ham"))
    sink = module_sinks()
    cfg = gateway_config([route_hosts(["example.org"], [sink.address])], tls_files=tls_files)
    cfg["policy"] = {"groups": [{"name": "in", "rules": [
        {"name": "spam", "all": [{"spam": True}], "actions": [{"quarantine": "spam"}], "stop": True}]}]}
    gh = module_gatehouse(cfg, name="bayes", data=data)
    return gh, sink, spam[300:], ham[300:]


def transact(gh, body: bytes):
    c = SMTPClient(gh.port("inbound"), source=UNTRUSTED, timeout=60)
    try:
        c.greet()
        c.ehlo()
        assert c.cmd("MAIL FROM:<someone@sender.test>").code == 250
        assert c.cmd(f"RCPT TO:<{BOB}>").code == 250
        assert c.cmd("DATA").code == 354
        body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        c.send(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        return c.reply(timeout=60)
    finally:
        c.quit()


def test_bayes_scores_are_added_in_the_session(trained):
    gh, sink, _, ham = trained
    wait_until(lambda: "Bayes database" in gh.log_text() and "ready" in gh.log_text(), 10, "the database loaded")
    # A ham message not trained on is delivered with a BAYES_ test in X-Spam-Status.
    for f in ham[:20]:
        reply = transact(gh, f.read_bytes())
        assert reply.code == 250 or "line too long" in str(reply), reply
    wait_until(lambda: len(sink.transactions) >= 15, 60, "ham delivered")
    stamped = [t.message()["X-Spam-Status"] for t in sink.transactions]
    assert sum("BAYES_" in s for s in stamped) >= 15, stamped


def test_feedback_teaches_the_running_gateway(trained):
    gh, _, spam, _ = trained
    for f in spam[:40]:
        reply = transact(gh, f.read_bytes())
        assert reply.code == 250 or "line too long" in str(reply), reply   # RFC 5321 §4.5.3.1.6 refusals are fine
    entries = json.loads(cli(gh.data, "quarantine", "list", "--json").stdout)
    assert entries, "some spam must be held"
    entry = entries[0]
    before = (gh.data / "bayes" / "tokens.db").stat().st_mtime_ns
    out = cli(gh.data, "quarantine", "release", entry["id"], "--not-spam").stdout
    assert "learned as ham" in out, out
    assert (gh.data / "bayes" / "tokens.db").stat().st_mtime_ns != before
    if len(entries) > 1:
        out = cli(gh.data, "quarantine", "delete", entries[1]["id"], "--spam").stdout
        assert "learned as spam" in out and "deleted" in out, out
    # The gateway reloads the changed database (it checks every 30 seconds).
    wait_until(lambda: gh.log_text().count("Bayes database") >= 2, 70, "the reload in the log")


def test_tokens_used_by_verdicts_are_kept_when_the_gateway_stops(trained):
    """The upkeep of the database (hourly, and once more at stop) marks the tokens verdicts used,
    so that pruning keeps them; stopping the gateway must not forget what it noted since."""
    import re
    gh, _, _, ham = trained
    reply = transact(gh, ham[25].read_bytes())
    assert reply.code == 250 or "line too long" in str(reply), reply
    assert gh.stop() == 0
    lines = [line for line in gh.log_text().splitlines() if "Bayes database upkeep" in line]
    assert lines, gh.log_tail()
    used = re.search(r"upkeep: (\d+) tokens used by verdicts, (\d+) marked as used today, (\d+) pruned, (\d+) kept", lines[-1])
    assert used and int(used.group(1)) > 0 and int(used.group(4)) > 1000, lines[-1]
    stats = json.loads(cli(gh.data, "spam", "stats", "--json").stdout)
    assert stats["tokens"] == int(used.group(4)), (stats, lines[-1])
    assert stats["spam_messages"] >= 300 and stats["ham_messages"] >= 300, stats
    assert stats["used_today"] == stats["tokens"], stats     # trained today, so all used today
    text = cli(gh.data, "spam", "stats").stdout
    assert "tokens:" in text and "last used:" in text, text
    gh.start()
