"""Concurrency with a real peer: Postfix's smtp-source against an inbound listener.

Every message smtp-source sends must be queued exactly once, with many sessions in parallel,
and the queue must check clean afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from harness import base_config, listener

SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
HIGH = {"messages_per_minute_per_client": 1000000, "connections_per_minute_per_client": 1000000,
        "sessions_per_client": 200}

pytestmark = pytest.mark.skipif(not Path(SMTP_SOURCE).exists(), reason="smtp-source (postfix) not installed")


@pytest.fixture
def gh(gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound", tls="starttls", limits=HIGH)], tls_files=tls_files)
    return gatehouse(cfg)


def run_source(port: int, *args: str, timeout: float = 240) -> float:
    argv = [SMTP_SOURCE, "-M", "client.example.net", "-f", "load@foreign.test",
            "-t", "alice@example.test", *args, f"127.0.0.1:{port}"]
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - t0
    assert p.returncode == 0, f"{' '.join(argv)}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return elapsed


@pytest.mark.timeout(300)
def test_smtp_source_parallel_sessions(gh):
    n = 400
    elapsed = run_source(gh.port("inbound"), "-s", "20", "-m", str(n), "-l", "4000")
    entries = gh.queue_list()
    print(f"\n{n} messages over 20 parallel sessions in {elapsed:.1f}s ({n / elapsed:.0f} msg/s)")
    assert len(entries) == n, f"{len(entries)} queued for {n} sent"
    assert all(e["sender"] == "load@foreign.test" for e in entries)
    assert len({e["id"] for e in entries}) == n
    assert gh.queue_check().returncode == 0


@pytest.mark.timeout(300)
def test_smtp_source_many_messages_per_session_and_recipients(gh):
    n = 200
    run_source(gh.port("inbound"), "-d", "-s", "4", "-m", str(n), "-r", "5", "-N", "-l", "1000")
    entries = gh.queue_list()
    assert len(entries) == n, f"{len(entries)} queued for {n} sent"
    assert all(len(e["recipients"]) == 5 for e in entries), entries[:3]
    assert gh.queue_check().returncode == 0
