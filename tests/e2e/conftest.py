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
