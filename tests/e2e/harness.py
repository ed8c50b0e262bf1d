"""Harness for Gatehouse end-to-end tests: run the real `gatehouse` binary and talk to it.

What is here:
  * `Gatehouse`   - one `gatehouse serve` process with its own config, data dir and log file;
                    start / wait for the greeting / SIGTERM / kill -9 / restart, plus the
                    administrative CLI (`user ...`, `queue ...`) against the same data dir.
  * `SMTPClient`  - a raw SMTP client on a socket: sends exact bytes (bare LF, NUL, pipelined
                    segments, PROXY headers), parses multi-line replies, STARTTLS and implicit
                    TLS, detects the server closing the connection.
  * `listener()` / `base_config()` / `to_yaml()` - build a configuration (no PyYAML needed).
  * `swaks()`     - run swaks against a listener and return its exit code and transcript.

Everything listens and connects on 127.0.0.1 / 127.0.0.2 only (all of 127.0.0.0/8 is local on
Linux, so 127.0.0.2 is a handy "other client" that is not in a trusted network).
"""

from __future__ import annotations

import ctypes
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

REPO = Path(__file__).resolve().parents[2]

TRUSTED = "127.0.0.1"      # the address used as "trusted relay network" in most configs
UNTRUSTED = "127.0.0.2"    # a local address outside every trusted network

CLIENT_NAME = "client.example.net"
GREETING_TIMEOUT = 30.0


def gatehouse_bin() -> Path:
    """The binary under test: $GATEHOUSE_BIN, relative paths taken from the repository root."""
    p = Path(os.environ.get("GATEHOUSE_BIN", ".build/debug/gatehouse"))
    if not p.is_absolute():
        p = REPO / p
    return p


# --------------------------------------------------------------------------------------------
# Ports

_handed_out: set[int] = set()
_port_lock = threading.Lock()


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now and not handed out before in this run."""
    with _port_lock:
        for _ in range(200):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("no free port")


def port_is_busy(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


# --------------------------------------------------------------------------------------------
# Configuration

def listener(name: str, role: str = "inbound", *, tls: str = "starttls", auth: str = "off",
             port: int | None = None, **extra) -> dict:
    """One entry of `listeners:`; only keys that are given are written (the rest default)."""
    d = {
        "name": name,
        "role": role,
        "address": f"127.0.0.1:{port or free_port()}",
        "tls": tls,
        "auth": auth,
    }
    d.update(extra)
    return d


def base_config(listeners: Sequence[dict], *, hostname: str = "mx.example.test",
                internal: Sequence[str] = ("example.test", "example.org"),
                tls_files: tuple[Path, Path] | None = None, **extra) -> dict:
    cfg: dict = {
        "node": {"hostname": hostname},
        "domains": {"internal": list(internal)},
        "spool": {"minimum_free_space": "10MB"},
        # Accepted mail stays queued unless a test configures delivery: most tests look at the queue.
        "delivery": {"paused": True},
    }
    if tls_files is not None:
        cfg["tls"] = {"certificate": str(tls_files[0]), "key": str(tls_files[1])}
    cfg.update(extra)
    cfg["listeners"] = list(listeners)
    return cfg


def _scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if v is None:
        return "null"
    # JSON string syntax is valid YAML double-quoted scalar syntax.
    return json.dumps(str(v))


def to_yaml(obj, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists of dicts and lists of scalars (flow style)."""
    pad = " " * indent
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict):
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 2))
            elif isinstance(v, list) and v and all(isinstance(i, dict) for i in v):
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 2))
            elif isinstance(v, list):
                out.append(f"{pad}{k}: [" + ", ".join(_scalar(i) for i in v) + "]")
            else:
                out.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(obj, list):
        for item in obj:
            body = to_yaml(item, indent + 2).splitlines()
            first = body[0].lstrip()
            out.append(f"{pad}- {first}")
            out.extend(body[1:])
    else:
        out.append(pad + _scalar(obj))
    return "\n".join(out)


