"""A private Postfix instance on loopback playing the organisation's internal mail server.

    pf = PostfixServer(domains=["example.org"]).start()      # free port on 127.0.0.1
    pf.address                                               # "127.0.0.1:PORT"
    pf.wait_for_messages("alice@example.org", 1)             # [bytes, ...] from the Maildir
    pf.stop(); pf.cleanup()

Everything lives in one directory under /tmp (config, queue, data, mailboxes, log); /etc/postfix
is only read (postfix-files), the system instance is never touched or started. smtpd binds only
the given loopback address and port (`inet_interfaces` and master.cf); mail for `mailboxes` goes to
Maildirs through Postfix's virtual(8) agent (MAIL/<domain>/<localpart>/new/), other addresses in
`domains` to MAIL/<domain>/catchall/, other mail is
relayed to `relayhost` ("127.0.0.1:PORT") or refused. No DNS anywhere. Optional STARTTLS with a
given certificate. The same ideas as /work/shared/bench/postfix-relay.sh (no chroot, postlogd
writing `maillog`), stopped by pid.

The directory must be traversable by the postfix user, so it is not under pytest's 0700 tmp_path.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"

MASTER_CF = """\
{listen} inet n     -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def available() -> bool:
    return Path(POSTFIX).exists() and Path("/usr/lib/postfix/sbin/master").exists()


class PostfixServer:
    def __init__(self, domains=("example.org",), mailboxes=("alice@example.org", "bob@example.org"),
                 host: str = "127.0.0.1", port: int | None = None,
                 relayhost: str | None = None, tls_files: tuple[Path, Path] | None = None,
                 hostname: str = "internal.example.org"):
        assert host.startswith("127."), "tests bind loopback addresses only"
        self.domains = [d.lower() for d in domains]
        self.mailboxes = [a.lower() for a in mailboxes]
        self.host, self.port = host, port
        self.relayhost, self.tls_files, self.hostname = relayhost, tls_files, hostname
        self.root = Path(tempfile.mkdtemp(prefix="gh-e2e-postfix-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        self.etc, self.spool = self.root / "etc", self.root / "spool"
        self.data, self.mail = self.root / "data", self.root / "mail"
        self.log_path = self.root / "maillog"
        pw = pwd.getpwnam("postfix")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- configuration

    def _write_config(self) -> None:
        for d in (self.etc, self.spool, self.data, self.mail):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
        os.chown(self.data, self.uid, self.gid)
        os.chown(self.mail, self.uid, self.gid)
        # virtual(8) does not allow regexp substitution into paths: list the mailboxes, and a
        # catch-all per domain (MAIL/<domain>/catchall/).
        lines = [f"{a} {a.rsplit('@', 1)[1]}/{a.rsplit('@', 1)[0]}/" for a in self.mailboxes]
        lines += [f"@{d} {d}/catchall/" for d in self.domains]
        (self.etc / "vmailbox").write_text("\n".join(lines) + "\n")
        relay = (f"relayhost = [{self.relayhost.rsplit(':', 1)[0]}]:{self.relayhost.rsplit(':', 1)[1]}"
                 if self.relayhost else
                 "default_transport = error:5.7.1 the test mail server relays nowhere")
        tls = "smtpd_tls_security_level ="
        if self.tls_files:
            cert, key = self.tls_files
            tls = (f"smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {cert}\n"
                   f"smtpd_tls_key_file = {key}\nsmtpd_tls_received_header = yes")
        (self.etc / "main.cf").write_text(f"""\
# generated by tests/e2e/postfix_server.py - loopback only
compatibility_level = 3.6
queue_directory = {self.spool}
data_directory = {self.data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.log_path}
maillog_file_prefixes = {self.root}

myhostname = {self.hostname}
mydomain = example.org
myorigin = $myhostname
inet_interfaces = {self.host}
inet_protocols = ipv4
smtp_bind_address = {self.host}
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
{relay}

virtual_mailbox_domains = {", ".join(self.domains)}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = texthash:{self.etc}/vmailbox
virtual_uid_maps = static:{self.uid}
virtual_gid_maps = static:{self.gid}

{tls}
smtp_tls_security_level =
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
""")
        (self.etc / "master.cf").write_text(MASTER_CF.format(listen=self.address))

    # -- life cycle

    def start(self, timeout: float = 30) -> "PostfixServer":
        if self.port is None:
            from harness import free_port
            self.port = free_port()
        self._write_config()
        atexit.register(self.stop)          # never leave a master behind if the run aborts
        p = subprocess.run([POSTFIX, "-c", str(self.etc), "start"], capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"postfix start failed ({p.returncode}): {p.stdout}{p.stderr}\n"
                                 f"{self.log_tail()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=5) as s:
                    s.settimeout(5)
                    if s.recv(512).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"postfix on {self.address} gave no greeting\n{self.log_tail()}")

    def master_pid(self) -> int | None:
        try:
            pid = int((self.spool / "pid" / "master.pid").read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        pid = self.master_pid()
        if pid is None:
            return
        kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                              text=True).stdout.split()
        subprocess.run([POSTFIX, "-c", str(self.etc), "stop"], capture_output=True, timeout=60)
        for p in [pid, *map(int, kids)]:
            for _ in range(50):
                try:
                    os.kill(p, 0)
                except OSError:
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- what arrived

    def maildir(self, address: str) -> Path:
        """Where a recipient's mail lands (listed mailboxes; others in their domain's catch-all)."""
        local, domain = address.lower().rsplit("@", 1)
        return self.mail / domain / (local if address.lower() in self.mailboxes else "catchall")

    def messages(self, address: str) -> list[bytes]:
        out = []
        for sub in ("new", "cur"):
            d = self.maildir(address) / sub
            if d.is_dir():
                out += [p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()]
        return out

    def wait_for_messages(self, address: str, n: int = 1, timeout: float = 30) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.messages(address)
            if len(got) >= n or time.monotonic() > deadline:
                assert len(got) >= n, (f"{len(got)} of {n} messages for {address} in Postfix's "
                                       f"Maildir within {timeout}s\n{self.log_tail()}")
                return got
            time.sleep(0.1)

    def qsize(self) -> int:
        n = 0
        for d in ("maildrop", "incoming", "active", "deferred", "hold"):
            base = self.spool / d
            if base.is_dir():
                n += sum(len(files) for _, _, files in os.walk(base))
        return n

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()[-n:]
        except FileNotFoundError:
            lines = ["(no maillog)"]
        return "--- postfix maillog (tail) ---\n" + "\n".join(lines)
