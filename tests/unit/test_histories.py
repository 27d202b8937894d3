"""Monthly histories beside the store file (mailer.store.histories).

A contact's history grows with its years of mail; kept in the contacts'
documents it made the store file, which every command reads whole, grow with
the mailbox. These tests check that the store file follows the contacts
alone, that only what needs the histories reads them, that an old store is
moved on first use, and that a damaged history file is one clear line.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailer.core import history
from mailer.errors import StoreFormatError
from mailer.model import Contact, FolderState, Interaction, Parsed
from mailer.store import Store, histories

T0 = datetime(2011, 1, 1, tzinfo=UTC)
PEOPLE = 50
YEARS = 15


def mail(count: int, seed: int, span: timedelta) -> list[Parsed]:
    """`count` messages in and out between the owner and PEOPLE people over `span`."""
    rng = random.Random(seed)
    out = []
    for k in range(count):
        when = T0 + span * (k / count)
        who = f"p{rng.randrange(PEOPLE)}@x.example"
        direction = rng.choice(("in", "out"))
        key = f"{rng.getrandbits(64):016x}"
        out.append(Parsed(key=key, interactions=(Interaction(who, None, when, direction),)))
    return out


def scan(store: Store, parsed: list[Parsed]) -> None:
    for start in range(0, len(parsed), 10_000):
        batch = parsed[start : start + 10_000]
        state = FolderState("imap:test", "INBOX", 7, start + len(batch), "2026-01-01T00:00:00Z")
        store.commit_scan_batch(state, batch, [])


def history_files(path: Path) -> list[str]:
    return sorted(n for n in os.listdir(path.parent) if f"{path.name}.history-" in n)


def named_files(path: Path) -> list[str]:
    """The history base the store file names, and its log if it names log bytes."""
    doc = json.loads(path.read_bytes())["history"]["1"]
    base = f"{path.name}.history-{doc['id']}"
    return [base, f"{base}.log"] if doc["log"] else [base]


def test_the_store_file_follows_the_contacts_not_their_years_of_mail(tmp_path: Path) -> None:
    short, long = Store(tmp_path / "short.json"), Store(tmp_path / "long.json")
    scan(short, mail(1_000, 1, timedelta(days=365)))  # 20 messages a person in one year
    scan(long, mail(50_000, 2, timedelta(days=365 * YEARS)))  # 1,000 over fifteen
    assert {c.email for c in long.contacts()} == {c.email for c in short.contacts()}
    months = {c.email: c.months for c in long.contacts_with_history()}
    assert min(len(m.split()) for m in months.values()) == history.MAX_MONTHS
    size_short, size_long = short.path.stat().st_size, long.path.stat().st_size
    assert abs(size_long - size_short) < 0.1 * size_short, (size_short, size_long)
    # what the rules need of the history is in the store file; the history is not
    for c in long.contacts():
        assert c.months == "" and c.has_history and c.gap_days is not None
        assert len(c.recent_out) <= 10
    assert long.history("P3@x.example") == months["p3@x.example"]
    assert history_files(long.path) == named_files(long.path)


def test_only_what_needs_the_histories_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "mailer.json")
    scan(store, mail(2_000, 3, timedelta(days=800)))

    def refuse(self: object, ident: str | None) -> dict[str, str]:
        raise AssertionError("read the histories")

    monkeypatch.setattr(histories.HistoryFiles, "load", refuse)
    fresh = Store(store.path)
    assert len(fresh.contacts()) == PEOPLE
    fresh.update_contact("p1@x.example", tier="inner", tags=("ai",))
    fresh.meta_set("m", 1)
    assert fresh.stats()["contacts"] == PEOPLE
    monkeypatch.undo()
    assert Store(store.path).history("p1@x.example")  # and the history is still there


def test_a_merge_joins_the_histories_and_drops_the_other(tmp_path: Path) -> None:
    store = Store(tmp_path / "mailer.json")
    scan(store, mail(2_000, 4, timedelta(days=800)))
    a, b = store.history("p1@x.example"), store.history("p2@x.example")
    store.merge_contacts("p1@x.example", "p2@x.example")
    assert store.history("p2@x.example") == ""
    assert store.history("p1@x.example") == history.add(a, history.load(b))
    assert Store(store.path).history("p2@x.example") == ""  # read again from the files
    assert history_files(store.path) == named_files(store.path)


def test_an_old_store_with_histories_in_its_contacts_is_moved_on_first_use(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mailer.json"
    old = {
        str(i + 1): Contact(
            f"p{i}@x.example",
            messages_in=3,
            gap_days=30.0,
            weight_at="2024-03",
            weight_in=2.5,
            recent_out=("2024-03-01T00:00:00Z",),
        ).to_doc()
        | {"months": f"2024-01:1:0 2024-02:1:0 2024-03:1:{i}"}
        for i in range(PEOPLE)
    }
    path.write_text(json.dumps({"contacts": old}))
    os.chmod(path, 0o600)
    store = Store(path)
    assert store.contacts()[0].months  # a read alone moves nothing ...
    assert json.loads(path.read_bytes())["contacts"] == old
    store.meta_set("m", 1)  # ... the first transaction does
    data = json.loads(path.read_bytes())
    assert not any("months" in d for d in data["contacts"].values())
    assert data["history"]["1"]["contacts"] == PEOPLE
    assert {c.email: c.months for c in store.contacts_with_history()} == {
        d["email"]: d["months"] for d in old.values()
    }
    assert len(history_files(path)) == 1


@pytest.mark.parametrize(
    "damage", ["missing", "truncated", "not ours", "not an object", "a history changed"]
)
def test_a_damaged_or_missing_history_file_is_one_line_naming_it(
    tmp_path: Path, damage: str
) -> None:
    store = Store(tmp_path / "mailer.json")
    scan(store, mail(500, 5, timedelta(days=400)))
    [name] = history_files(store.path)
    target = tmp_path / name
    data = target.read_bytes()
    if damage == "missing":
        target.unlink()
    elif damage == "truncated":
        target.write_bytes(data[:100])
    elif damage == "not ours":
        target.write_text('{"format": "something else", "months": {}}')
    elif damage == "not an object":
        target.write_text("[1]")
    else:  # one digit of p1's history, read alone through the index: still valid JSON
        at = data.index(b'"p1@x.example":"') + len(b'"p1@x.example":"') + 1
        assert data[at : at + 1].isdigit()
        target.write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :])
    assert len(Store(store.path).contacts()) == PEOPLE  # listing never needs it
    with pytest.raises(StoreFormatError) as e:
        Store(store.path).history("p1@x.example")
    assert name in str(e.value) and "\n" not in str(e.value)
    assert "mailer rebuild" in (e.value.hint or "")


# -- the history log --------------------------------------------------------------------


def later(count: int, seed: int) -> list[Parsed]:
    """`count` messages after those of `mail` (a next scan), each a new key."""
    return [
        Parsed(key=p.key, interactions=tuple(
            Interaction(i.email, i.name, i.when + timedelta(days=365 * YEARS), i.direction)
            for i in p.interactions
        ))
        for p in mail(count, seed, timedelta(days=30))
    ]  # fmt: skip


def commit(store: Store, parsed: list[Parsed], uid: int) -> None:
    state = FolderState("imap:test", "INBOX", 7, uid, "2026-01-01T00:00:00Z")
    store.commit_scan_batch(state, parsed, [])


def months_in_files(path: Path) -> dict[str, str]:
    """The histories as a fresh process reads them from the files."""
    return {c.email: c.months for c in Store(path).contacts_with_history()}


def test_a_few_new_messages_append_to_the_log_and_leave_the_base_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "mailer.json")
    scan(store, mail(20_000, 6, timedelta(days=365 * YEARS)))
    base = named_files(store.path)[0]
    before = (tmp_path / base).read_bytes()
    log = tmp_path / f"{base}.log"
    for n in range(3):
        size = log.stat().st_size if log.exists() else 0
        commit(store, later(10, 100 + n), 20_000 + n)
        # the histories of the (at most 10 of 50) people written to, not all of them
        # (their histories are longer now than in the base, written half way)
        assert 0 < log.stat().st_size - size < len(before) // 2
    assert history_files(store.path) == [base, f"{base}.log"] == named_files(store.path)
    assert (tmp_path / base).read_bytes() == before
    # what this process holds and what a fresh one reads from base and log agree,
    # and hold the new mail
    held = {c.email: c.months for c in store.contacts_with_history()}
    assert held == months_in_files(store.path)
    newest = history.month_of(later(1, 100)[0].interactions[0].when)
    assert any(newest in m for m in held.values())


def test_log_bytes_of_a_writer_killed_before_its_commit_are_ignored_then_cut_off(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "mailer.json")
    scan(store, mail(2_000, 7, timedelta(days=800)))
    commit(store, later(10, 200), 2_001)
    expected = months_in_files(store.path)
    [_, log] = named_files(store.path)
    named = (tmp_path / log).stat().st_size
    with open(tmp_path / log, "ab") as f:  # what a killed writer appended
        f.write(histories.encode_record({"p1@x.example": "2099-01:9:9"}) + b"\x00half")
    assert months_in_files(store.path) == expected
    commit(Store(store.path), later(10, 201), 2_002)
    after = months_in_files(store.path)
    assert after["p1@x.example"] != "2099-01:9:9"
    doc = json.loads(store.path.read_bytes())["history"]["1"]
    assert (tmp_path / log).stat().st_size == doc["log"] > named  # cut off, then appended


def test_the_log_becomes_a_new_base_once_it_outgrows_its_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(histories, "MIN_LOG_BYTES", 600)
    store = Store(tmp_path / "mailer.json")
    scan(store, mail(2_000, 8, timedelta(days=800)))
    bases = set()
    for n in range(12):
        commit(store, later(10, 300 + n), 2_000 + n)
        bases.add(named_files(store.path)[0])
        files = named_files(store.path)
        assert history_files(store.path) == files  # no file left behind
        if len(files) == 2:  # base and log: the log within its share
            base, log = ((tmp_path / name).stat().st_size for name in files)
            assert log <= max(600, base // 8)
    assert len(bases) > 2
    assert {c.email: c.months for c in store.contacts_with_history()} == months_in_files(store.path)


@pytest.mark.parametrize("damage", ["missing", "cut short", "checksum"])
def test_a_damaged_history_log_is_one_line_naming_it(tmp_path: Path, damage: str) -> None:
    store = Store(tmp_path / "mailer.json")
    scan(store, mail(500, 9, timedelta(days=400)))
    commit(store, later(10, 400), 501)
    [_, name] = named_files(store.path)
    target = tmp_path / name
    data = target.read_bytes()
    if damage == "missing":
        target.unlink()
    elif damage == "cut short":
        target.write_bytes(data[:-3])
    else:
        target.write_bytes(data[:10] + bytes([data[10] ^ 1]) + data[11:])
    assert len(Store(store.path).contacts()) == PEOPLE  # listing never needs it
    with pytest.raises(StoreFormatError) as e:
        Store(store.path).history("p1@x.example")
    assert name in str(e.value) and "\n" not in str(e.value)
    assert "mailer rebuild" in (e.value.hint or "")


# -- reading a few histories alone -------------------------------------------------------


def test_a_scan_of_a_few_messages_reads_only_their_peoples_histories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a million messages the base is 11 MB of histories, and a scan of 100 new
    messages needs those of a few dozen people: it reads them through the index."""
    alone, whole = tmp_path / "alone" / "mailer.json", tmp_path / "whole" / "mailer.json"
    for path in (alone, whole):
        path.parent.mkdir()
        commit(Store(path), mail(20_000, 10, timedelta(days=365 * YEARS)), 20_000)
        assert len(named_files(path)) == 1  # a base alone: every history is read from it

    read: list[str] = []
    lookup = histories.Base._lookup

    def counted(self: histories.Base, email: str) -> str:
        read.append(email)
        return lookup(self, email)

    def refuse(self: histories.Base) -> dict[str, str]:
        raise AssertionError("read every history")

    with monkeypatch.context() as m:
        m.setattr(histories.Base, "_lookup", counted)
        m.setattr(histories.Base, "all", refuse)
        for n in range(3):  # a fresh process each time: nothing of the histories held
            commit(Store(alone), later(10, 500 + n), 20_001 + n)
    with monkeypatch.context() as m:
        m.setattr(histories, "POINT_READS", 0)  # every history read whole
        for n in range(3):
            commit(Store(whole), later(10, 500 + n), 20_001 + n)

    assert 0 < len(read) <= 30 and len(set(read)) == len(read)  # each read once at most
    assert months_in_files(alone) == months_in_files(whole)
    assert json.loads(alone.read_bytes()) == json.loads(whole.read_bytes())


