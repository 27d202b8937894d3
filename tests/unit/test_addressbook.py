"""Address book import and export: vCard and CSV, both ways, merged by address.

The pure functions (mailer.core.addressbook) are tested directly; the command
(`mailer contacts import|export`) end to end in a child process
(tests/system/test_addressbook.py), on a store file whose bytes show whether
anything was written.
"""

from __future__ import annotations

import base64
import dataclasses
import string
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer import addressbook
from mailer.app import App
from mailer.config import load
from mailer.core.addressbook import (
    MERGE_FIRST,
    ImportedContact,
    from_csv,
    from_vcard,
    plan_import,
    to_csv,
    to_vcard,
)
from mailer.core.durations import format_duration
from mailer.model import STATUSES, Contact, iso
from mailer.store import Store
from mailer.store.memory import MemoryStorage as _MemoryStorage
from tests.bench.import_bench import address_book, people
from tests.support.scanhelp import write_config

# What an export carries; the scan's counts and dates stay in the store.
FIELDS = (
    "email",
    "name",
    "status",
    "tier",
    "tags",
    "trust",
    "cadence",
    "notes",
    "aliases",
    "intro_opt_out",
    "snoozed_until",
    "name_fixed",
)

PEOPLE = [
    Contact(
        email="zoe@y.example",
        name="Zoë Quinn-Ångström",
        status="active",
        tier="inner",
        tags=("ai", "berlin"),
        trust=3,
        cadence="1m",
        notes="Met at PyCon, Berlin; likes climbing.\nAsk about the talk.",
        aliases=("zoe.q@old.example", "zq@work.example"),
        intro_opt_out=True,
        snoozed_until="2026-09-01T00:00:00Z",
        name_fixed=True,
        first_seen="2025-01-02T03:04:05Z",
        last_inbound="2026-06-01T10:00:00Z",
        messages_in=7,
        messages_out=5,
    ),
    Contact(email="li@z.example", name="李小龍\nDragon, Jr.", tags=("martial arts",)),
    Contact(email="bare@x.example"),
    Contact(email="sheet@x.example", name='=HYPERLINK("http://evil.example")', notes="- a list"),
    Contact(email="weeded@x.example", name="Old Friend", status="weeded", trust=1, cadence="2w"),
]


def exported(c: Contact) -> dict[str, object]:
    return {f: getattr(c, f) for f in FIELDS}


def imported_into_empty(text: str, fmt: str) -> list[Contact]:
    cards = from_vcard(text) if fmt == "vcard" else from_csv(text)
    plan = plan_import([], cards)
    assert not plan.skipped and not plan.updated and not plan.unchanged, plan.summary()
    return sorted(plan.contacts, key=lambda c: c.email)


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["vcard", "csv"])
def test_round_trip_of_tricky_contacts(fmt: str) -> None:
    text = to_vcard(PEOPLE) if fmt == "vcard" else to_csv(PEOPLE)
    got = imported_into_empty(text, fmt)
    assert [exported(c) for c in got] == [
        exported(c) for c in sorted(PEOPLE, key=lambda c: c.email)
    ]


def test_csv_keeps_a_formula_a_text() -> None:
    text = to_csv(PEOPLE)
    assert "'=HYPERLINK" in text and "'- a list" in text  # a spreadsheet shows it, runs nothing
    assert "\n=" not in text and ",=" not in text


def test_vcard_is_plain_vcard_3() -> None:
    text = to_vcard(PEOPLE[:1])
    assert text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
    assert "EMAIL;TYPE=INTERNET,pref:zoe@y.example" in text
    assert "CATEGORIES:ai,berlin" in text
    assert "X-MAILER-TRUST:3" in text and "X-MAILER-INTRO-OPT-OUT:yes" in text
    assert "NOTE:Met at PyCon\\, Berlin\\; likes climbing.\\nAsk about the talk." in text


_ADDRESS = st.builds(
    "{}@{}.{}".format,
    st.text(string.ascii_lowercase + string.digits + "._+-", min_size=1, max_size=8).filter(
        lambda s: not s.startswith(".")
    ),
    st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=8),
    st.sampled_from(["com", "example", "de", "org"]),
)
_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\r") | st.just("\n"),
    max_size=30,
)
_WORD = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters=","),
    min_size=1,
    max_size=12,
)


