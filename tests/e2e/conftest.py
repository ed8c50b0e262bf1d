"""Fixtures for the Gatehouse end-to-end suite.

`gatehouse(config)` starts `gatehouse serve --config <tmp>/gatehouse.yaml --data <tmp>/data` with
the given configuration (a dict from `harness.base_config`, or raw YAML text), waits for the 220
greeting on every listener, and stops the process (SIGTERM) after the test. Module-scoped servers
use `ServerFactory` directly with `tmp_path_factory`.

Every test runs under a wall-clock limit (SIGALRM; default 120 s, `@pytest.mark.timeout(N)` to
change it), and when a test fails the tail of each involved server's log is attached to the report.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

import harness
from harness import Gatehouse

DEFAULT_TEST_TIMEOUT = 120


class TestTimeout(Exception):
    pass


class ServerFactory:
    def __init__(self, root: Path, binary: Path):
        self.root = root
        self.binary = binary
        self.servers: list[Gatehouse] = []

    def __call__(self, config: dict | str | None, *, data: Path | None = None, wait: bool = True,
                 start: bool = True, name: str | None = None, **kw) -> Gatehouse:
        name = name or f"gatehouse{len(self.servers) + 1}"
        workdir = self.root / name
        server = Gatehouse(self.binary, workdir, config, data=data, name="gatehouse")
        self.servers.append(server)
        if start:
            server.start(wait=wait, **kw)
        return server

    def stop_all(self) -> None:
        for s in self.servers:
            try:
                s.stop()
            except Exception:
                pass


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout(seconds): wall-clock limit for one test")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    marker = item.get_closest_marker("timeout")
    limit = int(marker.args[0]) if marker else DEFAULT_TEST_TIMEOUT

    def on_alarm(signum, frame):
        raise TestTimeout(f"test exceeded its {limit}s limit")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    seen = set()
    for value in getattr(item, "funcargs", {}).values():
        servers = []
        if isinstance(value, Gatehouse):
            servers = [value]
        elif isinstance(value, ServerFactory):
            servers = value.servers
        for s in servers:
            if id(s) in seen:
                continue
            seen.add(id(s))
            report.sections.append((f"gatehouse log {s.log_path}", s.log_tail(80)))
        if isinstance(value, SinkFactory):
            for sink in value.sinks:
                report.sections.append((f"sink {sink.address}", sink_summary(sink)))
        if isinstance(value, DNSFactory):
            for d in value.servers:
                report.sections.append((f"dns {d.address}", f"queries: {d.queries[-40:]}"))
        if isinstance(value, PostfixFactory):
            for pf in value.servers:
                report.sections.append((f"postfix {pf.address}", pf.log_tail(40)))


@pytest.fixture(scope="session")
def binary() -> Path:
    return harness.gatehouse_bin()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    return harness.make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def gatehouse(tmp_path, binary):
    factory = ServerFactory(tmp_path, binary)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def module_gatehouse(tmp_path_factory, binary):
    factory = ServerFactory(tmp_path_factory.mktemp("srv"), binary)
    yield factory
    factory.stop_all()


# --- delivery: SMTP sinks, a DNS server, a private Postfix ------------------------------------

def sink_summary(sink) -> str:
    lines = [f"{len(sink.connections)} connections, {len(sink.transactions)} transactions, "
             f"{len(sink.dropped)} dropped"]
    for t in sink.transactions[-15:]:
        lines.append(f"  conn {t.conn_id} tls={t.tls} from=<{t.mail_from}> to={t.rcpt_tos} "
                     f"opts={t.mail_options} size={len(t.data)}")
    lines.append(f"  last RCPT replies: {sink.rcpts[-10:]}")
    return "\n".join(lines)


class SinkFactory:
    """`sinks(host="127.0.0.1", port=0, **Sink options)` -> a started sink.Sink."""

    def __init__(self, cert_dir: Path):
        self.cert_dir = cert_dir
        self.sinks = []

    def __call__(self, host: str = "127.0.0.1", port: int = 0, start: bool = True, **kw):
        from sink import Sink
        kw.setdefault("cert_dir", self.cert_dir)
        s = Sink(host, port, **kw)
        self.sinks.append(s)
        return s.start() if start else s

    def stop_all(self):
        for s in self.sinks:
            try:
                s.stop()
            except Exception:
                pass


class DNSFactory:
    """`dns_server(zone)` -> a started dnsserver.DNSServer on 127.0.0.1."""

    def __init__(self):
        self.servers = []

    def __call__(self, zone: dict, **kw):
        from dnsserver import DNSServer
        d = DNSServer(zone, **kw).start()
        self.servers.append(d)
        return d

    def stop_all(self):
        for d in self.servers:
            try:
                d.stop()
            except Exception:
                pass


class PostfixFactory:
    """`postfix(domains=[...], ...)` -> a started postfix_server.PostfixServer."""

    def __init__(self):
        self.servers = []

    def __call__(self, **kw):
        from postfix_server import PostfixServer
        pf = PostfixServer(**kw)
        self.servers.append(pf)
        return pf.start()

    def stop_all(self):
        for pf in self.servers:
            try:
                pf.cleanup()
            except Exception:
                pass


@pytest.fixture(scope="session")
def sink_cert_dir(tmp_path_factory) -> Path:
    from sink import make_self_signed
    d = tmp_path_factory.mktemp("sink-tls")
    make_self_signed(d)
    return d


@pytest.fixture
def sinks(sink_cert_dir):
    f = SinkFactory(sink_cert_dir)
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def module_sinks(sink_cert_dir):
    f = SinkFactory(sink_cert_dir)
    yield f
    f.stop_all()


@pytest.fixture
def dns_server():
    f = DNSFactory()
    yield f
    f.stop_all()


@pytest.fixture
def postfix():
    from postfix_server import available
    if not available():
        pytest.skip("postfix is not installed")
    f = PostfixFactory()
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def clamd(tmp_path_factory):
    """A real clamd (Debian's clamav-daemon) on loopback with our own EICAR signature, started by
    Tests/AntiVirusTests/Resources/clamd-test.sh. Yields ("127.0.0.1:PORT", its work directory)."""
    import os
    import shutil
    import subprocess
    from harness import REPO, free_port
    if not shutil.which("clamd") and not Path("/usr/sbin/clamd").exists():
        pytest.fail("clamd is not installed (scripts/test installs clamav-daemon)")
    script = REPO / "Tests" / "AntiVirusTests" / "Resources" / "clamd-test.sh"
    work = tmp_path_factory.mktemp("clamd")
    port = free_port()
    p = subprocess.run(["bash", str(script), "start", str(work), str(port), str(os.getpid())],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0 and "READY" in p.stdout, p
    yield f"127.0.0.1:{port}", work
    subprocess.run(["bash", str(script), "stop", str(work)], capture_output=True, timeout=60)