def test_asked_for_many_histories_one_base_is_read_whole_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "mailer.json")
    commit(store, mail(2_000, 11, timedelta(days=800)), 2_000)
    months = months_in_files(store.path)
    monkeypatch.setattr(histories, "POINT_READS", 5)
    read: list[str] = []
    lookup = histories.Base._lookup

    def counted(self: histories.Base, email: str) -> str:
        read.append(email)
        return lookup(self, email)

    monkeypatch.setattr(histories.Base, "_lookup", counted)
    base = histories.Base.open(tmp_path / named_files(store.path)[0])
    got = {f"p{k}@x.example": base.get(f"p{k}@x.example") for k in range(PEOPLE)}
    assert got == months and base.get("nobody@x.example") == ""
    assert len(read) == 5  # the rest from one read of the whole base


def test_emails_of_one_hash_are_told_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(histories, "text_hash", lambda email: 7)  # every email collides
    months = {f"p{k}@x.example": f"2024-0{k % 9 + 1}:{k}:1" for k in range(20)}
    path = tmp_path / "base"
    path.write_bytes(histories.encode_base(months))
    base = histories.Base.open(path)
    assert {e: base.get(e) for e in months} == months
    assert base.get("p99@x.example") == ""
    assert histories.Base.open(path).all() == months


def test_a_base_of_the_first_format_is_read_whole_then_replaced_at_the_next_change(
    tmp_path: Path,
) -> None:
    """Stores written before the index: their base is a JSON object alone."""
    old, new = tmp_path / "old" / "mailer.json", tmp_path / "new" / "mailer.json"
    for path in (old, new):
        path.parent.mkdir()
        commit(Store(path), mail(2_000, 12, timedelta(days=800)), 2_000)
    [name] = named_files(old)
    months = months_in_files(old)
    (old.parent / name).write_bytes(  # what mailer wrote before, for the same histories
        json.dumps({"format": "mailer-history-1", "months": months}).encode()
    )
    assert months_in_files(old) == months
    assert Store(old).history("p3@x.example") == months["p3@x.example"]

    commit(Store(old), later(10, 700), 2_001)
    commit(Store(new), later(10, 700), 2_001)
    [base] = named_files(old)  # a new base, with its index: no log on the old one
    assert base != name and history_files(old) == [base]
    assert (old.parent / base).read_bytes().endswith(histories.MAGIC)
    assert months_in_files(old) == months_in_files(new)
