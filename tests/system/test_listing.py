"""Finding new mail by sequence numbers, against a real Dovecot.

A scan used to list new mail with `SEARCH UID n:*`, one response line that
grows with the folder and passes imaplib's 1,000,000-byte limit at about
160,000 messages (the first scan then failed). These check that a folder
past that scans, and that the two ways of finding the first new message
(ESEARCH, and probing `FETCH n (UID)` where the server lacks ESEARCH) find
exactly the mail a UID search would, after expunges in the middle and at the
end and new mail since.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailer.app import App
from mailer.config import Config, load
from mailer.scan import scan
from mailer.sources.imap import PROBES, ImapSource, connect
from mailer.store import Store
from tests.support.dovecot import ImapUser
from tests.support.mailgen import bulk
from tests.support.scanhelp import contacts_json, mailer, raw, utc, write_config

BIG = 165_000  # `SEARCH UID 1:*` answers this folder in one 1,043,903-byte line


def _note(i: int) -> bytes:
    return raw(
        f"From: Anna Berg <anna@a.example>\nTo: me@example.org\nSubject: note {i}\n"
        f"Date: Mon, 05 Jan 2026 10:00:00 +0000\nMessage-ID: <big{i}@test>",
        "x\r\n",
    )


@pytest.mark.slow
def test_a_folder_past_the_old_search_limit_scans_completely(
    imap_user: ImapUser, tmp_path: Path
) -> None:
    imap_user.write_maildir("INBOX", [_note(i) for i in range(BIG)])
    config = write_config(tmp_path, imap_user)
    first = mailer(config, "scan", user=imap_user, timeout=600)
    assert first.returncode == 0, first.stderr  # was: SEARCH => got more than 1000000 bytes
    assert f"INBOX: {BIG} read, {BIG} new" in first.stdout
    imap_user.append("INBOX", [_note(BIG + i) for i in range(3)])
    again = mailer(config, "scan", user=imap_user, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "INBOX: 3 read, 3 new" in again.stdout
    (anna,) = contacts_json(config)
    assert anna["messages_in"] == BIG + 3


def _source(config: Config, user: ImapUser, *, esearch: bool) -> ImapSource:
    client = connect(config.require_account(), user.password)
    if not esearch:  # a server without ESEARCH, as the source sees it
        client._cached_capabilities = tuple(c for c in client.capabilities() if c != b"ESEARCH")
    return ImapSource(config.require_account(), config.folders, client)


def _fetched(source: ImapSource, last_uid: int) -> tuple[list[int], int]:
    info = source.open_folder("INBOX")
    new = source.new_messages(info, last_uid)
    uids = [m.uid for chunk in source.fetch(info, new, 700) for m in chunk]
    return [u for u in uids if u is not None], new.count


class _Public:
    """An IMAPClient without the imaplib connection underneath (`_imap`), so the
    source takes imapclient's public road (a future imapclient might lack it)."""

    def __init__(self, client: Any) -> None:
        object.__setattr__(self, "_client", client)

    def __getattr__(self, name: str) -> Any:
        if name == "_imap":
            raise AttributeError(name)
        return getattr(self._client, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._client, name, value)