def make_tls_files(directory: Path, cn: str = "mx.example.test") -> tuple[Path, Path]:
    """A self-signed certificate and key made with the openssl tool."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={cn}",
         "-addext", f"subjectAltName=DNS:{cn}"],
        check=True, capture_output=True, timeout=60)
    return cert, key


# --------------------------------------------------------------------------------------------
# The server process

class ServerDied(AssertionError):
    pass


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the test runner dies (PR_SET_PDEATHSIG), so an
    aborted run never leaves a server holding a port."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


@dataclass
class CLIResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (f"$ {' '.join(self.args)}\nexit {self.returncode}\n"
                f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}")


class Gatehouse:
    """One `gatehouse serve` process. Logs (stderr and stdout) go to `log_path`."""

    def __init__(self, binary: Path, workdir: Path, config: dict | str | None,
                 data: Path | None = None, name: str = "gatehouse"):
        self.binary = binary
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data = data or (workdir / "data")
        self.config = config
        self.config_path: Path | None = None
        if config is not None:
            self.config_path = workdir / f"{name}.yaml"
            text = config if isinstance(config, str) else to_yaml(config) + "\n"
            self.config_path.write_text(text)
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.starts = 0

    # -- listeners

    @property
    def listeners(self) -> list[dict]:
        if isinstance(self.config, dict):
            return self.config["listeners"]
        return []

    def listener(self, name: str) -> dict:
        for entry in self.listeners:
            if entry["name"] == name:
                return entry
        raise KeyError(name)

    def port(self, name: str) -> int:
        return int(self.listener(name)["address"].rsplit(":", 1)[1])

    # -- life cycle

    def serve_args(self) -> list[str]:
        args = [str(self.binary), "serve"]
        if self.config_path is not None:
            args += ["--config", str(self.config_path)]
        args += ["--data", str(self.data)]
        return args

    def start(self, wait: bool = True, ports: Iterable[tuple[int, bool]] | None = None,
              timeout: float = GREETING_TIMEOUT) -> "Gatehouse":
        if not self.binary.exists():
            raise AssertionError(f"gatehouse binary not found at {self.binary} "
                                 "(build it with `swift build`, or set GATEHOUSE_BIN)")
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n===== start #{self.starts + 1}: {' '.join(self.serve_args())}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(self.serve_args(), cwd=self.workdir, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log, preexec_fn=_die_with_parent)
        self.starts += 1
        if wait:
            probes = ports if ports is not None else [self.readiness_probe(l) for l in self.listeners]
            for probe in probes:
                port, implicit, *rest = probe
                source = rest[0] if rest else None
                preamble = rest[1] if len(rest) > 1 else None
                self.wait_for_greeting(port, implicit=implicit, timeout=timeout, source=source,
                                       preamble=preamble)
        return self

    def readiness_probe(self, entry: dict) -> tuple[int, bool, str | None, bytes | None]:
        """How to poll a listener for its greeting: a source address its ACL lets in, and a
        PROXY header when the listener expects one from that source."""
        port = self.port(entry["name"])
        implicit = entry.get("tls") == "implicit"

        def within(addr: str, nets) -> bool:
            return any(ipaddress.ip_address(addr) in ipaddress.ip_network(n, strict=False)
                       for n in nets or [])

        source = None
        for cand in ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.9", "127.0.0.77"):
            allowed = not entry.get("allow") or within(cand, entry.get("allow"))
            denied = within(cand, entry.get("deny")) and not within(cand, entry.get("exempt"))
            if allowed and not denied:
                source = cand
                break
        preamble = None
        if entry.get("proxy_protocol") and source and within(source, entry.get("balancers")):
            preamble = f"PROXY TCP4 {source} 127.0.0.1 40000 {port}\r\n".encode()
        return port, implicit, source, preamble

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_for_greeting(self, port: int, implicit: bool = False,
                          timeout: float = GREETING_TIMEOUT, source: str | None = None,
                          preamble: bytes | None = None) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.running():
                raise ServerDied(f"gatehouse exited with {self.proc.returncode} before listening "
                                 f"on {port}\n{self.log_tail()}")
            try:
                c = SMTPClient(port, timeout=5, implicit_tls=implicit, source=source,
                               preamble=preamble)
                try:
                    r = c.reply()
                    if r.code == 220:
                        c.send(b"QUIT\r\n")
                        return
                    last = f"greeting was {r}"
                finally:
                    c.close()
            except (OSError, ConnectionClosed, ssl.SSLError) as e:
                last = repr(e)
            time.sleep(0.1)
        raise AssertionError(f"no 220 greeting on port {port} within {timeout}s (last: {last})\n"
                             f"{self.log_tail()}")

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM and wait; kill -9 if it does not stop in time. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close_log()
        return self.proc.returncode

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self._close_log()

    def restart(self, **kw) -> "Gatehouse":
        self.stop()
        return self.start(**kw)

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n: int = 60) -> str:
        lines = self.log_text().splitlines()[-n:]
        return "--- gatehouse log (tail) ---\n" + "\n".join(lines)

    def peak_rss_kb(self) -> int:
        """VmHWM of the running server, in kB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc/PID/status")

    # -- administrative CLI on the same data directory

    def cli(self, *args: str, input: str | None = None, timeout: float = 60) -> CLIResult:
        argv = [str(self.binary), *args]
        p = subprocess.run(argv, cwd=self.workdir, input=input, capture_output=True, text=True,
                           timeout=timeout)
        return CLIResult(argv, p.returncode, p.stdout, p.stderr)

    def user_add(self, name: str, password: str, addresses: Sequence[str] = ()) -> None:
        args = ["user", "add", name, "--data", str(self.data), "--password-stdin"]
        for a in addresses:
            args += ["--address", a]
        r = self.cli(*args, input=password + "\n")
        assert r.returncode == 0, str(r)

    def queue_list(self) -> list[dict]:
        r = self.cli("queue", "list", "--data", str(self.data), "--json")
        assert r.returncode == 0, str(r)
        try:
            data = json.loads(r.stdout)
        except json.JSONDecodeError as e:
            raise AssertionError(f"queue list --json did not print JSON ({e})\n{r}")
        assert isinstance(data, list), str(r)
        return data

    def queue_ids(self) -> set[str]:
        return {m["id"] for m in self.queue_list()}

    def queue_check(self) -> CLIResult:
        return self.cli("queue", "check", "--data", str(self.data), timeout=300)


