"""Message keys beside the store file (mailer.store.keystore): compact, checked, killable.

The store file must hold contacts and small state only, so its size follows
the contacts, not the messages; the keys live in a base file and an append log
that the store file commits by naming them. The tests in
tests/system/test_keystore.py kill writers at the moments that matter (after a
key file was written, before the store file named it) and at random ones, move
stores of the old layout, and check that a transaction that does not need the
keys never reads them.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailer.errors import StoreFormatError
from mailer.model import Contact, FolderState, Interaction, Parsed
from mailer.store import Store, keystore
from mailer.store import engine as store_mod

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 2_000
PEOPLE = 50


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mailer.json"


def parsed(start: int, count: int) -> list[Parsed]:
    """Messages `start` .. `start + count - 1`, one interaction each, over PEOPLE people."""
    return [
        Parsed(
            key=f"{k:016x}",
            interactions=(
                Interaction(f"p{k % PEOPLE}@x.example", None, T0 + timedelta(seconds=k), "in"),
            ),
        )
        for k in range(start, start + count)
    ]


def position(last_uid: int) -> FolderState:
    return FolderState("imap:test", "INBOX", 7, last_uid, "2024-06-01T00:00:00Z")


def key_files(path: Path) -> list[str]:
    return sorted(n for n in os.listdir(path.parent) if f"{path.name}.keys-" in n)


def named_files(path: Path) -> list[str]:
    """The key files the store file names."""
    with Store(path).snapshot() as db:
        (ref,) = db.table("keys").all()
    base = f"{path.name}.keys-{ref['id']}"
    # a log of no committed bytes may hold those of a writer killed before its commit
    return [base, f"{base}.log"] if (path.parent / f"{base}.log").exists() else [base]


# -- the format -------------------------------------------------------------------------


def test_a_base_round_trips_sorted_and_checks_itself(tmp_path: Path) -> None:
    numbers = [5, 2**64 - 1, 0, 77, 5]
    data = keystore.encode_base(numbers)
    assert list(keystore.decode_base(data, tmp_path)) == [0, 5, 77, 2**64 - 1]
    # the format, byte for byte: magic, count, big-endian keys, digest of all that
    body = b"MLRKEYS1" + struct.pack(">Q4Q", 4, 0, 5, 77, 2**64 - 1)
    assert bytes(data) == body + hashlib.blake2b(body, digest_size=16).digest()
    flipped = bytearray(data)
    flipped[20] ^= 1
    with pytest.raises(StoreFormatError, match="checksum does not match"):
        keystore.decode_base(bytes(flipped), tmp_path)
    with pytest.raises(StoreFormatError, match="too short"):
        keystore.decode_base(data[:10], tmp_path)
    with pytest.raises(StoreFormatError, match="no mailer key file"):
        keystore.decode_base(b"{" + data[1:], tmp_path)


def test_log_records_are_read_back_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    data = keystore.encode_record([1, 2]) + keystore.encode_record([3])
    assert keystore.decode_log(data, tmp_path) == [1, 2, 3]
    with pytest.raises(StoreFormatError, match="cut short"):
        keystore.decode_log(data[:-1], tmp_path)
    broken = bytearray(data)
    broken[6] ^= 1
    with pytest.raises(StoreFormatError, match="record at byte 0"):
        keystore.decode_log(bytes(broken), tmp_path)


def test_message_keys_become_the_numbers_they_spell() -> None:
    assert keystore.key_number("00000000000000ff") == 255
    assert keystore.key_text(255) == "00000000000000ff"
    # a key of another shape (tests, forwarded mail) is hashed, the same each time
    assert keystore.key_number("fwd-1") == keystore.key_number("fwd-1") != 0


# -- the store with key files -----------------------------------------------------------


def test_the_store_file_follows_the_contacts_not_the_messages(tmp_path: Path) -> None:
    small, large = Store(tmp_path / "small.json"), Store(tmp_path / "large.json")
    small.commit_scan_batch(position(PEOPLE), parsed(0, PEOPLE), [])
    for start in range(0, 100_000, 20_000):
        large.commit_scan_batch(position(start + 20_000), parsed(start, 20_000), [])
    assert large.stats()["messages_seen"] == 100_000
    contacts = [c.email for c in large.contacts()]
    assert contacts == [c.email for c in small.contacts()] and len(contacts) == PEOPLE
    # the same contacts (with other counts): within a few bytes per contact
    size_small, size_large = small.path.stat().st_size, large.path.stat().st_size
    assert abs(size_large - size_small) < 0.1 * size_small, (size_small, size_large)
    assert sum(os.path.getsize(tmp_path / n) for n in key_files(large.path)) < 9 * 100_000


def test_a_transaction_that_needs_no_keys_never_reads_them(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(path)
    store.commit_scan_batch(position(BATCH), parsed(0, BATCH), [])

    def no(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("read the key files")

    monkeypatch.setattr(keystore.KeyFiles, "load", no)
    monkeypatch.setattr(keystore.KeyFiles, "_read", no)
    fresh = Store(path)
    assert len(fresh.contacts()) == PEOPLE
    assert fresh.stats()["messages_seen"] == BATCH
    fresh.update_contact("p1@x.example", tier="inner")
    fresh.meta_set("x", 1)
    contacts, _drafts, _open = fresh.planning()
    assert len(contacts) == PEOPLE
    # a scan batch without a message to count needs no keys either
    fresh.commit_scan_batch(position(BATCH + 1), [], [])


def test_many_batches_make_new_bases_and_leave_no_old_files(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keystore, "MIN_LOG_KEYS", 3_000)
    store = Store(path)
    for n in range(10):
        store.commit_scan_batch(position((n + 1) * BATCH), parsed(n * BATCH, BATCH), [])
        assert key_files(path) == named_files(path)  # the old base went with the next batch
    assert store.stats()["messages_seen"] == 10 * BATCH
    again = Store(path).commit_scan_batch(position(20_000), parsed(0, 10 * BATCH), [])
    assert (again.new, again.duplicates) == (0, 10 * BATCH)
    store.compact()
    assert len(named_files(path)) == 1  # the log merged into one base
    assert Store(path).seen_keys() == {f"{k:016x}" for k in range(10 * BATCH)}


def test_another_process_sees_keys_added_since_it_last_looked(path: Path) -> None:
    mine, theirs = Store(path), Store(path)
    mine.commit_scan_batch(position(BATCH), parsed(0, BATCH), [])
    assert theirs.commit_scan_batch(position(BATCH), parsed(0, 10), []).duplicates == 10
    mine.commit_scan_batch(position(2 * BATCH), parsed(BATCH, BATCH), [])  # mine appends
    assert theirs.commit_scan_batch(position(2 * BATCH), parsed(BATCH, 10), []).duplicates == 10
    Store(path).compact()  # a third one makes a new base
    result = mine.commit_scan_batch(position(3 * BATCH), parsed(0, 3 * BATCH), [])
    assert (result.new, result.duplicates) == (BATCH, 2 * BATCH)
    assert theirs.stats()["messages_seen"] == 3 * BATCH


def test_a_damaged_or_missing_key_file_is_one_line_naming_it(path: Path) -> None:
    store = Store(path)
    store.commit_scan_batch(position(BATCH), parsed(0, BATCH), [])
    (base,) = named_files(path)
    data = bytearray((path.parent / base).read_bytes())
    data[100] ^= 0xFF
    (path.parent / base).write_bytes(bytes(data))
    with pytest.raises(StoreFormatError, match=f"message key file .*{base} is damaged") as e:
        Store(path).commit_scan_batch(position(BATCH + 1), parsed(BATCH, 1), [])
    assert "\n" not in str(e.value) and e.value.exit_code == 2
    assert len(Store(path).contacts()) == PEOPLE  # what needs no keys still works
    (path.parent / base).unlink()
    with pytest.raises(StoreFormatError, match="is missing"):
        Store(path).seen_keys()


def test_a_key_document_naming_no_file_is_a_format_error(path: Path) -> None:
    Store(path).commit_scan_batch(position(BATCH), parsed(0, BATCH), [])
    data = json.loads(path.read_bytes())
    data["keys"]["1"]["id"] = "../../etc/passwd"
    path.write_text(json.dumps(data))
    with pytest.raises(StoreFormatError, match="keys document"):
        Store(path).commit_scan_batch(position(BATCH + 1), parsed(BATCH, 1), [])


def test_failures_are_recorded_once_per_message(path: Path) -> None:
    store = Store(path)
    bad = [{"uid": 5, "key": "00000000000000aa", "error": "no From"}]
    assert store.commit_scan_batch(position(5), [], bad).failures_recorded == 1
    # scan --full meets it again, and a copy in another folder
    assert store.commit_scan_batch(position(5), [], bad).failures_recorded == 0
    other = [{"uid": 9, "key": "00000000000000aa", "error": "no From"}]
    assert store.commit_scan_batch(position(9), [], other).failures_recorded == 0
    assert store.stats()["parse_failures"] == 1 and len(store.stats()["last_failures"]) == 1


# -- stores of the old layout -------------------------------------------------------------


def old_store(path: Path, keys: int) -> dict[str, Any]:
    """A store as mailer wrote it before the key files and the history file: keys in a
    `seen` table, each contact's monthly history in its document."""
    contacts = {
        str(i + 1): Contact(f"p{i}@x.example", messages_in=keys // PEOPLE).to_doc()
        | {"months": f"2024-01:{keys // PEOPLE}:0"}
        for i in range(PEOPLE)
    }
    half = keys // 2
    seen = {
        "1": {"n": half, "k": " ".join(f"{k:016x}" for k in range(half))},
        "2": {"n": keys - half, "k": " ".join(f"{k:016x}" for k in range(half, keys))},
    }
    data = {"contacts": contacts, "seen": seen, "meta": {"1": {"key": "m", "value": 0}}}
    path.write_text(json.dumps(data, separators=(",", ":")))
    os.chmod(path, 0o600)
    return data


def test_an_old_store_is_moved_on_first_use(path: Path) -> None:
    old = old_store(path, 10_000)
    before = path.stat().st_size
    store = Store(path)
    assert store.stats()["messages_seen"] == 10_000  # a read alone moves nothing
    assert json.loads(path.read_bytes()) == old
    store.meta_set("m", 1)  # the first transaction does
    data = json.loads(path.read_bytes())
    assert "seen" not in data and data["contacts"] == without_months(old)
    assert path.stat().st_size < before / 10
    assert {c.email: c.months for c in store.contacts_with_history()} == months_of(old)
    assert store.stats()["messages_seen"] == 10_000
    result = store.commit_scan_batch(position(10_001), parsed(9_990, 11), [])
    assert (result.new, result.duplicates) == (1, 10)


# -- kill -9 ------------------------------------------------------------------------------


def without_months(old: dict[str, Any]) -> dict[str, Any]:
    return {i: {k: v for k, v in d.items() if k != "months"} for i, d in old["contacts"].items()}


def months_of(old: dict[str, Any]) -> dict[str, str]:
    return {d["email"]: d["months"] for d in old["contacts"].values()}


@pytest.fixture(autouse=True)
def _no_lock_held_after_test() -> Iterator[None]:
    yield
    assert not getattr(store_mod._held, "paths", set()), "a test leaked a held lock"
