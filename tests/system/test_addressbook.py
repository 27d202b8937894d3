"""`mailer contacts import|export` end to end in a child process, on a store
file whose bytes show whether anything was written.

The pure functions (mailer.core.addressbook) are tested in tests/unit/test_addressbook.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.core.addressbook import (
    to_vcard,
)
from mailer.model import Contact
from tests.bench.import_bench import Person, address_book, people
from tests.support.scanhelp import mailer
from tests.unit.test_addressbook import (
    APPLE,
    PEOPLE,
    SCANNED,
    THUNDERBIRD,
    exported,
    ok,
    store_with,
)


@pytest.mark.parametrize(("fmt", "name"), [("vcard", "book.vcf"), ("csv", "sheet.csv")])
def test_cli_round_trip_into_an_empty_store(tmp_path: Path, fmt: str, name: str) -> None:
    config, store = store_with(tmp_path / "a", PEOPLE)
    path = tmp_path / name
    assert ok(mailer(config, "contacts", "export", "--output", str(path))).strip() == (
        f"wrote {len(PEOPLE)} contacts to {path} ({fmt})"
    )
    empty_config, empty = store_with(tmp_path / "b", [])
    out = ok(mailer(empty_config, "contacts", "import", str(path)))
    assert out.splitlines()[-1] == f"{len(PEOPLE)} added, 0 updated, 0 unchanged, 0 skipped"
    assert [exported(c) for c in empty.contacts()] == [exported(c) for c in store.contacts()]


def test_cli_import_merges_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    config, store = store_with(tmp_path, [SCANNED])
    book = tmp_path / "apple.vcf"
    book.write_text(
        APPLE.replace("Anna.Berg@North.example", "anna@old.example") + THUNDERBIRD,
        encoding="utf-8",
        newline="",
    )
    dry = ok(mailer(config, "contacts", "import", str(book), "--dry-run"))
    assert dry.splitlines()[-1].startswith("dry run, nothing written: 3 added, 1 updated")
    before = store.path.read_bytes()
    assert store.contacts() == [SCANNED]

    out = ok(mailer(config, "contacts", "import", str(book))).splitlines()
    assert out[-1] == (
        "3 added, 1 updated (name, notes, name_fixed, aliases), 0 unchanged, "
        "1 skipped: 1 without an email address"
    )
    assert "updated anna@north.example: name, notes, name_fixed, aliases" in out
    assert store.path.read_bytes() != before
    anna = store.contact("anna@home.example")
    assert anna is not None and anna.email == "anna@north.example"
    assert (anna.messages_in, anna.last_inbound, anna.first_seen) == (
        12,
        SCANNED.last_inbound,
        SCANNED.first_seen,
    )
    assert len(store.contacts()) == 4

    after = store.path.read_bytes()
    again = ok(mailer(config, "contacts", "import", str(book))).splitlines()
    assert again[-1] == "0 added, 0 updated, 4 unchanged, 1 skipped: 1 without an email address"
    assert store.path.read_bytes() == after


def test_cli_import_skips_a_card_with_a_tier_not_configured(tmp_path: Path) -> None:
    config, store = store_with(tmp_path, [])
    book = tmp_path / "book.vcf"
    cards = [
        Contact("vip@x.example", name="Vera Ip", tier="vip"),
        Contact("ok@x.example", name="Otto K", tier="network"),
    ]
    book.write_text(to_vcard(cards), encoding="utf-8", newline="")
    out = ok(mailer(config, "contacts", "import", str(book))).splitlines()
    reason = "card 1 (Vera Ip): 'vip' is not a tier (configured: inner, network, loose)"
    assert out == [
        "added ok@x.example",
        f"skipped {reason}",
        f"1 added, 0 updated, 0 unchanged, 1 skipped: {reason}",
    ]
    assert [(c.email, c.tier) for c in store.contacts()] == [("ok@x.example", "network")]


def test_cli_export_to_stdout_is_vcard(tmp_path: Path) -> None:
    config, _ = store_with(tmp_path, PEOPLE[:2])
    out = ok(mailer(config, "contacts", "export"))
    assert out.count("BEGIN:VCARD") == 2 and "FN:李小龍\\nDragon\\, Jr." in out
    csv_out = ok(mailer(config, "contacts", "export", "--format", "csv"))
    assert csv_out.startswith("email,name,aliases,status,tier,tags,trust,cadence,notes,")
    # a file name that says nothing: the content tells
    for name, text in (("book.txt", out), ("sheet.txt", csv_out)):
        (tmp_path / name).write_text(text, newline="")
        report = ok(mailer(config, "contacts", "import", str(tmp_path / name), "--dry-run"))
        assert report.strip() == (
            "dry run, nothing written: 0 added, 0 updated, 2 unchanged, 0 skipped"
        )


HTML = b"<!DOCTYPE html>\n<html><head><title>Contacts</title></head><body>hi, there</body></html>\n"


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("photo.vcf", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not UTF-8 text"),
        ("empty.csv", b"", "the file is empty"),
        ("page.vcf", HTML, "no BEGIN:VCARD"),
        ("page.html", HTML, "no email column"),
        ("phones.csv", b"name,phone\nAnna,+46 123\n", "no email column"),
        ("missing.vcf", None, "cannot read"),
    ],
)
def test_cli_garbage_is_one_line_exit_2_and_changes_nothing(
    tmp_path: Path, name: str, content: bytes | None, needle: str
) -> None:
    config, store = store_with(tmp_path, [SCANNED])
    before = store.path.read_bytes()
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    out = mailer(config, "contacts", "import", str(path))
    err = out.stderr.strip()
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and "\n" not in err, err
    assert err.startswith("mailer: error:") and needle in err, err
    assert out.stdout == ""
    assert store.path.read_bytes() == before


@pytest.mark.parametrize(("fmt", "other"), [("csv", "vcard"), ("vcard", "csv")])
def test_a_big_address_book_imports_whole_and_again_changes_nothing(
    tmp_path: Path, fmt: str, other: str
) -> None:
    # The shapes of tests/bench/import_bench.py: accents, several addresses a card, labels,
    # notes with commas and line breaks, cards without an address, a few duplicates.
    book = people(1500)
    persons: dict[str, list[Person]] = {}  # a person's first address -> their cards
    for p in book:
        if p.emails:
            persons.setdefault(p.emails[0], []).append(p)
    no_mail = sum(1 for p in book if not p.emails)
    assert no_mail and any(len(cards) > 1 for cards in persons.values())
    # one of them the scan already knows, by their second address
    known = next(cards[0] for cards in persons.values() if len(cards[0].emails) > 1)
    scanned = Contact(known.emails[1], name="asa", messages_in=5, last_inbound=SCANNED.last_inbound)
    config, store = store_with(tmp_path, [scanned])
    files = {}
    for kind, name in (("csv", "book.csv"), ("vcard", "book.vcf")):
        files[kind] = tmp_path / name
        files[kind].write_text(address_book(1500, kind), encoding="utf-8", newline="")
    skipped = f"{no_mail} skipped: {no_mail} without an email address"

    before = store.path.read_bytes()
    dry = ok(mailer(config, "contacts", "import", str(files[fmt]), "--dry-run")).splitlines()
    assert dry[-1].startswith(f"dry run, nothing written: {len(persons) - 1} added, 1 updated")
    assert store.path.read_bytes() == before

    out = ok(mailer(config, "contacts", "import", str(files[fmt]))).splitlines()
    assert out[-1].startswith(f"{len(persons) - 1} added, 1 updated (name, ")
    assert out[-1].endswith(f", 0 unchanged, {skipped}")
    assert len(out) == len(persons) + no_mail + 1  # a line per contact and card skipped
    contacts = {c.email: c for c in store.contacts()}
    assert len(contacts) == len(persons)
    for first, cards in persons.items():
        c = contacts[scanned.email if first == known.emails[0] else first]
        assert {c.email, *c.aliases} == {a for p in cards for a in p.emails}
        assert c.tags == tuple(sorted({t.lower() for p in cards for t in p.labels}))
        assert (c.name, c.name_fixed) == (f"{cards[-1].first} {cards[-1].last}", True)
        if len(cards) == 1:
            assert c.notes == cards[0].notes  # commas, quotes and line breaks as they were
    kept = contacts[scanned.email]
    assert (kept.messages_in, kept.last_inbound) == (5, scanned.last_inbound)
    assert kept.aliases[0] == known.emails[0]

    # the same people again, from the same file or the other format: nothing to write
    written = store.path.read_bytes()
    for again in (files[fmt], files[other]):
        out = ok(mailer(config, "contacts", "import", str(again))).splitlines()
        assert out[-1] == f"0 added, 0 updated, {len(persons)} unchanged, {skipped}"
        assert len(out) == no_mail + 1 and all(line.startswith("skipped ") for line in out[:-1])
        assert store.path.read_bytes() == written