# --------------------------------------------------------------------------------------------
# Raw SMTP client

class ConnectionClosed(Exception):
    """The server closed (or reset) the connection."""


@dataclass
class Reply:
    code: int
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def enhanced(self) -> str:
        """The RFC 3463 enhanced status code of the first line, or ''."""
        first = self.lines[0][4:] if self.lines else ""
        m = re.match(r"([245]\.\d{1,3}\.\d{1,3})\b", first)
        return m.group(1) if m else ""

    @property
    def keywords(self) -> set[str]:
        """EHLO keywords (upper case), from every line but the first."""
        return {ln[4:].split()[0].upper() for ln in self.lines[1:] if len(ln) > 4 and ln[4:].split()}

    def ext(self, keyword: str) -> str | None:
        """Parameters of an EHLO keyword ('' when none), or None when not advertised."""
        for ln in self.lines[1:]:
            parts = ln[4:].split(None, 1)
            if parts and parts[0].upper() == keyword.upper():
                return parts[1] if len(parts) > 1 else ""
        return None

    @property
    def queue_id(self) -> str | None:
        m = re.search(r"queued as ([0-9A-Za-z]+)", self.text)
        return m.group(1) if m else None

    def __str__(self) -> str:
        return " | ".join(self.lines) if self.lines else str(self.code)