class _Counted:
    """Counts the probe round trips of a source (each one `FETCH a,b,... (UID)`)."""

    def __init__(self, source: ImapSource, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = source._uids_at

        def counted(seqs: list[int]) -> dict[int, int]:
            self.calls += 1
            return real(seqs)

        monkeypatch.setattr(source, "_uids_at", counted)


@pytest.fixture
def pair(imap_user: ImapUser, tmp_path: Path) -> Iterator[tuple[ImapSource, ImapSource]]:
    imap_user.write_maildir("INBOX", bulk(3000, contacts=300))
    config = load(str(write_config(tmp_path, imap_user)))
    esearch, probing = (_source(config, imap_user, esearch=e) for e in (True, False))
    try:
        yield esearch, probing
    finally:
        esearch.close()
        probing.close()


def _uids(user: ImapUser) -> list[int]:
    with user.connect() as c:
        c.select_folder("INBOX", readonly=True)
        return sorted(c.search(["ALL"]))


def test_esearch_and_probing_find_what_a_uid_search_finds(
    imap_user: ImapUser, pair: tuple[ImapSource, ImapSource], monkeypatch: pytest.MonkeyPatch
) -> None:
    esearch, probing = pair
    counted = _Counted(probing, monkeypatch)
    assert esearch._client.has_capability("ESEARCH")

    # Nothing expunged: UIDNEXT and EXISTS say where new mail starts, no probe needed.
    for last in (1, 1500, 2999, 3000):
        want = list(range(last + 1, 3001))
        assert _fetched(esearch, last) == (want, len(want))
        assert _fetched(probing, last) == (want, len(want))
    assert counted.calls == 0
    assert esearch._esearch and not probing._esearch

    # Expunged in the middle: the first probe, where UIDNEXT says, is the answer.
    with imap_user.connect() as c:
        c.select_folder("INBOX")
        c.delete_messages([*range(1001, 1201), 2000])
        c.expunge()
    for last in (2001, 2500, 2999):
        want = list(range(last + 1, 3001))
        assert _fetched(esearch, last) == (want, len(want))
        assert _fetched(probing, last) == (want, len(want))
    assert counted.calls == 3

    # Expunged at the end too, new mail appended, and the end of that expunged.
    with imap_user.connect() as c:
        c.select_folder("INBOX")
        c.delete_messages(list(range(2901, 3001)))
        c.expunge()
    new = imap_user.append(
        "INBOX", [raw(f"From: new{i}@n.example\nTo: me@example.org") for i in range(50)]
    )
    assert new == list(range(3001, 3051))
    with imap_user.connect() as c:
        c.select_folder("INBOX")
        c.delete_messages(list(range(3041, 3051)))
        c.expunge()
    now = _uids(imap_user)
    limit = math.ceil(math.log(len(now), PROBES)) + 1
    for last in (1, 1000, 1100, 1200, 1999, 2000, 2500, 2900, 2950, 3000, 3020, 3040, 3050):
        want = [u for u in now if u > last]
        calls = counted.calls
        got, count = _fetched(probing, last)
        assert got == want and count == len(want), last
        assert counted.calls - calls <= limit, (last, counted.calls - calls)
        got, count = _fetched(esearch, last)
        # ESEARCH's `n:*` names the last message when nothing is new; fetch drops it
        assert got == want and count - len(want) in (0, 1 if not want else 0), last

    public = ImapSource(  # probes too, no ESEARCH
        esearch._account, esearch._folders, _Public(esearch._client)
    )
    for last in (1100, 2950, 3040):
        want = [u for u in now if u > last]
        assert _fetched(public, last) == (want, len(want)), last


def test_incremental_scans_agree_with_and_without_esearch(
    imap_user: ImapUser, pair: tuple[ImapSource, ImapSource], tmp_path: Path
) -> None:
    config = load(str(write_config(tmp_path, imap_user)))
    who = App(config).identity
    stores = [Store(tmp_path / "esearch.json"), Store(tmp_path / "probing.json")]

    def both() -> list[Any]:
        return [
            scan(store, source, who, utc(2026, 11, 1), batch_size=500)
            for store, source in zip(stores, pair, strict=True)
        ]

    first = both()
    assert [r.fetched for r in first] == [3000, 3000]
    with imap_user.connect() as c:
        c.select_folder("INBOX")
        c.delete_messages([*range(10, 400), *range(2990, 3001)])
        c.expunge()
    imap_user.append("INBOX", bulk(120, contacts=40, seed=9))
    second = both()
    assert [(r.fetched, r.folders[0].new) for r in second] == [(120, 120), (120, 120)]
    assert stores[0].contacts() == stores[1].contacts()
    assert [r.fetched for r in both()] == [0, 0]


def test_inbox_is_selected_at_once_and_the_other_folders_only_when_something_is_new(
    imap_user: ImapUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """INBOX is selected without a STATUS first (a server syncs a folder with new mail on
    both: twice the work); STATUS says whether another folder has anything new, and it
    is selected only when so."""
    imap_user.write_maildir("INBOX", bulk(300, contacts=30))
    imap_user.write_maildir("Sent", bulk(50, contacts=30, seed=4))
    config = load(str(write_config(tmp_path, imap_user)))
    store, who = Store(config.store_path), App(config).identity

    def rescan() -> tuple[list[str], list[int]]:
        source = _source(config, imap_user, esearch=True)
        selected: list[str] = []
        real = source._client.select_folder

        def select(name: str, readonly: bool = False) -> Any:
            selected.append(name)
            return real(name, readonly=readonly)

        monkeypatch.setattr(source._client, "select_folder", select)
        try:
            report = scan(store, source, who, utc(2026, 11, 1))
        finally:
            source.close()
        return selected, [f.new for f in report.folders]

    assert rescan() == (["INBOX", "Sent"], [300, 50])  # first scan: both read
    assert rescan() == (["INBOX"], [0, 0])  # nothing new: Sent not selected
    imap_user.append("INBOX", bulk(7, contacts=30, seed=5))
    assert rescan() == (["INBOX"], [7, 0])
    imap_user.append("Sent", bulk(3, contacts=30, seed=6))
    assert rescan() == (["INBOX", "Sent"], [0, 3])


def test_inbox_is_asked_before_the_folders_are_listed(
    imap_user: ImapUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a LIST, Dovecot may answer for INBOX slowly for the rest of the session:
    INBOX is selected first, finding Sent by its special use comes second, and INBOX is
    neither asked by STATUS nor selected again."""
    imap_user.write_maildir("INBOX", bulk(20, contacts=5))
    config = load(str(write_config(tmp_path, imap_user)))
    source = _source(config, imap_user, esearch=True)
    said: list[str] = []
    client = source._client
    for name in ("folder_status", "find_special_folder", "list_folders", "select_folder"):
        real = getattr(client, name)
        monkeypatch.setattr(
            client, name, lambda *a, _r=real, _n=name, **k: said.append(_n) or _r(*a, **k)
        )
    try:
        scan(Store(config.store_path), source, App(config).identity, utc(2026, 11, 1))
    finally:
        source.close()
    assert said[:2] == ["select_folder", "find_special_folder"]
    assert said.count("select_folder") == 1  # INBOX, once
    assert said.count("folder_status") == 1  # Sent (nothing new there: not selected)
