"""Least privilege: the gateway runs as an ordinary user.

Every other test runs the binary as whoever runs the suite (root in CI). Here it runs as `nobody`:
it must greet, accept a message and deliver it. A socket option that needs CAP_NET_ADMIN
(SO_DEBUG, set by mistake where TCP_NODELAY was meant) once made every connection of an
unprivileged gateway close before its greeting, and root-only test runs did not see it.
"""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from deliverykit import DELIVERY_KEY, MAILBOXES_DIR, route_hosts, route_local
from harness import base_config, free_port, gatehouse_bin, listener


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the gateway exited with {proc.returncode}:\n{log.read_text(errors='replace')}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}:\n{log.read_text(errors='replace')}")


@pytest.mark.timeout(120)
def test_the_gateway_runs_as_nobody_receives_and_delivers(sinks):
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and not setpriv:
        pytest.skip("setpriv (util-linux) is needed to drop to nobody")
    # A directory nobody can reach (pytest's tmp_path is private to root), with a copy of the binary.
    work = Path(tempfile.mkdtemp(prefix="gatehouse-unprivileged-", dir="/tmp"))
    os.chmod(work, 0o755)
    binary = work / "gatehouse"
    shutil.copy(gatehouse_bin(), binary)
    os.chmod(binary, 0o755)
    data = work / "data"
    data.mkdir()
    port = free_port()
    sink = sinks()
    cfg = base_config([listener("inbound", "inbound", tls="none", port=port)])
    cfg[DELIVERY_KEY] = {"routes": [route_local(["example.test"]), route_hosts(["example.org"], [sink.address])]}
    config = work / "gatehouse.yaml"
    config.write_text(json.dumps(cfg))                 # JSON is YAML
    os.chmod(config, 0o644)
    if os.geteuid() == 0:
        shutil.chown(data, "nobody")
        argv = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(binary)]
    else:
        argv = [str(binary)]
    log = work / "log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*argv, "serve", "--config", str(config), "--data", str(data)], stdout=out, stderr=out)
    try:
        wait_for_port(port, proc, log)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        assert int(uid) != 0, "the gateway must run unprivileged here"
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.ehlo("client.example.net")
            refused = client.sendmail("someone@sender.test", ["carol@example.test", "dave@example.org"],
                                      b"From: <someone@sender.test>\r\nSubject: unprivileged\r\n\r\nhello\r\n")
            assert refused == {}, refused
        new = data / MAILBOXES_DIR / "example.test" / "carol" / "new"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (new.is_dir() and any(new.iterdir())):
            time.sleep(0.1)
        assert new.is_dir() and any(new.iterdir()), f"nothing delivered to {new}:\n{log.read_text(errors='replace')}"
        sink.wait_for(1, timeout=30)                   # and over SMTP, an outgoing connection
        assert b"unprivileged" in sink.transactions[0].data
        text = log.read_text(errors="replace")
        assert "warning" not in text.lower(), text
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