@st.composite
def _contacts(draw: st.DrawFn) -> list[Contact]:
    addresses = draw(st.lists(_ADDRESS, min_size=1, max_size=12, unique=True))
    out = []
    while addresses:
        email = addresses.pop()
        aliases = tuple(addresses.pop() for _ in range(draw(st.integers(0, len(addresses) // 3))))
        name = draw(st.none() | _TEXT.map(str.strip).filter(bool))
        out.append(
            Contact(
                email=email,
                name=name,
                name_fixed=draw(st.booleans()) if name else False,
                status=draw(st.sampled_from(STATUSES)),
                tier=draw(st.none() | _WORD.map(str.strip).filter(bool)),
                tags=tuple(  # sorted, as mailer keeps them
                    sorted(
                        draw(
                            st.lists(
                                _WORD.map(lambda t: t.strip().lower()).filter(
                                    lambda t: t and t == t.strip().lower() and t != "mycontacts"
                                ),
                                unique=True,
                                max_size=4,
                            )
                        )
                    )
                ),
                trust=draw(st.integers(0, 3)),
                cadence=draw(st.none() | st.integers(1, 900).map(_cadence)),
                notes=draw(st.just("") | _TEXT.filter(str.strip)),
                aliases=aliases,
                intro_opt_out=draw(st.booleans()),
                snoozed_until=draw(
                    st.none()
                    | st.datetimes(
                        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)
                    ).map(lambda d: iso(d.replace(tzinfo=UTC)))
                ),
            )
        )
    return out


def _cadence(days: int) -> str:
    return format_duration(timedelta(days=days))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_contacts())
def test_any_contacts_round_trip_through_both_formats(people: list[Contact]) -> None:
    want = [exported(c) for c in sorted(people, key=lambda c: c.email)]
    for fmt, text in (("vcard", to_vcard(people)), ("csv", to_csv(people))):
        assert [exported(c) for c in imported_into_empty(text, fmt)] == want, fmt


# -- what other address books write ---------------------------------------------------------

PHOTO = "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMD\r\n" + (
    " EBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQ\r\n" * 6
)

APPLE = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "PRODID:-//Apple Inc.//macOS 14.4.1//EN\r\n"
    "N:Berg;Anna;Maria;;\r\n"
    "FN:Anna Maria Berg\r\n"
    "ORG:North AB;Research\r\n"
    "TITLE:CTO\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:Anna.Berg@North.example\r\n"
    "item1.X-ABLabel:_$!<Other>!$_\r\n"
    "EMAIL;type=INTERNET;type=HOME:anna@home.example\r\n"
    "TEL;type=CELL;type=VOICE;type=pref:+46 70 123 45 67\r\n"
    "item2.ADR;type=HOME;type=pref:;;Storgatan 1;Stockholm;;111 22;Sweden\r\n"
    "item2.X-ABADR:se\r\n"
    "NOTE:Met at PyCon Berlin\\, 2024. Ask about the climbing trip\\; she offered t\r\n"
    " o review the talk.\\nSecond line.\r\n"
    + PHOTO
    + "X-ABUID:5C5F8F21-6C3B-4E3A-9D2A-0A6C2B0F1C11:ABPerson\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "PRODID:-//Apple Inc.//macOS 14.4.1//EN\r\n"
    "N:Müller-Lüdenscheidt;Jürgen;;Dr.;\r\n"
    "FN:Dr. Jürgen Müller-Lüdenscheidt\r\n"
    "EMAIL;type=INTERNET;type=WORK:juergen@ml.example\r\n"
    "EMAIL;type=INTERNET;type=HOME;type=pref:j.mueller@privat.example\r\n"
    "item1.URL;type=pref:https\\://ml.example\r\n"
    "item1.X-ABLabel:_$!<HomePage>!$_\r\n"
    "CATEGORIES:Conference,Berlin\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "PRODID:-//Apple Inc.//macOS 14.4.1//EN\r\n"
    "N:Plumber;Bob the;;;\r\n"
    "FN:Bob the Plumber\r\n"
    "TEL;type=WORK;type=VOICE:+46 8 555 12 34\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:;;;;\r\n"
    "FN:North AB\r\n"
    "ORG:North AB;\r\n"
    "EMAIL;type=INTERNET;type=WORK;type=pref:info@north.example\r\n"
    "X-ABShowAs:COMPANY\r\n"
    "END:VCARD\r\n"
)

# Thunderbird writes vCard 4.0: PREF=1, data: URIs for photos.
THUNDERBIRD = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "PRODID:-//Thunderbird//EN\r\n"
    "EMAIL;TYPE=work:carol.work@c.example\r\n"
    "EMAIL;PREF=1:carol@c.example\r\n"
    "FN:Carol Chen\r\n"
    "N:Chen;Carol;;;\r\n"
    "PHOTO:data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgID\r\n"
    " AwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/\r\n"
    "UID:7a1c2d9e-3f4b-4c5d-8e6f-0a1b2c3d4e5f\r\n"
    "END:VCARD\r\n"
)