def client_tls_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SMTPClient:
    """A byte-exact SMTP client. Every read has a timeout; nothing here can hang a test."""

    def __init__(self, port: int, *, host: str = "127.0.0.1", source: str | None = None,
                 timeout: float = 10.0, implicit_tls: bool = False, preamble: bytes | None = None):
        self.timeout = timeout
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if preamble:
            self.sock.sendall(preamble)
        self.buf = b""
        self.tls = False
        if implicit_tls:
            self._wrap()

    # -- bytes

    def send(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout: float | None) -> None:
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError) as e:
            raise ConnectionClosed(repr(e))
        except ssl.SSLError as e:
            raise ConnectionClosed(repr(e))
        if not chunk:
            raise ConnectionClosed("EOF")
        self.buf += chunk

    def read_line(self, timeout: float | None = None) -> str:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out waiting for a reply line")
            self._fill(left)
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self, timeout: float | None = None) -> Reply:
        """One (possibly multi-line) reply. Raises ConnectionClosed or socket.timeout."""
        lines = []
        while True:
            line = self.read_line(timeout)
            lines.append(line)
            if not re.match(r"^\d{3}[ -]", line) and not re.match(r"^\d{3}$", line):
                raise AssertionError(f"malformed reply line {line!r} (so far {lines})")
            if len(line) == 3 or line[3] == " ":
                return Reply(int(line[:3]), lines)

    def replies_until_close(self, timeout: float = 10.0, settle: float = 2.0) -> tuple[list[Reply], bool]:
        """Read replies until the server closes the connection, or `timeout` passes, or nothing
        more arrives for `settle` seconds after a reply. Returns (replies, closed)."""
        out: list[Reply] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if out:
                left = min(left, settle)
            if left <= 0:
                return out, False
            try:
                out.append(self.reply(timeout=left))
            except ConnectionClosed:
                return out, True
            except (socket.timeout, TimeoutError):
                return out, False

    def pending(self, wait: float = 0.5) -> bytes:
        """Whatever the server sends within `wait` seconds without being asked (b'' if nothing).
        EOF is not an error here."""
        try:
            self._fill(wait)
        except (socket.timeout, TimeoutError, ConnectionClosed):
            pass
        data, self.buf = self.buf, b""
        return data

    def is_closed(self, timeout: float = 5.0) -> bool:
        """True when the server closes the connection within `timeout` (data before EOF is kept)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self._fill(left)
            except ConnectionClosed:
                return True
            except (socket.timeout, TimeoutError):
                return False

    # -- commands

    def cmd(self, line: str | bytes, timeout: float | None = None) -> Reply:
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply(timeout)

    def greet(self) -> Reply:
        r = self.reply()
        assert r.code == 220, f"greeting: {r}"
        return r

    def ehlo(self, name: str = CLIENT_NAME) -> Reply:
        r = self.cmd(f"EHLO {name}")
        assert r.code == 250, f"EHLO: {r}"
        return r

    def starttls(self) -> Reply:
        r = self.cmd("STARTTLS")
        assert r.code == 220, f"STARTTLS: {r}"
        self._wrap()
        return r

    def _wrap(self) -> None:
        assert not self.buf, f"plaintext bytes left before the TLS handshake: {self.buf!r}"
        self.sock.settimeout(self.timeout)
        self.sock = client_tls_context().wrap_socket(self.sock, server_hostname=None)
        self.tls = True

    def peer_certificate_der(self) -> bytes:
        assert self.tls
        return self.sock.getpeercert(binary_form=True)

    def mail_rcpt(self, sender: str, rcpts: Sequence[str], mail_params: str = "") -> tuple[Reply, list[Reply]]:
        m = self.cmd(f"MAIL FROM:<{sender}>{(' ' + mail_params) if mail_params else ''}")
        rs = [self.cmd(f"RCPT TO:<{r}>") for r in rcpts] if m.code == 250 else []
        return m, rs

    def data(self, body: bytes) -> Reply:
        """DATA with `body` (already CRLF-terminated lines, dot-stuffed by the caller)."""
        r = self.cmd("DATA")
        assert r.code == 354, f"DATA: {r}"
        self.send(body + b".\r\n")
        return self.reply(timeout=max(self.timeout, 60))

    def send_mail(self, sender: str, rcpts: Sequence[str], body: bytes | None = None) -> Reply:
        """A whole transaction that is expected to succeed; returns the end-of-data reply."""
        m, rs = self.mail_rcpt(sender, rcpts)
        assert m.code == 250, f"MAIL FROM:<{sender}>: {m}"
        for rc, r in zip(rcpts, rs):
            assert r.code == 250, f"RCPT TO:<{rc}>: {r}"
        return self.data(body if body is not None else simple_message(sender, rcpts))

    def quit(self) -> None:
        try:
            self.cmd("QUIT", timeout=3)
        except Exception:
            pass
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def simple_message(sender: str, rcpts: Sequence[str], subject: str = "e2e test",
                   body: str = "Hello from the Gatehouse end-to-end tests.") -> bytes:
    return (f"From: <{sender}>\r\nTo: {', '.join('<' + r + '>' for r in rcpts)}\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{time.time_ns()}@{CLIENT_NAME}>\r\n\r\n"
            f"{body}\r\n").encode()


def session(port: int, *, source: str = UNTRUSTED, tls: bool = False, implicit_tls: bool = False,
            timeout: float = 10.0) -> SMTPClient:
    """Connected, greeted, EHLO'd (and STARTTLS'd + EHLO'd again if `tls`)."""
    c = SMTPClient(port, source=source, timeout=timeout, implicit_tls=implicit_tls)
    c.greeting = c.greet()
    c.last_ehlo = c.ehlo()
    if tls:
        c.starttls()
        c.last_ehlo = c.ehlo()
    return c


# --------------------------------------------------------------------------------------------
# swaks

@dataclass
class Swaks:
    returncode: int
    output: str

    def __str__(self) -> str:
        return f"swaks exit {self.returncode}\n{self.output}"

    def server_lines(self) -> list[str]:
        """Lines the server sent (swaks marks them '<-', '<~' for TLS, '<**'/'<~*' for errors)."""
        out = []
        for ln in self.output.splitlines():
            m = re.match(r"^\s*<[-~*]+\s?(.*)$", ln)
            if m:
                out.append(m.group(1))
        return out

    def has_reply(self, prefix: str) -> bool:
        return any(l.startswith(prefix) for l in self.server_lines())


def swaks(port: int, *args: str, source: str | None = UNTRUSTED, timeout: float = 60) -> Swaks:
    argv = ["swaks", "--server", f"127.0.0.1:{port}", "--helo", CLIENT_NAME,
            "--timeout", "15"]
    if source:
        argv += ["--local-interface", source]
    argv += list(args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return Swaks(p.returncode, p.stdout + p.stderr)
