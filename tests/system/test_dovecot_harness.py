"""Checks that the Dovecot test harness (tests/support/dovecot.py) does what other tests rely on.

If these fail, failures elsewhere in IMAP tests say nothing about mailer.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.support.dovecot import Dovecot, DovecotError, ImapUser, ServerUnavailable
from tests.support.servers import require_or_skip

UTC = dt.UTC


def message(i: int, sender: str = "alice@example.com") -> bytes:
    return (
        f"From: {sender}\r\nTo: me@example.com\r\nSubject: message {i}\r\n"
        f"Message-ID: <{i}@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
        f"\r\nBody {i}\r\n"
    ).encode()


def subjects(client: IMAPClient, uids: list[int]) -> list[bytes]:
    rows = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return [rows[u][b"BODY[HEADER.FIELDS (SUBJECT)]"].strip() for u in uids]


def test_imaps_verifies_the_self_signed_certificate(imap_user: ImapUser) -> None:
    ctx = ssl.create_default_context(cafile=imap_user.cert_path)
    for host in (imap_user.host, "localhost"):
        with IMAPClient(host, imap_user.imaps_port, ssl=True, ssl_context=ctx) as c:
            c.login(imap_user.username, imap_user.password)
            assert c.select_folder("INBOX")[b"EXISTS"] == 0
    # Without the harness CA the same server must be rejected: verification is real.
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(imap_user.host, imap_user.imaps_port, ssl=True)


def test_starttls_on_the_plain_port(imap_user: ImapUser) -> None:
    with IMAPClient(imap_user.host, imap_user.imap_port, ssl=False) as c:
        assert b"STARTTLS" in c.capabilities()
        c.starttls(ssl.create_default_context(cafile=imap_user.cert_path))
        assert isinstance(c._imap.sock, ssl.SSLSocket)
        c.login(imap_user.username, imap_user.password)
        assert c.folder_exists("INBOX")


def test_append_and_read_back(imap_user: ImapUser) -> None:
    msgs = [message(i) for i in range(3)]
    when = [dt.datetime(2023, 5, 1, 12, i, tzinfo=UTC) for i in range(3)]
    uids = imap_user.append("INBOX", msgs, flags=[r"\Seen"], internaldates=when)
    assert uids == [1, 2, 3]
    with imap_user.connect() as c:
        c.normalise_times = False
        c.select_folder("INBOX", readonly=True)
        rows = c.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
    assert [rows[u][b"BODY[]"] for u in uids] == msgs
    assert all(b"\\Seen" in rows[u][b"FLAGS"] for u in uids)
    assert [rows[u][b"INTERNALDATE"] for u in uids] == when


def test_append_creates_a_missing_folder(imap_user: ImapUser) -> None:
    assert imap_user.append("Projects.Alpha", [message(1)]) == [1]
    with imap_user.connect() as c:
        assert c.folder_status("Projects.Alpha", [b"MESSAGES"])[b"MESSAGES"] == 1


def test_write_maildir_bulk_is_seen_by_dovecot(imap_user: ImapUser) -> None:
    n = 2000
    msgs = [message(i) for i in range(n)]
    msgs[7] = msgs[7].replace(b"\r\n", b"\n")  # LF-only files must get the right W= size
    start = dt.datetime(2015, 3, 1, 8, 30, tzinfo=UTC)
    when = [start + dt.timedelta(minutes=i) for i in range(n)]
    imap_user.write_maildir("INBOX", msgs, internaldates=when, flags=[r"\Seen"])
    with imap_user.connect() as c:
        c.normalise_times = False
        assert c.select_folder("INBOX", readonly=True)[b"EXISTS"] == n
        uids = c.search("ALL")
        assert uids == list(range(1, n + 1))  # UID order follows the written order
        rows = c.fetch([1, 8, 1234, n], ["INTERNALDATE", "RFC822.SIZE", "FLAGS"])
        assert subjects(c, [1, 1234, n]) == [b"Subject: message 0", b"Subject: message 1233",
                                             f"Subject: message {n - 1}".encode()]  # fmt: skip
    assert rows[1234][b"INTERNALDATE"] == when[1233]
    assert rows[8][b"RFC822.SIZE"] == len(msgs[7].replace(b"\n", b"\r\n"))
    assert set(rows[n][b"FLAGS"]) - {b"\\Recent"} == {b"\\Seen"}


def test_write_maildir_into_a_selected_folder_shows_up_on_noop(imap_user: ImapUser) -> None:
    imap_user.write_maildir("Sent", [message(i) for i in range(3)])
    with imap_user.connect() as c:
        assert c.select_folder("Sent")[b"EXISTS"] == 3
        imap_user.write_maildir("Sent", [message(i) for i in range(3, 5)])
        assert (5, b"EXISTS") in c.noop()[1]
        assert subjects(c, [4, 5]) == [b"Subject: message 3", b"Subject: message 4"]


def test_special_use_folders_are_listed_and_subscribed(imap_user: ImapUser) -> None:
    with imap_user.connect() as c:
        flags = {name: set(f) for f, _sep, name in c.list_folders()}
        subscribed = {name for _f, _sep, name in c.list_sub_folders()}
    expected = {"Sent": b"\\Sent", "Drafts": b"\\Drafts", "Trash": b"\\Trash",
                "Junk": b"\\Junk", "Archive": b"\\Archive"}  # fmt: skip
    for name, flag in expected.items():
        assert flag in flags[name], name
    assert set(expected) <= subscribed


def test_restart_under_a_connected_client(private_dovecot: Dovecot) -> None:
    user = private_dovecot.new_account()
    user.append("INBOX", [message(1)])
    ports = (private_dovecot.imap_port, private_dovecot.imaps_port)
    old = user.connect()
    old.select_folder("INBOX")
    private_dovecot.stop()
    private_dovecot.start()
    assert (private_dovecot.imap_port, private_dovecot.imaps_port) == ports
    with pytest.raises((OSError, IMAPClient.AbortError, IMAPClient.Error)):
        old.noop()
    with user.connect("starttls") as c:
        assert c.select_folder("INBOX")[b"EXISTS"] == 1
    # A crash (SIGKILL to every process) also leaves a restartable server.
    private_dovecot.kill()
    with pytest.raises(OSError):
        socket.create_connection((private_dovecot.host, ports[1]), timeout=2).close()
    private_dovecot.start()
    with user.connect() as c:
        assert c.select_folder("INBOX")[b"EXISTS"] == 1


def test_close_removes_everything() -> None:
    server = Dovecot()
    try:
        server.start()
    except ServerUnavailable as e:
        server.close()
        require_or_skip(str(e))
    root = server.dir
    assert root is not None and root.is_dir()
    server.close()
    assert not root.exists()
    assert not server.running


def test_missing_binary_raises_server_unavailable() -> None:
    with pytest.raises(ServerUnavailable, match="dovecot binary not found"):
        Dovecot(binary="/nonexistent/dovecot").start()


def test_change_uidvalidity_keeps_the_messages(imap_user: ImapUser) -> None:
    imap_user.append("INBOX", [message(i) for i in range(3)])
    imap_user.write_maildir("Archive", [message(i) for i in range(4)])
    with imap_user.connect() as c:
        before = {
            f: c.folder_status(f, [b"UIDVALIDITY"])[b"UIDVALIDITY"] for f in ("INBOX", "Archive")
        }
    new_inbox = imap_user.change_uidvalidity("INBOX")
    new_archive = imap_user.change_uidvalidity("Archive")
    with imap_user.connect() as c:
        inbox = c.folder_status("INBOX", [b"UIDVALIDITY", b"MESSAGES"])
        archive = c.folder_status("Archive", [b"UIDVALIDITY", b"MESSAGES"])
    assert inbox == {b"UIDVALIDITY": new_inbox, b"MESSAGES": 3}
    assert archive == {b"UIDVALIDITY": new_archive, b"MESSAGES": 4}
    assert new_inbox != before["INBOX"] and new_archive != before["Archive"]


def test_users_do_not_see_each_other(dovecot: Dovecot, imap_user: ImapUser) -> None:
    other = dovecot.new_account()
    imap_user.append("INBOX", [message(1)])
    imap_user.write_maildir("Sent", [message(2)])
    with other.connect() as c:
        assert c.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0
        assert c.folder_status("Sent", [b"MESSAGES"])[b"MESSAGES"] == 0
    with pytest.raises(LoginError):
        dovecot.connect(other.username, imap_user.password)


def test_users_added_right_after_a_login_can_log_in(dovecot: Dovecot) -> None:
    # A single shared passwd-file is rechecked at most once a second; this would fail then.
    for _ in range(3):
        user = dovecot.new_account()
        with user.connect("plain") as c:
            assert c.folder_exists("INBOX")


def test_wrong_password_fails_fast(imap_user: ImapUser) -> None:
    # Dovecot's default 2 s delay and growing per-IP penalty are off for tests:
    # asked of the server's own config, not timed (a busy machine is slow anyway).
    server = imap_user.server
    config = subprocess.run(
        [server._find_binary(), "-c", server._path("dovecot.conf"), "-n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "auth_failure_delay = 0" in config
    assert "anvil-auth-penalty" in config and "mode = 00" in config
    for _ in range(2):
        with pytest.raises(LoginError):
            server.connect(imap_user.username, "wrong")


def test_corpus_dir_is_the_shared_corpus(corpus_dir: Path) -> None:
    assert corpus_dir.name == "corpus" and corpus_dir.parent.name == "shared"
    assert any(corpus_dir.iterdir())


def test_sdbox_storage_holds_appended_mail_and_refuses_maildir_files() -> None:
    """The bench's default server (an indexed store), and the one thing it cannot do."""
    server = Dovecot(storage="sdbox")
    try:
        server.start()
    except ServerUnavailable as e:
        server.close()
        require_or_skip(str(e))
    try:
        user = server.new_account()
        when = [dt.datetime(2023, 5, 1, 12, i, tzinfo=UTC) for i in range(3)]
        uids = user.append("Sent", [message(i) for i in range(3)], internaldates=when)
        with user.connect() as c:
            assert c.select_folder("Sent", readonly=True)[b"EXISTS"] == 3
            assert subjects(c, uids) == [b"Subject: message 0", b"Subject: message 1",
                                         b"Subject: message 2"]  # fmt: skip
        assert (server.home(user.username) / "sdbox").is_dir()
        assert not (server.home(user.username) / "Maildir").exists()
        with pytest.raises(DovecotError, match="Maildir"):
            user.write_maildir("INBOX", [message(9)])
    finally:
        server.close()
    with pytest.raises(ValueError, match="storage"):
        Dovecot(storage="mbox")