GOOGLE_VCARD = (
    "BEGIN:VCARD\n"
    "VERSION:3.0\n"
    "FN:Bert Bauer\n"
    "N:Bauer;Bert;;;\n"
    "EMAIL;TYPE=INTERNET;TYPE=WORK:bert@bauer.example\n"
    "EMAIL;TYPE=INTERNET:bert.bauer@mail.example\n"
    "TEL;TYPE=CELL:+49 151 1234567\n"
    "PHOTO:https://lh3.googleusercontent.com/contacts/ABCdef123\n"
    "CATEGORIES:myContacts,Berlin,Startups\n"
    "NOTE:Runs a startup\\, hiring.\n"
    "END:VCARD\n"
)

# Google Contacts' "Google CSV", older (Name, Group Membership) and newer (First Name, Labels).
GOOGLE_CSV_OLD = (
    "Name,Given Name,Additional Name,Family Name,Notes,Group Membership,"
    "E-mail 1 - Type,E-mail 1 - Value,E-mail 2 - Type,E-mail 2 - Value,Phone 1 - Type,"
    "Phone 1 - Value\r\n"
    'Erin Eriksen,Erin,,Eriksen,"Knows everyone in Oslo, apparently",* myContacts ::: Oslo,'
    "* Work,erin@e.example ::: erin.eriksen@e.example,Home,erin@home.example,Mobile,+47 123\r\n"
    "Frank Fisher,Frank,,Fisher,,* myContacts,* Home,Frank@F.example,,,,\r\n"
    "No Mail,No,,Mail,,* myContacts,,,,,Mobile,+47 999\r\n"
)
GOOGLE_CSV_NEW = (
    "\ufeffFirst Name,Middle Name,Last Name,Nickname,Organization Name,Notes,Labels,"
    "E-mail 1 - Label,E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value\n"
    "Gina,,García,,ACME,,* starred ::: * myContacts ::: Madrid,* Work,gina@g.example,,\n"
)


def test_apple_contacts_export() -> None:
    cards = from_vcard(APPLE)
    assert [c.addresses for c in cards] == [
        ("anna.berg@north.example", "anna@home.example"),  # item1.EMAIL, the pref one
        ("j.mueller@privat.example", "juergen@ml.example"),  # the pref one first
        (),
        ("info@north.example",),
    ]
    anna, juergen, bob, north = cards
    assert anna.name == "Anna Maria Berg"
    assert anna.notes == (
        "Met at PyCon Berlin, 2024. Ask about the climbing trip; she offered to review the talk."
        "\nSecond line."
    )
    assert juergen.name == "Dr. Jürgen Müller-Lüdenscheidt"
    assert juergen.tags == ("conference", "berlin")
    assert bob.problem == "no email address" and "Bob the Plumber" in bob.where
    assert north.name == "North AB"
    assert anna.status is anna.trust is anna.tier is None  # not given: not touched

    plan = plan_import([], cards)
    assert plan.summary() == (
        "3 added, 0 updated, 0 unchanged, 1 skipped: 1 without an email address"
    )
    by_email = {c.email: c for c in plan.contacts}
    assert by_email["anna.berg@north.example"].aliases == ("anna@home.example",)
    assert by_email["anna.berg@north.example"].name_fixed  # the owner's address book names win
    assert all(c.status == "seed" for c in plan.contacts)


