"""The store: atomic, locked, one read and one write per transaction, and fast."""

from __future__ import annotations

import json
import os
import random
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tinydb import Query

from mailer import store as store_mod
from mailer.core.contacts import fold
from mailer.errors import StoreError, UsageError
from mailer.model import CommandRecord, Contact, FolderState, Interaction, Parsed
from mailer.store import BatchResult, Decision, Store
from mailer.store import commands as store_commands
from mailer.store import engine as store_engine
from mailer.store.scans import Batch

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(path: Path) -> list[str]:
    return [n for n in os.listdir(path.parent) if n.startswith(f".{path.name}.tmp-")]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mailer.json"


@pytest.fixture
def io_counts(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the file reads and writes the store does."""
    counts = {"read": 0, "write": 0}
    real_read, real_write = store_engine._read_file, store_engine.write_atomic

    def read(p: Path) -> bytes | None:
        counts["read"] += 1
        return real_read(p)

    def write(p: Path, payload: bytes) -> None:
        counts["write"] += 1
        real_write(p, payload)

    monkeypatch.setattr(store_engine, "_read_file", read)
    monkeypatch.setattr(store_engine, "write_atomic", write)
    return counts


def msg(key: int | str, email: str, day: int, direction: str = "in", **kw: Any) -> Parsed:
    it = Interaction(
        email=email,
        name=kw.get("name"),
        when=T0 + timedelta(days=day, minutes=kw.get("minute", 0)),
        direction=direction,  # type: ignore[arg-type]
        subject=kw.get("subject"),
    )
    k = key if isinstance(key, str) else f"{key:016x}"
    return Parsed(key=k, interactions=(it,))


def state(last_uid: int, folder: str = "INBOX", uidvalidity: int | None = 7) -> FolderState:
    return FolderState("imap:test", folder, uidvalidity, last_uid, "2024-06-01T00:00:00Z")


# -- basics ---------------------------------------------------------------------


def test_missing_file_is_an_empty_store_and_reading_creates_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "no" / "such" / "mailer.json")
    assert store.contacts() == []
    assert store.contact("a@example.com") is None
    assert store.folder_states() == {}
    assert store.meta_get("x", 5) == 5
    assert store.stats()["contacts"] == 0
    assert not (tmp_path / "no").exists()


def test_contacts_round_trip(path: Path) -> None:
    store = Store(path)
    alice = Contact(
        email="alice@example.com",
        name="Alice Ünïcødé",
        tags=("vc", "berlin"),
        trust=2,
        extra={"future_field": [1, 2]},
    )
    store.add_contact(alice)
    store.add_contact(Contact(email="Bob@Example.com"))

    again = Store(path)
    assert again.contact("ALICE@example.com") == alice
    assert [c.email for c in again.contacts()] == ["alice@example.com", "bob@example.com"]

    updated = again.update_contact("bob@example.com", tier="inner", tags=("x",), trust=3)
    assert updated.tier == "inner"
    assert Store(path).contact("bob@example.com") == updated
    with pytest.raises(UsageError, match=r"no contact carol@example\.com"):
        again.update_contact("carol@example.com", trust=1)
    with pytest.raises(UsageError, match="already exists"):
        again.add_contact(Contact(email="alice@example.com"))
    with pytest.raises(UsageError, match="already exists"):
        again.update_contact("bob@example.com", email="alice@example.com")
    assert len(Store(path).contacts()) == 2


def test_both_directions_are_stored_as_pairs_and_older_documents_read_the_same(
    path: Path,
) -> None:
    both = Contact(
        email="a@x.org",
        last_inbound="2026-01-01T00:00:00Z",
        last_outbound="2026-01-02T00:00:00Z",
        messages_in=3,
        messages_out=2,
        weight_in=1.25,
        weight_out=0.5,
    )
    only_in = Contact(email="b@x.org", last_inbound="2026-01-03T00:00:00Z", messages_in=1)
    older = {  # as stores before the pairs hold them
        "email": "c@x.org",
        "last_inbound": "2026-01-01T00:00:00Z",
        "messages_in": 4,
        "weight_out": 0.75,
    }
    path.write_text(json.dumps({"contacts": {"1": older}}))
    store = Store(path)
    store.update_contacts(lambda cs: [both, only_in])
    docs = json.loads(path.read_text())["contacts"]
    assert docs["1"] == older  # left as it was until it changes
    assert docs["2"] == {
        "email": "a@x.org",
        "messages": [3, 2],
        "last_mail": ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"],
        "weight": [1.25, 0.5],
    }
    assert docs["3"] == {
        "email": "b@x.org",
        "messages": [1, 0],
        "last_mail": ["2026-01-03T00:00:00Z", None],
    }
    c = Store(path).contact("c@x.org")
    assert c is not None
    assert (c.messages_in, c.messages_out, c.last_inbound, c.last_outbound) == (
        4,
        0,
        "2026-01-01T00:00:00Z",
        None,
    )
    assert (c.weight_in, c.weight_out) == (0.0, 0.75)
    assert Store(path).contacts() == [both, only_in, c]
    store.update_contact("c@x.org", trust=1)
    assert json.loads(path.read_text())["contacts"]["1"] == {
        "email": "c@x.org",
        "trust": 1,
        "messages": [4, 0],
        "last_mail": ["2026-01-01T00:00:00Z", None],
        "weight": [0.0, 0.75],
    }
    # a later version's fields are kept beside the pairs
    future = Contact.from_doc({**docs["2"], "later": 1})
    assert (future.messages_out, future.extra) == (2, {"later": 1})
    assert future.to_doc() == {**docs["2"], "later": 1}


def test_meta_and_folder_state_round_trip(path: Path) -> None:
    store = Store(path)
    store.meta_set("drafts.last_run", "2024-06-01T08:30:00Z")
    store.meta_set("counts", {"a": [1, 2]})
    store.meta_set("drafts.last_run", "2024-06-02T08:30:00Z")
    assert Store(path).meta_get("drafts.last_run") == "2024-06-02T08:30:00Z"
    assert Store(path).meta_get("counts") == {"a": [1, 2]}

    store.commit_scan_batch(state(40), [], [])
    assert Store(path).folder_states() == {("imap:test", "INBOX"): state(40)}
    store.reset_folder("imap:test", "INBOX", 8)
    got = Store(path).folder_states()[("imap:test", "INBOX")]
    assert (got.uidvalidity, got.last_uid, got.scanned_at) == (8, 0, "2024-06-01T00:00:00Z")


def test_file_is_compact_utf8_json_of_tinydb_tables(path: Path) -> None:
    Store(path).add_contact(Contact(email="z@example.com", name="Zoë"))
    raw = path.read_bytes()
    assert "Zoë".encode() in raw  # ensure_ascii=False
    assert b", " not in raw and b": " not in raw
    assert json.loads(raw)["contacts"]["1"]["email"] == "z@example.com"


def test_lone_surrogates_from_bad_headers_still_give_a_valid_utf8_file(path: Path) -> None:
    name = "bad \udce9 byte"
    Store(path).add_contact(Contact(email="s@example.com", name=name))
    path.read_bytes().decode("utf-8")  # strict: the file stays valid UTF-8
    assert Store(path).contact("s@example.com").name == name  # type: ignore[union-attr]


# -- files, modes, errors --------------------------------------------------------


def test_modes_0600_and_missing_dir_created_0700(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "mailer.json"
    old = os.umask(0)  # the modes must not depend on the umask
    try:
        Store(path).meta_set("k", 1)
    finally:
        os.umask(old)
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    assert mode(path.with_name("mailer.json.lock")) == 0o600


def test_looser_mode_is_fixed_on_next_write(path: Path) -> None:
    Store(path).meta_set("k", 1)
    path.chmod(0o644)
    path.with_name("mailer.json.lock").chmod(0o666)
    Store(path).meta_set("k", 1)  # same content: written anyway to fix the mode
    assert mode(path) == 0o600
    assert mode(path.with_name("mailer.json.lock")) == 0o600


@pytest.mark.parametrize("content", [b'{"contacts": {"1": {"email": "a@', b"\x00\x00garbage"])
def test_unreadable_store_is_a_one_line_store_error_and_left_untouched(
    path: Path, content: bytes
) -> None:
    path.write_bytes(content)
    store = Store(path)
    calls = [
        store.contacts,
        store.stats,
        lambda: store.meta_set("k", 1),
        lambda: store.commit_scan_batch(state(1), [msg(1, "a@example.com", 1)], []),
    ]
    for call in calls:
        with pytest.raises(StoreError) as err:
            call()
        text = str(err.value)
        assert str(path) in text and "\n" not in text
        assert err.value.exit_code == 1
    assert path.read_bytes() == content


# JSON, but not what mailer writes (edited by hand, or by another program): the error
# names the table and the document to fix, and it is a usage error (exit 2).
# (the data, the table its readers are of (None: every reader), what the error says)
WRONG_SHAPES = [
    ([1, 2], None, "is not a mailer store"),
    ({"contacts": 3}, None, "table 'contacts' is a number"),
    ({"contacts": [{"email": "a@x.org"}]}, None, "table 'contacts' is an array"),
    ({"contacts": {"1": "a@x.org"}}, None, "contacts document 1 is a string"),
    ({"contacts": {"one": {"email": "a@x.org"}}}, "ids", "contacts document one has no numeric id"),
    (
        {"contacts": {"1": {"email": "a@x.org"}, "2": {"name": "Bo"}}},
        "contacts",
        "contacts document 2 has no 'email'",
    ),
    (
        {"contacts": {"7": {"email": "a@x.org", "tags": 5}}},
        "contacts",
        "contacts document 7 has 'tags' = a number",
    ),
    (
        {"contacts": {"2": {"email": "a@x.org", "last_mail": "2026-01-01T00:00:00Z"}}},
        "contacts",
        "contacts document 2 has 'last_mail' = a string, not a pair [in, out]",
    ),
    (
        {"commands": {"3": {"key": "k", "sender": "x"}}},
        "commands",
        "commands document 3 has no 'message_id'",
    ),
    (
        {"intros": {"1": {"a": "a@x.org", "b": "b@x.org"}}},
        "intros",
        "intros document 1 has no 'asked_at'",
    ),
]


@pytest.mark.parametrize(("data", "table", "named"), WRONG_SHAPES)
def test_a_store_of_the_wrong_shape_is_one_line_naming_the_document(
    path: Path, data: Any, table: str | None, named: str
) -> None:
    content = json.dumps(data).encode()
    path.write_bytes(content)
    store = Store(path)
    readers = {
        "contacts": [
            store.contacts,
            lambda: store.update_contacts(lambda cs: [*cs, Contact("new@x.org")]),
        ],
        "commands": [store.command_records],
        "ids": [lambda: store.change_contact("a@x.org", lambda c: c)],  # TinyDB reads ids
        "intros": [store.intros, lambda: store.update_intros(lambda intros: intros)],
    }
    every = [store.contacts, store.stats, lambda: store.meta_set("k", 1)]
    calls = readers[table] if table else every
    for call in calls:
        with pytest.raises(StoreError) as err:
            call()
        text = str(err.value)
        assert text.startswith(f"store {path}") and named in text and "\n" not in text, text
        assert err.value.exit_code == 2
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    ("doc", "named"),
    [
        ({"email": "a@x.org", "trust": "3"}, "has 'trust' = a string"),
        ({"email": 5}, "has 'email' = a number"),
        ({"email": "a@x.org", "name_fixed": "yes"}, "has 'name_fixed' = a string"),
        ({"email": "a@x.org", "aliases": "b@x.org"}, "has 'aliases' = a string, not a list"),
        ({"email": "a@x.org", "messages": ["3", 1]}, "has 'messages' = a pair holding a string"),
        ({"email": "a@x.org", "weight": [True, 1]}, "has 'weight' = a pair holding true/false"),
    ],
)
def test_check_shape_names_a_field_of_the_wrong_type_that_reads_without_error(
    path: Path, doc: dict[str, Any], named: str
) -> None:
    # These read, and fail later (in the rules, say): the CLI asks check_shape then.
    path.write_text(json.dumps({"contacts": {"1": doc}}))
    assert len(Store(path).contacts()) == 1
    error = store_mod.check_shape(path)
    assert error is not None and f"contacts document 1 {named}" in str(error)
    path.write_text(json.dumps({"contacts": {"1": {"email": "a@x.org", "trust": 3}}}))
    assert store_mod.check_shape(path) is None
    assert store_mod.check_shape(path.with_name("missing.json")) is None


# -- refused command mail is kept for commands.keep_refused, and the newest MAX_REFUSED at most


def _record(n: int, kind: str, day: int) -> CommandRecord:
    at = f"2026-03-{day:02d}T09:00:00Z"
    reason = "sender not allowed" if kind == "refused" else "from me@example.org"
    return CommandRecord(f"k{n}", f"<{n}@x>", f"eve{n}@evil.example", "hi", at, at, kind, reason)


def test_refused_to_prune_drops_the_old_and_all_but_the_newest_refused() -> None:
    docs = [(i, _record(i, kind, day).to_doc()) for i, (kind, day) in enumerate(
        [("refused", 1), ("commands", 1), ("refused", 5), ("refused", 3), ("forward", 2),
         ("refused", 9), ("refused", 9), ("bcc_log", 1)]
    )]  # fmt: skip
    prune = store_mod.refused_to_prune
    assert prune(docs, before="2026-03-04T00:00:00Z", keep=100) == [0, 3]  # older than the 4th
    assert prune(docs, before=None, keep=2) == [0, 3, 2]  # the two of the 9th are the newest
    assert prune(docs, before="2026-03-04T00:00:00Z", keep=1) == [0, 3, 2, 5]  # then by id
    assert prune(docs, before=None, keep=0) == [0, 3, 2, 5, 6]
    # mail that was applied (or logged, or forwarded) is never forgotten
    assert prune(docs, before="2099-01-01T00:00:00Z", keep=0) == [0, 3, 2, 5, 6]


def test_refused_records_are_pruned_when_recorded_and_by_age(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_commands, "MAX_REFUSED", 3)
    store = Store(path)

    def handle(record: CommandRecord) -> None:
        store.apply_command_mail(record.key, (), lambda *_: Decision(record, {}))

    handle(_record(0, "commands", 1))
    for n in range(1, 6):  # a stranger mails again and again
        handle(_record(n, "refused", n))
    handle(_record(6, "commands", 7))
    kept = [(r.key, r.kind) for r in store.command_records()]
    assert kept == [
        ("k0", "commands"),
        ("k3", "refused"),
        ("k4", "refused"),
        ("k5", "refused"),
        ("k6", "commands"),
    ]
    assert store.prune_refused("2026-03-05T00:00:00Z") == 2  # k3, k4: older than keep_refused
    assert [r.key for r in store.command_records()] == ["k0", "k5", "k6"]
    assert store.prune_refused(None, keep=0) == 1
    assert store.prune_refused("2099-01-01T00:00:00Z", keep=0) == 0  # applied mail stays
    assert [r.key for r in store.command_records()] == ["k0", "k6"]


def test_symlinked_store_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    Store(link).meta_set("k", 1)
    assert link.is_symlink()
    assert Store(real).meta_get("k") == 1


# -- transactions ------------------------------------------------------------------


def test_one_read_and_one_write_per_transaction(path: Path, io_counts: dict[str, int]) -> None:
    store = Store(path)
    with store.transaction() as db:
        table = db.table("contacts")
        for i in range(200):  # stock TinyDB: 200 reads and 200 full-file writes
            table.insert({"email": f"c{i}@example.com", "n": i})
        table.update({"n": -1}, Query().n < 10)
        table.remove(Query().n == 150)
        assert len(table.search(Query().n == -1)) == 10
        db.table("meta").insert({"key": "k", "value": 1})
    assert io_counts == {"read": 1, "write": 1}

    with store.transaction() as db:  # reads only: nothing written
        assert len(db.table("contacts")) == 199
    assert io_counts == {"read": 2, "write": 1}

    with store.snapshot() as db:
        assert len(db.table("contacts")) == 199
    assert io_counts == {"read": 3, "write": 1}


@pytest.mark.parametrize("where", ["first", "last"])
def test_a_reread_sees_a_change_that_keeps_the_size_and_reuses_bytes_that_did_not_change(
    path: Path, where: str
) -> None:
    """Reading the store again compares the file with the bytes last read, a piece at a
    time: those same bytes back when it holds them (no new 8 MB of memory), the new
    ones when any byte differs, at the start of the file or past its first piece."""
    people = [Contact(f"p{i:04d}@x.example", f"Name {i:04d}") for i in range(2_000)]
    Store(path).insert_contacts(people)
    store = Store(path)
    assert len(store.contacts()) == 2_000
    kept = store_engine._last_read["data"][1]
    assert path.stat().st_size > 1.5 * store_engine._PIECE  # compared in two pieces or more
    assert store_engine._read_file(path) is kept

    # Another writer, in place and to the same length: only the bytes tell.
    old, new = ("Name 0000", "Nemo 0000") if where == "first" else ("Name 1999", "Nemo 1999")
    assert kept.count(old.encode()) == 1
    path.write_bytes(kept.replace(old.encode(), new.encode()))
    names = {c.name for c in store.contacts()}
    assert new in names and old not in names


def test_exception_in_transaction_writes_nothing(path: Path, io_counts: dict[str, int]) -> None:
    store = Store(path)
    store.meta_set("k", 1)
    before = path.read_bytes()
    with pytest.raises(ZeroDivisionError), store.transaction() as db:
        db.table("meta").truncate()
        db.table("contacts").insert({"email": "x@example.com"})
        1 / 0  # noqa: B018
    assert path.read_bytes() == before
    assert io_counts["write"] == 1
    # and the lock was released: the next transaction goes through
    store.meta_set("k", 2)
    assert store.meta_get("k") == 2


def test_snapshot_is_read_only_and_tinydb_does_not_outlive_its_transaction(path: Path) -> None:
    store = Store(path)
    store.meta_set("k", 1)
    before = path.read_bytes()
    with store.snapshot() as db, pytest.raises(RuntimeError, match="read-only"):
        db.table("meta").insert({"key": "j", "value": 2})
    assert path.read_bytes() == before
    with store.transaction() as db:
        pass
    with pytest.raises(RuntimeError, match="after its transaction ended"):
        db.table("meta").all()


def test_nested_transaction_is_refused_not_deadlocked(path: Path) -> None:
    store = Store(path)
    with store.transaction(), pytest.raises(RuntimeError, match="nested"):
        Store(path).meta_set("k", 1)


def test_lock_timeout_when_another_process_holds_the_lock(path: Path) -> None:
    import fcntl

    Store(path).meta_set("k", 1)
    fd = os.open(path.with_name("mailer.json.lock"), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another open file description: conflicts
        started = time.monotonic()
        with pytest.raises(StoreError, match="locked by another process"):
            Store(path, lock_timeout=0.2).meta_set("k", 2)
        assert time.monotonic() - started >= 0.2
        assert Store(path).meta_get("k") == 1  # lock-free read still works
    finally:
        os.close(fd)
    Store(path, lock_timeout=0.2).meta_set("k", 2)
    assert Store(path).meta_get("k") == 2


def test_leftover_temp_files_are_removed_by_the_next_transaction(path: Path) -> None:
    Store(path).meta_set("k", 1)
    junk = path.with_name(".mailer.json.tmp-99999-deadbeef")
    junk.write_bytes(b"{half")
    other = path.with_name(".other.json.tmp-1-x")  # another store's: not ours to touch
    other.write_bytes(b"")
    with Store(path).transaction():
        pass
    assert leftovers(path) == []
    assert other.exists()


# -- crash and concurrency ----------------------------------------------------------


# -- commit_scan_batch ----------------------------------------------------------------


def test_scan_batch_counts_and_folds(path: Path) -> None:
    store = Store(path)
    batch = [
        msg(1, "a@example.com", 1, "in", name="Ann", subject="hi"),
        msg(2, "a@example.com", 3, "out", subject="re: hi"),
        msg(3, "b@example.com", 2, "in"),
        Parsed(key=f"{4:016x}", skipped="list"),
        Parsed(key=f"{5:016x}", error="no From"),
    ]
    fails = [{"uid": 5, "error": "no From\nat all"}]
    result = store.commit_scan_batch(state(5), batch, fails)
    assert result == BatchResult(
        new=3,
        duplicates=0,
        skipped=1,
        errors=1,
        interactions=3,
        contacts_created=2,
        contacts_updated=0,
        failures_recorded=1,
    )
    a = store.contact("a@example.com")
    assert a is not None
    assert (a.name, a.messages_in, a.messages_out) == ("Ann", 1, 1)
    assert (a.first_seen, a.last_inbound, a.last_outbound) == (
        "2024-01-02T00:00:00Z",
        "2024-01-02T00:00:00Z",
        "2024-01-04T00:00:00Z",
    )
    assert a.last_subject == "re: hi"

    stats = store.stats()
    assert stats["contacts"] == 2 and stats["contacts_by_status"] == {"seed": 2}
    assert stats["messages_seen"] == 3
    assert stats["parse_failures"] == 1
    assert stats["last_failures"] == [
        {"source": "imap:test", "folder": "INBOX", "uid": 5, "error": "no From at all"}
    ]
    assert stats["folders"] == [
        {
            "source": "imap:test",
            "folder": "INBOX",
            "uidvalidity": 7,
            "last_uid": 5,
            "scanned_at": "2024-06-01T00:00:00Z",
        }
    ]


def test_same_messages_again_are_not_counted_twice(path: Path) -> None:
    store = Store(path)
    batch = [msg(i, f"p{i % 3}@example.com", i) for i in range(10)]
    store.commit_scan_batch(state(10), batch, [])
    before = store.contacts()

    # the same batch again (a crash before the folder state moved, or a rescan)
    again = store.commit_scan_batch(state(10), batch, [])
    assert (again.new, again.duplicates, again.contacts_updated) == (0, 10, 0)
    # the same mail in another folder, and twice within one batch
    other = store.commit_scan_batch(state(3, folder="Sent"), batch[:3] + batch[:3], [])
    assert (other.new, other.duplicates) == (0, 6)
    # after a UIDVALIDITY change
    store.reset_folder("imap:test", "INBOX", 8)
    rescan = store.commit_scan_batch(state(10, uidvalidity=8), batch, [])
    assert rescan.new == 0
    assert store.contacts() == before
    assert sum(c.messages_in for c in before) == 10
    assert store.stats()["messages_seen"] == 10


def test_a_batch_counted_as_read_commits_unless_another_process_counted_its_mail(
    path: Path,
) -> None:
    mine, theirs = Store(path), Store(path)  # two handles: two scanning processes
    mine.commit_scan_batch(state(2), [msg(0, "a@example.com", 0), msg(1, "a@example.com", 1)], [])
    batch = Batch(mine.counted_keys())
    batch.add([msg(1, "a@example.com", 1), msg(2, "a@example.com", 2), msg(3, "b@example.com", 3)])
    assert (batch.messages, batch.duplicates, batch.keys) == (3, 1, {2, 3})
    # other mail counted meanwhile is no conflict
    theirs.commit_scan_batch(state(1, folder="Sent"), [msg(9, "c@example.com", 5)], [])
    result = mine.commit_counted(state(4), batch)
    assert result is not None and (result.new, result.duplicates) == (2, 1)
    assert mine.contact("a@example.com").messages_in == 3  # type: ignore[union-attr]

    batch = Batch(mine.counted_keys())
    batch.add([msg(4, "d@example.com", 1), msg(5, "d@example.com", 2)])
    theirs.commit_scan_batch(state(2, folder="Sent"), [msg(5, "d@example.com", 2)], [])
    before = (mine.contacts(), mine.folder_states(), mine.stats()["messages_seen"])
    assert mine.commit_counted(state(6), batch) is None  # message 5 would count twice
    assert (mine.contacts(), mine.folder_states(), mine.stats()["messages_seen"]) == before


def test_skipped_messages_are_not_remembered_so_a_rescan_can_count_them(path: Path) -> None:
    store = Store(path)
    key = f"{1:016x}"
    store.commit_scan_batch(state(1), [Parsed(key=key, skipped="ignored sender")], [])
    result = store.commit_scan_batch(state(1), [msg(key, "x@example.com", 1)], [])
    assert result.new == 1 and result.contacts_created == 1


def test_blank_in_a_message_key_is_refused(path: Path) -> None:
    with pytest.raises(ValueError, match="blanks"):
        Store(path).commit_scan_batch(state(1), [msg("ab cd", "x@example.com", 1)], [])
    assert not path.exists()


def test_last_uid_never_goes_back_within_one_uidvalidity(path: Path) -> None:
    store = Store(path)
    store.commit_scan_batch(state(100), [], [])
    store.commit_scan_batch(state(50), [], [])  # a slower concurrent scanner
    assert store.folder_states()[("imap:test", "INBOX")].last_uid == 100
    store.commit_scan_batch(state(20, uidvalidity=9), [], [])  # new UIDVALIDITY
    assert store.folder_states()[("imap:test", "INBOX")].last_uid == 20


def test_recent_failures_are_capped_and_the_total_kept(path: Path) -> None:
    store = Store(path)
    for b in range(3):
        fails = [{"uid": b * 100 + i, "error": "x" * 2000} for i in range(30)]
        store.commit_scan_batch(state(b), [], fails)
    stats = store.stats()
    assert stats["parse_failures"] == 90
    assert len(stats["last_failures"]) == store_mod.RECENT_FAILURES
    assert stats["last_failures"][-1]["uid"] == 229
    assert len(stats["last_failures"][0]["error"]) == store_mod.MAX_ERROR_CHARS


def test_many_small_batches_append_keys_beside_the_store_file(path: Path) -> None:
    store = Store(path)
    for i in range(150):
        store.commit_scan_batch(state(i), [msg(i, "x@example.com", i)], [])
    with store.snapshot() as db:
        assert "seen" not in db.tables() and len(db.table("keys")) == 1
    assert store.stats()["messages_seen"] == 150
    again = store.commit_scan_batch(
        state(150), [msg(i, "x@example.com", i) for i in range(150)], []
    )
    assert again.duplicates == 150
    assert store.contact("x@example.com").messages_in == 150  # type: ignore[union-attr]
    assert store.counted(f"{149:016x}") and not store.counted(f"{150:016x}")


def _random_messages(rng: random.Random, count: int, people: int) -> list[Parsed]:
    out = []
    for i in range(count):
        p = rng.randrange(people)
        out.append(
            msg(
                i,
                f"p{p}@example.com",
                rng.randrange(30),  # many ties on the same day
                rng.choice(["in", "out"]),
                name=rng.choice([None, f"Name {p}", f"Other {p}"]),
                subject=rng.choice([None, "a", "b", "c"]),
            )
        )
    return out


def test_batching_and_order_do_not_change_the_result(tmp_path: Path) -> None:
    rng = random.Random(7)
    messages = _random_messages(rng, 600, 40)
    one = Store(tmp_path / "one.json")
    one.commit_scan_batch(state(600), messages, [])

    shuffled = messages[:]
    rng.shuffle(shuffled)
    many = Store(tmp_path / "many.json")
    i = 0
    while i < len(shuffled):
        size = rng.randint(1, 80)
        many.commit_scan_batch(state(i), shuffled[i : i + size], [])
        i += size
    assert many.contacts() == one.contacts()
    assert many.stats()["messages_seen"] == one.stats()["messages_seen"] == 600


def test_fold_last_subject_is_order_independent() -> None:
    late_no_subject = Interaction("x@example.com", None, T0 + timedelta(days=2), "in")
    early_subject = Interaction("x@example.com", None, T0 + timedelta(days=1), "in", "hello")
    a = fold({}, [late_no_subject, early_subject])
    b = fold({}, [early_subject, late_no_subject])
    assert a == b


def test_large_batches_are_one_read_and_one_write(path: Path, io_counts: dict[str, int]) -> None:
    store = Store(path)
    first = [msg(i, f"c{i}@example.com", i % 365, name=f"C {i}") for i in range(10_000)]
    started = time.perf_counter()
    r1 = store.commit_scan_batch(state(10_000), first, [])
    t1 = time.perf_counter() - started
    assert io_counts == {"read": 1, "write": 1}
    assert r1.contacts_created == 10_000

    second = [msg(20_000 + i, f"c{i * 10}@example.com", 400, "out") for i in range(1000)]
    started = time.perf_counter()
    r2 = store.commit_scan_batch(state(11_000), second, [])
    t2 = time.perf_counter() - started
    assert io_counts == {"read": 2, "write": 2}
    assert (r2.contacts_created, r2.contacts_updated) == (0, 1000)

    started = time.perf_counter()
    contacts = store.contacts()
    t3 = time.perf_counter() - started
    assert len(contacts) == 10_000
    assert sum(c.messages_out for c in contacts) == 1000
    print(
        f"\n10,000 new contacts: {t1:.2f}s; 1,000 updates: {t2:.2f}s; "
        f"contacts(): {t3:.2f}s; file {path.stat().st_size:,} bytes"
    )


@pytest.fixture(autouse=True)
def _no_lock_held_after_test() -> Iterator[None]:
    yield
    assert not getattr(store_engine._held, "paths", set()), "a test leaked a held lock"


def test_the_fast_encoder_writes_the_bytes_json_would() -> None:
    data = {
        "contacts": {
            "1": {"email": "zoë@x.example", "name": "Zoë 😀 \"Q\" \\ / \t", "weight_in": 2.2087,
                  "gap_days": 62.0, "tags": ["ai", "berlin"], "trust": 0, "ok": True, "n": None},
        },
        "meta": {"1": {"key": "big", "value": 2**40}},
    }  # fmt: skip
    expected = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    assert store_engine._encode(data) == expected
    # what the fast encoder refuses (lone surrogates, huge numbers) the standard one writes
    odd = {"meta": {"1": {"key": "x\udcff", "value": 2**70}}}
    assert json.loads(store_engine._encode(odd)) == odd
