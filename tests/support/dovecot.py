"""A private, throwaway Dovecot IMAP server for tests and benchmarks.

The IMAP source must be checked against a real server (TLS, STARTTLS,
special-use folders, UIDVALIDITY changes, restarts), not only a fake. This
module starts its own ``dovecot -F`` with its own config in a temp dir, makes
users and loads mail fast, and cleans up after itself. It has no pytest
dependency so ``tests/bench/bench.py`` can use it too; ``tests/system/conftest.py`` wraps
it in fixtures.

Measured facts behind the choices here: /work/shared/notes/imap-test-server.md.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import grp
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from imapclient import IMAPClient, imap_utf7

__all__ = [
    "Dovecot",
    "DovecotError",
    "ImapUser",
    "ServerUnavailable",
]

MAIL_SYSTEM_USER = "vmail"
APPEND_BATCH = 1000

# IMAP system flag -> Maildir info letter (the letters must be written sorted).
_MAILDIR_FLAGS = {
    "\\draft": "D",
    "\\flagged": "F",
    "\\answered": "R",
    "\\seen": "S",
    "\\deleted": "T",
}

# Unique across every write_maildir call in this process: Dovecot sorts new
# files by (secs, M-number), so this also keeps UID order = write order.
_maildir_counter = itertools.count(1)
_user_counter = itertools.count(1)


class DovecotError(RuntimeError):
    """The test server could not be started or driven."""


class ServerUnavailable(DovecotError):
    """Dovecot (or openssl) is not installed here: tests needing it cannot run."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_mail_user() -> tuple[int, int]:
    """Return (uid, gid) of the system user owning mail files; create it as root."""
    with contextlib.suppress(KeyError):
        pw = pwd.getpwnam(MAIL_SYSTEM_USER)
        return pw.pw_uid, pw.pw_gid
    # Another process may create it at the same moment: look again on failure.
    subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            MAIL_SYSTEM_USER,
        ],
        capture_output=True,
        check=False,
    )
    try:
        pw = pwd.getpwnam(MAIL_SYSTEM_USER)
    except KeyError as e:
        raise DovecotError(f"could not create the mail system user {MAIL_SYSTEM_USER!r}") from e
    return pw.pw_uid, pw.pw_gid