def test_thunderbird_vcard_4() -> None:
    (carol,) = from_vcard(THUNDERBIRD)
    assert carol.addresses == ("carol@c.example", "carol.work@c.example")  # PREF=1 first
    assert carol.name == "Carol Chen" and carol.problem is None


def test_google_vcard_drops_its_own_label() -> None:
    (bert,) = from_vcard(GOOGLE_VCARD)
    assert bert.addresses == ("bert@bauer.example", "bert.bauer@mail.example")  # no pref: first
    assert bert.tags == ("berlin", "startups")
    assert bert.notes == "Runs a startup, hiring."


def test_google_csv_exports() -> None:
    erin, frank, nomail = from_csv(GOOGLE_CSV_OLD)
    assert erin.addresses == ("erin@e.example", "erin.eriksen@e.example", "erin@home.example")
    assert erin.name == "Erin Eriksen" and erin.tags == ("oslo",)
    assert erin.notes == "Knows everyone in Oslo, apparently"
    assert frank.addresses == ("frank@f.example",) and frank.tags is None
    assert nomail.problem == "no email address" and nomail.where == "line 4"
    (gina,) = from_csv(GOOGLE_CSV_NEW)  # with a BOM, as Google writes it
    assert gina.addresses == ("gina@g.example",)
    assert gina.name == "Gina García" and gina.tags == ("madrid",)


def test_unescaped_commas_are_kept() -> None:
    # RFC 6350 wants "\\,"; many writers do not bother, and a name must not be cut there.
    text = "BEGIN:VCARD\nVERSION:3.0\nFN:Berg, Anna\nEMAIL:a@b.example\nNOTE:x, y\\, z\nEND:VCARD"
    (anna,) = from_vcard(text)
    assert (anna.name, anna.notes) == ("Berg, Anna", "x, y, z")


def test_vcard_2_1_quoted_printable_and_junk_lines() -> None:
    text = (
        "BEGIN:VCARD\nVERSION:2.1\n"
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=85berg;Sven;;;\n"
        "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Sven =C3=85berg, a very long name th=\n"
        "at goes on\n"
        "EMAIL;INTERNET:s@work.example\n"
        "EMAIL;INTERNET;PREF:sven@aberg.example\n"
        "this line is junk\n"
        "END:VCARD\n"
    )
    (sven,) = from_vcard(text)
    assert sven.addresses == ("sven@aberg.example", "s@work.example")
    assert sven.name == "Sven Åberg, a very long name that goes on"


def test_vcard_base64_values_are_read() -> None:
    # ENCODING=b (3.0) or a bare BASE64 (2.1, Apple): the text, not "b'...'".
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    text = (
        f"BEGIN:VCARD\nVERSION:3.0\nFN;ENCODING=b:{b64('Åsa Öberg, Jr.')}\n"
        f"EMAIL;ENCODING=b;TYPE=INTERNET:{b64('asa@x.example')}\n"
        f"NOTE;BASE64:{b64('a note')}\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN;ENCODING=b:not base64!\nEMAIL:b@x.example\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nEMAIL;TYPE=pref\nEMAIL:c@x.example\nEND:VCARD\n"
    )
    asa, broken, novalue = from_vcard(text)
    assert (asa.name, asa.addresses, asa.notes) == ("Åsa Öberg, Jr.", ("asa@x.example",), "a note")
    assert broken.problem is not None and broken.problem.startswith("unreadable: ")
    assert novalue.problem == "unreadable: no value in EMAIL;TYPE=pref"


def test_a_card_cut_short_is_skipped_the_rest_kept() -> None:
    cards = from_vcard(GOOGLE_VCARD + "BEGIN:VCARD\nVERSION:3.0\nFN:Half\nEMAIL:h@h.example\n")
    assert cards[0].problem is None
    assert cards[1].problem is not None and "END:VCARD" in cards[1].problem


# -- checks per card ---------------------------------------------------------------------------