def _group_alive(pgid: int, exclude: int | None = None) -> bool:
    """Whether a process group still has a live (non-zombie) member other than exclude."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
        except OSError:
            continue
        # fields: state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != b"Z" and int(entry) != exclude:
            return True
    return False


def _parse_uid_set(text: str) -> list[int]:
    uids: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        uids.extend(range(int(lo), int(hi or lo) + 1))
    return uids


def _maildir_info(flags: Iterable[str]) -> str:
    letters = []
    for flag in flags:
        key = flag if isinstance(flag, str) else flag.decode()
        try:
            letters.append(_MAILDIR_FLAGS[key.lower()])
        except KeyError:
            raise ValueError(f"write_maildir supports system flags only, not {key!r}") from None
    return "".join(sorted(set(letters)))


def _timestamp(when: dt.datetime | float | int) -> float:
    # Naive datetimes are local time, as imapclient's append treats them.
    return when.timestamp() if isinstance(when, dt.datetime) else float(when)


class Dovecot:
    """One private Dovecot instance on 127.0.0.1.

    ``stop()`` then ``start()`` keeps ports, certificate and mail, so a test can
    restart the server under a connected client; ``close()`` (or leaving the
    ``with`` block) stops it and deletes everything.
    """

    host = "127.0.0.1"

    # How the server stores mail. Maildir (the tests' own: write_maildir loads it fast)
    # rereads a big folder's UID list, and often its directory, in the first session
    # after any change: 0.5 to 1.3 s at 400,000 messages, whatever the client.
    # sdbox keeps an index and answers the same in a few ms (the bench's default).
    STORAGES: ClassVar[Mapping[str, str]] = {
        "maildir": "maildir:~/Maildir",
        "sdbox": "sdbox:~/sdbox",
    }

    def __init__(self, binary: str | None = None, storage: str = "maildir") -> None:
        if storage not in self.STORAGES:
            raise ValueError(f"storage is one of {sorted(self.STORAGES)}, not {storage!r}")
        self.binary = binary
        self.storage = storage
        self.imap_port = 0
        self.imaps_port = 0
        self.dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._users: dict[str, str] = {}
        self._root = os.geteuid() == 0
        self._hostname = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "localhost"
        self.start_seconds = 0.0
        self.mail_uid = self.mail_gid = -1  # owner of the mail files, set by start()
        self.mail_user = ""

    # -- paths -------------------------------------------------------------

    def _path(self, *parts: str) -> Path:
        if self.dir is None:
            raise DovecotError("server has not been started")
        return self.dir.joinpath(*parts)

    @property
    def cert_path(self) -> str:
        """Self-signed server certificate; use it as the CA file to verify TLS."""
        return str(self._path("cert.pem"))

    @property
    def log_path(self) -> str:
        return str(self._path("dovecot.log"))

    def home(self, user: str) -> Path:
        return self._path("home", user)

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """Maildir++ directory of a folder: INBOX is ~/Maildir, others ~/Maildir/.<name>."""
        root = self.home(user) / "Maildir"
        if folder.upper() == "INBOX":
            return root
        name: bytes = imap_utf7.encode(folder)
        return root / ("." + name.decode("ascii"))

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except (OSError, DovecotError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- lifecycle ---------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 15.0) -> Dovecot:
        """Start the server (first time: set up dir, cert, config) and wait for a greeting."""
        if self.running:
            return self
        t0 = time.monotonic()
        binary = self._find_binary()
        if self.dir is None:
            try:
                self._setup()
            except BaseException:
                self.close()
                raise
        log = open(self._path("dovecot.stderr"), "ab")  # noqa: SIM115 - lives with the process
        with log:
            # Own session: kill() and stop() can reach every child through the group.
            self._proc = subprocess.Popen(
                [binary, "-F", "-c", str(self._path("dovecot.conf"))],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        atexit.register(self.close)
        try:
            self._wait_for_greeting(timeout)
        except BaseException:
            self._terminate(signal.SIGKILL, 5.0)
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _find_binary(self) -> str:
        # /usr/sbin is often not on a non-root user's PATH.
        candidates = [self.binary] if self.binary else [
            shutil.which("dovecot"), "/usr/sbin/dovecot", "/usr/local/sbin/dovecot"
        ]  # fmt: skip
        for path in candidates:
            if path and os.access(path, os.X_OK):
                return path
        raise ServerUnavailable(
            f"dovecot binary not found ({self.binary or 'dovecot on PATH, /usr/sbin'}); install "
            "the Debian package: apt-get install -y --no-install-recommends dovecot-imapd"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's processes and wait; ports, cert and mail stay for start()."""
        self._terminate(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL the master and all its children at once (a crash, not a shutdown)."""
        self._terminate(signal.SIGKILL, 10.0)

    def restart(self) -> None:
        """stop() then start(): same ports, certificate, users and mail."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its directory (users, mail, cert)."""
        atexit.unregister(self.close)
        if self._proc is not None:
            self._terminate(signal.SIGTERM, 10.0)
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        self._users.clear()

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _terminate(self, sig: signal.Signals, timeout: float) -> None:
        # Signal the whole process group, not just the master: SIGTERM to the
        # master alone takes ~1 s and leaves session processes running for seconds.
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + timeout
        master_alone_since: float | None = None
        while proc.poll() is None or _group_alive(proc.pid):
            now = time.monotonic()
            if now > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                deadline = now + 5.0
            elif proc.poll() is None and not _group_alive(proc.pid, exclude=proc.pid):
                # Every child has exited; the master only sleeps out a poll
                # timer of 0.1-1 s before exiting itself. Nothing is left to save.
                master_alone_since = master_alone_since or now
                if now - master_alone_since > 0.05:
                    proc.kill()
            time.sleep(0.002)
        self._proc = None
        # A pid file left by a killed master could name a reused pid next start.
        with contextlib.suppress(FileNotFoundError, DovecotError):
            self._path("run", "master.pid").unlink()

    def _wait_for_greeting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise DovecotError(
                    f"dovecot exited with {self._proc.returncode} during start:\n"
                    + self._path("dovecot.stderr").read_text(errors="replace")
                    + self.log_tail()
                )
            try:
                with socket.create_connection((self.host, self.imap_port), timeout=2) as s:
                    greeting = s.makefile("rb").readline()
                if greeting.startswith(b"* OK"):
                    return
                last_error = DovecotError(f"unexpected greeting {greeting!r}")
            except OSError as e:
                last_error = e
            time.sleep(0.02)
        raise DovecotError(
            f"no IMAP greeting within {timeout} s ({last_error}):\n{self.log_tail()}"
        )

    # -- setup -------------------------------------------------------------

    def _setup(self) -> None:
        if shutil.which("openssl") is None:
            raise ServerUnavailable("openssl not found; it is needed for the test certificate")
        # Every parent must be traversable by dovenull/dovecot/vmail when root;
        # /dev/shm also makes loading fast and steady.
        parent = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.dir = Path(tempfile.mkdtemp(prefix="mailer-dovecot-", dir=parent))
        self.dir.chmod(0o755)
        for sub in ("run", "state", "home"):
            self._path(sub).mkdir()
        if self._root:
            self.mail_uid, self.mail_gid = _ensure_mail_user()
            login_user = "dovenull"
            internal_user = internal_group = "dovecot"
            for name in (login_user, internal_user):
                try:
                    pwd.getpwnam(name)
                except KeyError:
                    raise ServerUnavailable(
                        f"system user {name!r} missing; is dovecot-core installed?"
                    ) from None
        else:
            self.mail_uid, self.mail_gid = os.getuid(), os.getgid()
            login_user = internal_user = pwd.getpwuid(self.mail_uid).pw_name
            internal_group = grp.getgrgid(self.mail_gid).gr_name
        self.mail_user = pwd.getpwuid(self.mail_uid).pw_name
        self._make_cert()
        self._path("passwd.d").mkdir()
        self.imap_port, self.imaps_port = _free_port(), _free_port()
        while self.imaps_port == self.imap_port:
            self.imaps_port = _free_port()
        self._path("dovecot.conf").write_text(
            self._config(
                login_user=login_user, internal_user=internal_user, internal_group=internal_group
            )
        )

    def _make_cert(self) -> None:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-nodes", "-days", "3650",
                "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-keyout", str(self._path("key.pem")),
                "-out", str(self._path("cert.pem")),
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        self._path("cert.pem").chmod(0o644)

    def _config(self, *, login_user: str, internal_user: str, internal_group: str) -> str:
        d = self._path()
        special = "".join(
            f"  mailbox {name} {{\n    special_use = \\{name}\n    auto = subscribe\n  }}\n"
            for name in ("Sent", "Drafts", "Trash", "Junk", "Archive")
        )
        # Blocks cannot be one-liners in Dovecot's config syntax.
        return f"""\
# Written by tests/support/dovecot.py; never reads /etc/dovecot.
protocols = imap
listen = {self.host}
base_dir = {d}/run
state_dir = {d}/state
instance_name = mailer-test-{d.name}
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = {self.mail_uid}
last_valid_uid = {self.mail_uid}
first_valid_gid = {self.mail_gid}
last_valid_gid = {self.mail_gid}
# An empty path skips the stats writer, which otherwise delays stop by 5 s.
stats_writer_socket_path =
mail_location = {self.STORAGES[self.storage]}
mail_fsync = never
# The default 256 MB cannot hold the index of a folder of 400,000 messages and more
# (the bench's mailboxes): STATUS then fails on mmap and the imap process aborts.
default_vsz_limit = 2G
mail_max_userip_connections = 100
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
ssl_min_protocol = TLSv1.2

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd.d/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd.d/%u
}}

namespace inbox {{
  inbox = yes
{special}}}

service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # No growing per-IP delay after failed logins: tests try wrong passwords.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

    # -- users -------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Add a login; Dovecot rereads the passwd-file, so this works while running."""
        both = name + password
        if ":" in both or "\n" in both or "/" in name or name[:1] in ("", "."):
            raise ValueError("user names and passwords cannot contain ':', newlines or '/'")
        home = self.home(name)
        home.mkdir()
        if self._root:
            os.chown(home, self.mail_uid, self.mail_gid)
        home.chmod(0o700)
        line = f"{name}:{{PLAIN}}{password}:{self.mail_uid}:{self.mail_gid}::{home}::\n"
        # One file per user: Dovecot rechecks a passwd-file at most once a second,
        # so a user appended to a shared file just after a login is not seen yet.
        entry = self._path("passwd.d", name)
        tmp = entry.with_name(f".{name}.tmp")
        tmp.write_text(line)
        tmp.chmod(0o644)
        tmp.rename(entry)
        self._users[name] = password

    def new_user(self) -> tuple[str, str]:
        """Add a user with a unique name and random password; return (name, password)."""
        name = f"user{next(_user_counter)}-{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(12)
        self.add_user(name, password)
        return name, password

    def new_account(self) -> ImapUser:
        name, password = self.new_user()
        return ImapUser(self, name, password)

    # -- clients -----------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this server's certificate."""
        return ssl.create_default_context(cafile=self.cert_path)

    def connect(self, user: str, password: str, *, tls: str = "ssl") -> IMAPClient:
        """A logged-in IMAPClient; tls is "ssl" (imaps), "starttls" or "plain"."""
        if tls == "ssl":
            client = IMAPClient(
                self.host, self.imaps_port, ssl=True, ssl_context=self.ssl_context(), timeout=30
            )
        else:
            client = IMAPClient(self.host, self.imap_port, ssl=False, timeout=30)
            if tls == "starttls":
                client.starttls(self.ssl_context())
            elif tls != "plain":
                raise ValueError(f"tls must be ssl, starttls or plain, not {tls!r}")
        client.login(user, password)
        return client

    # -- loading mail ------------------------------------------------------

    def create_folder(self, user: str, password: str, folder: str) -> None:
        """Create and subscribe a folder over IMAP (no error if it exists)."""
        with self.connect(user, password) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            c.subscribe_folder(folder)

    def append(
        self,
        user: str,
        password: str,
        folder: str,
        messages: Sequence[bytes],
        flags: Sequence[str] = (),
        internaldates: Sequence[dt.datetime] | None = None,
    ) -> list[int]:
        """APPEND messages (MULTIAPPEND, 1,000 a command); create the folder if missing.

        Returns the new UIDs in order (from APPENDUID).
        """
        if internaldates is not None and len(internaldates) != len(messages):
            raise ValueError("internaldates must match messages one to one")
        uids: list[int] = []
        with self.connect(user, password) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
                c.subscribe_folder(folder)
            for start in range(0, len(messages), APPEND_BATCH):
                batch: list[dict[str, Any]] = []
                for i in range(start, min(start + APPEND_BATCH, len(messages))):
                    item: dict[str, Any] = {"msg": messages[i], "flags": tuple(flags)}
                    if internaldates is not None:
                        item["date"] = internaldates[i]
                    batch.append(item)
                resp = c.multiappend(folder, batch)
                text = resp.decode(errors="replace") if isinstance(resp, bytes) else str(resp)
                m = re.search(r"APPENDUID \d+ ([\d:,]+)", text)
                if m:
                    uids.extend(_parse_uid_set(m.group(1)))
        return uids

    def write_maildir(
        self,
        user: str,
        folder: str,
        messages: Sequence[bytes],
        internaldates: Sequence[dt.datetime | float] | None = None,
        flags: Sequence[str] = (),
    ) -> list[Path]:
        """Bulk-load by writing files straight into the folder's Maildir ``cur/``.

        Names follow Dovecot's own shape (a different shape made its filename
        hash quadratic); file mtime is Dovecot's INTERNALDATE for Maildir. UIDs
        follow list order. Only system flags (\\Seen, \\Answered, ...) are allowed.
        """
        if internaldates is not None and len(internaldates) != len(messages):
            raise ValueError("internaldates must match messages one to one")
        if user not in self._users:
            raise DovecotError(f"unknown user {user!r}")
        if self.storage != "maildir":
            raise DovecotError(f"write_maildir needs Maildir storage, not {self.storage}")
        info = ":2," + _maildir_info(flags)
        box = self.maildir(user, folder)
        self._make_maildir(box, is_inbox=folder.upper() == "INBOX")
        cur = box / "cur"
        secs = int(time.time())
        pid = os.getpid()
        host = self._hostname
        chown = self._root
        uid, gid = self.mail_uid, self.mail_gid
        paths: list[Path] = []
        for i, data in enumerate(messages):
            vsize = len(data) + data.count(b"\n") - data.count(b"\r\n")
            name = f"{secs}.M{next(_maildir_counter)}P{pid}.{host},S={len(data)},W={vsize}{info}"
            path = cur / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                if chown:
                    os.fchown(fd, uid, gid)
                if internaldates is not None:
                    t = _timestamp(internaldates[i])
                    os.utime(fd, (t, t))
            finally:
                os.close(fd)
            paths.append(path)
        return paths

    def _make_maildir(self, box: Path, *, is_inbox: bool) -> None:
        root = box if is_inbox else box.parent
        needed = [root, box, box / "cur", box / "new", box / "tmp"]
        for d in dict.fromkeys(needed):
            if not d.exists():
                d.mkdir(mode=0o700)
                if self._root:
                    os.chown(d, self.mail_uid, self.mail_gid)
        if not is_inbox and not (box / "maildirfolder").exists():
            (box / "maildirfolder").touch(0o600)
            if self._root:
                os.chown(box / "maildirfolder", self.mail_uid, self.mail_gid)

    def change_uidvalidity(self, user: str, password: str, folder: str = "INBOX") -> int:
        """Give a folder a new UIDVALIDITY, keeping its messages (they get new UIDs).

        Deletes the folder's dovecot-uidlist and index files (and the mailbox
        list index that caches them), so Dovecot rebuilds them with the next
        value from its per-user dovecot-uidvalidity counter. Returns the new
        UIDVALIDITY. Clients with the folder open see it change on their next
        sync; for a clean test, change it while no session has it selected.
        """
        with self.connect(user, password) as c:
            old = c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
        box = self.maildir(user, folder)
        victims = [box / "dovecot-uidlist", *box.glob("dovecot.index*")]
        victims += box.parent.glob("dovecot.list.index*") if folder.upper() != "INBOX" else []
        victims += (self.home(user) / "Maildir").glob("dovecot.list.index*")
        for p in dict.fromkeys(victims):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        with self.connect(user, password) as c:
            new = c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
        if new == old:
            raise DovecotError(f"UIDVALIDITY of {folder!r} did not change ({old})")
        return int(new)


@dataclasses.dataclass
class ImapUser:
    """One mailbox owner on a Dovecot instance, with the server calls bound to it."""

    server: Dovecot
    username: str
    password: str

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def imap_port(self) -> int:
        return self.server.imap_port

    @property
    def imaps_port(self) -> int:
        return self.server.imaps_port

    @property
    def cert_path(self) -> str:
        return self.server.cert_path

    def connect(self, tls: str = "ssl") -> IMAPClient:
        return self.server.connect(self.username, self.password, tls=tls)

    def append(
        self,
        folder: str,
        messages: Sequence[bytes],
        flags: Sequence[str] = (),
        internaldates: Sequence[dt.datetime] | None = None,
    ) -> list[int]:
        return self.server.append(
            self.username, self.password, folder, messages, flags, internaldates
        )

    def write_maildir(
        self,
        folder: str,
        messages: Sequence[bytes],
        internaldates: Sequence[dt.datetime | float] | None = None,
        flags: Sequence[str] = (),
    ) -> list[Path]:
        return self.server.write_maildir(self.username, folder, messages, internaldates, flags)

    def create_folder(self, folder: str) -> None:
        self.server.create_folder(self.username, self.password, folder)

    def change_uidvalidity(self, folder: str = "INBOX") -> int:
        return self.server.change_uidvalidity(self.username, self.password, folder)

    def maildir(self, folder: str = "INBOX") -> Path:
        return self.server.maildir(self.username, folder)