def test_bad_values_skip_the_card_with_the_reason() -> None:
    text = (
        "email,name,trust,status,cadence,snoozed_until,intro_opt_out\n"
        "ok@x.example,Ok,2,active,90d,2026-05-01,yes\n"
        "t@x.example,T,7,,,,\n"
        "s@x.example,S,,friend,,,\n"
        "c@x.example,C,,,often,,\n"
        "not an address,N,,,,,\n"
        "d@x.example,D,,,,next week,\n"
        "o@x.example,O,,,,,maybe\n"
    )
    cards = from_csv(text)
    plan = plan_import([], cards)
    assert plan.added == ("ok@x.example",)
    (ok,) = plan.contacts
    assert (ok.trust, ok.status, ok.cadence, ok.intro_opt_out) == (2, "active", "3m", True)
    assert ok.snoozed_until == "2026-05-01T00:00:00Z"
    reasons = {s.where: s.reason for s in plan.skipped}
    assert reasons == {
        "line 3 (t@x.example)": "trust '7' is not 0, 1, 2 or 3",
        "line 4 (s@x.example)": (
            "status 'friend' is not one of seed, active, dormant, weeded, ignored"
        ),
        "line 5 (c@x.example)": "'often' is not a duration; write it like 14d, 2w, 3m or 1y",
        "line 6 (not)": "'not' is not an email address",
        "line 7 (d@x.example)": "snoozed_until 'next week' is not a date like 2026-05-01",
        "line 8 (o@x.example)": "intro_opt_out 'maybe' is not yes or no",
    }


def test_an_unknown_tier_skips_the_card_with_the_reason() -> None:
    text = "email,name,tier\nok@x.example,Ok,Inner\nv@x.example,V,vip\nn@x.example,N,\n"
    tiers = ("inner", "network", "loose")
    plan = plan_import([], from_csv(text), tiers=tiers)
    assert plan.added == ("n@x.example", "ok@x.example")
    assert {c.email: c.tier for c in plan.contacts} == {
        "ok@x.example": "inner",
        "n@x.example": None,
    }
    assert [(s.where, s.reason) for s in plan.skipped] == [
        ("line 3 (v@x.example)", "'vip' is not a tier (configured: inner, network, loose)")
    ]
    # the same card for a stored contact changes nothing of it
    stored = Contact("v@x.example", tier="loose")
    again = plan_import([stored], from_csv(text), tiers=tiers)
    assert "v@x.example" not in {c.email for c in again.contacts}
    assert plan_import([], from_csv(text)).added == ("n@x.example", "ok@x.example", "v@x.example")


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("", "csv", "the file is empty"),
        ("\ufeff \n", "vcard", "the file is empty"),
        ("BEGIN:VCARD\x00\x01\x02", "vcard", "binary"),
        ("<!DOCTYPE html><html><body>Contacts</body></html>", "vcard", "no BEGIN:VCARD"),
        ("<!DOCTYPE html><html><body>Contacts</body></html>", "csv", "no email column"),
        ("name,phone\nAnna,+46 123\n", "csv", "no email column"),
        ("lorem ipsum dolor sit amet\nconsectetur", "csv", "no email column"),
    ],
)
def test_no_contact_file_at_all_is_a_value_error(text: str, fmt: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as e:
        from_vcard(text) if fmt == "vcard" else from_csv(text)
    assert "\n" not in str(e.value)


# -- the merge -----------------------------------------------------------------------------------

SCANNED = Contact(
    email="anna@north.example",
    name="anna.b",
    tags=("ai",),
    notes="2026-05-01 wants the slides",
    aliases=("anna@old.example",),
    first_seen="2024-02-03T04:05:06Z",
    last_inbound="2026-06-02T06:30:00Z",
    last_outbound="2026-06-15T05:00:00Z",
    messages_in=12,
    messages_out=9,
    last_subject="Re: plans",
    recent_out=("2026-06-15T05:00:00Z",),
    last_logged="2026-06-20T00:00:00Z",
)


def card(*addresses: str, **fields: object) -> ImportedContact:
    return ImportedContact(f"card {addresses[0]}", addresses, **fields)  # type: ignore[arg-type]


def test_merge_by_alias_keeps_the_scan_history() -> None:
    book = card(
        "anna@old.example",
        "anna@home.example",
        name="Anna Berg",
        tags=("berlin", "ai"),
        notes="Met at PyCon",
        trust=2,
    )
    plan = plan_import([SCANNED], [book])
    assert plan.added == () and [u.email for u in plan.updated] == ["anna@north.example"]
    assert plan.updated[0].fields == ("name", "tags", "trust", "notes", "name_fixed", "aliases")
    (anna,) = plan.contacts
    assert anna.aliases == ("anna@old.example", "anna@home.example")
    assert anna.tags == ("ai", "berlin")
    assert anna.notes == "2026-05-01 wants the slides\nMet at PyCon"
    assert (anna.name, anna.name_fixed, anna.trust) == ("Anna Berg", True, 2)
    history = "first_seen last_inbound last_outbound messages_in messages_out last_subject"
    history += " recent_out last_logged status"
    assert [getattr(anna, f) for f in history.split()] == [
        getattr(SCANNED, f) for f in history.split()
    ]
    # the same file again: nothing to do
    again = plan_import([anna], [book])
    assert (again.contacts, again.unchanged) == ((), ("anna@north.example",))


def test_mailers_own_scanned_name_does_not_overwrite() -> None:
    # name_fixed "no": the name came from mail, and the scan keeps it current.
    plan = plan_import([SCANNED], [card("anna@north.example", name="Old Name", name_fixed=False)])
    assert plan.unchanged == ("anna@north.example",)


def test_two_cards_for_one_person_make_one_contact() -> None:
    plan = plan_import(
        [],
        [
            card("a@x.example", tags=("one",), notes="first"),
            card("b@x.example", trust=1),
            card("b@x.example", "a@x.example", tags=("two",), notes="second", trust=3),
        ],
    )
    # the card that shows they are one names b first: b is the address, a an alias
    assert plan.added == ("b@x.example",) and not plan.skipped
    (b,) = plan.contacts
    assert (b.aliases, b.tags, b.trust, b.notes) == (
        ("a@x.example",),
        ("one", "two"),
        3,
        "first\nsecond",
    )


def test_a_card_of_two_stored_contacts_is_skipped() -> None:
    other = Contact(email="anna.work@north.example", messages_in=3)
    both = card("anna@home.example", "anna@old.example", "anna.work@north.example", trust=3)
    plan = plan_import([SCANNED, other], [both])
    assert plan.contacts == ()
    (skip,) = plan.skipped
    assert "anna@north.example and anna.work@north.example" in skip.reason
    assert skip.reason.endswith(MERGE_FIRST)
    assert "merge them first with mailer contacts merge" in plan.summary()


def test_own_address_is_never_a_contact() -> None:
    plan = plan_import([], [card("me@example.org", name="Me")], own=["Me@Example.org"])
    assert plan.contacts == () and "your own address" in plan.skipped[0].reason


def test_notes_are_not_repeated() -> None:
    old = dataclasses.replace(SCANNED, notes="one\ntwo")
    assert plan_import([old], [card("anna@north.example", notes="two")]).unchanged
    longer = plan_import([old], [card("anna@north.example", notes="one\ntwo\nthree")])
    assert longer.contacts[0].notes == "one\ntwo\nthree"  # edited in a spreadsheet: extended


# -- end to end ------------------------------------------------------------------------------


def store_with(tmp: Path, people: list[Contact]) -> tuple[Path, Store]:
    tmp.mkdir(exist_ok=True)
    config = write_config(tmp, None)
    store = Store(tmp / "mailer.json")
    if people:
        store.update_contacts(lambda _: people)
    return config, store


def ok(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, (out.stdout, out.stderr)
    return out.stdout


# -- big address books (issue 11) -------------------------------------------------------------


def test_import_writes_its_contacts_in_one_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TinyDB rewrites its whole table on every insert or update: one call per card made
    # an import of 20,000 take minutes. One read, one update and one insert, whatever
    # the number of cards.
    book = tmp_path / "book.csv"
    book.write_text(address_book(300, "csv"), encoding="utf-8", newline="")
    first = people(300)[0]
    config, store = store_with(tmp_path, [Contact(first.emails[0], messages_in=2)])
    writes: list[int] = []
    write = _MemoryStorage.write

    def counted(self: _MemoryStorage, data: dict[str, dict[str, object]]) -> None:
        writes.append(1)
        write(self, data)

    monkeypatch.setattr(_MemoryStorage, "write", counted)
    plan = addressbook.import_(App(load(str(config))), book, None, dry_run=False)
    assert len(plan.added) > 250 and [u.email for u in plan.updated] == [first.emails[0]]
    assert len(writes) <= 2
    assert len(store.contacts()) == len(plan.added) + 1
