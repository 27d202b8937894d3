"""What a message means (SPEC section 3): one test per rule, then properties.

Headers are written out as text the way a server hands them over; `parse`
turns them into a Parsed for the owner Pat (two addresses).
"""

from __future__ import annotations

import fnmatch
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mailer.core.headers import (
    DEFAULT_IGNORE,
    HEADER_FIELDS,
    Identity,
    decode_words,
    parse_date,
    parse_header_fields,
    parse_message,
)
from mailer.model import Parsed, RawMessage

ME = "pat@example.org"
ALIAS = "Pat.Doe@Example.COM"  # configured in mixed case on purpose
WHO = Identity.from_config([ME, ALIAS])
RECEIVED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)  # INTERNALDATE of most messages
DATE = "Fri, 1 Mar 2024 10:30:00 +0100"  # 09:30 UTC, before RECEIVED
WHEN = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def header(*lines: str, crlf: bool = True) -> bytes:
    eol = "\r\n" if crlf else "\n"
    return (eol.join(lines) + eol + eol).encode()


def parse(
    *lines: str,
    who: Identity = WHO,
    internaldate: datetime | None = RECEIVED,
    crlf: bool = True,
) -> Parsed:
    return parse_message(RawMessage(header(*lines, crlf=crlf), internaldate), who)


def inbound(*extra: str, sender: str = "Ann Lee <ann@example.net>") -> Parsed:
    return parse(f"From: {sender}", f"To: {ME}", f"Date: {DATE}", "Subject: hi", *extra)


def outbound(*recipients: str, **kw: object) -> Parsed:
    return parse(f"From: Pat <{ME}>", *recipients, f"Date: {DATE}", "Subject: hi", **kw)  # type: ignore[arg-type]


def emails(p: Parsed) -> list[str]:
    return [i.email for i in p.interactions]


# --- direction ----------------------------------------------------------------------


def test_inbound_gives_one_interaction_for_the_sender() -> None:
    p = inbound()
    assert p.error is None and p.skipped is None
    (it,) = p.interactions
    assert (it.email, it.name, it.direction, it.when, it.subject) == (
        "ann@example.net",
        "Ann Lee",
        "in",
        WHEN,
        "hi",
    )


def test_outbound_gives_one_interaction_per_recipient() -> None:
    p = outbound("To: Bo <bo@example.net>, cy@example.net")
    assert emails(p) == ["bo@example.net", "cy@example.net"]
    assert {i.direction for i in p.interactions} == {"out"}
    assert [i.name for i in p.interactions] == ["Bo", None]


def test_outbound_counts_to_cc_and_bcc_once_each() -> None:
    p = outbound(
        "To: bo@example.net",
        "Cc: cy@example.net, Bo Bell <BO@example.net>",
        "Bcc: dee@example.net, cy@example.net",
    )
    assert emails(p) == ["bo@example.net", "cy@example.net", "dee@example.net"]
    assert p.interactions[0].name == "Bo Bell"  # a name seen in any field is kept


def test_outbound_from_an_alias_in_other_case_is_outbound() -> None:
    p = parse("From: PAT.DOE@example.com", "To: bo@example.net", f"Date: {DATE}")
    assert [(i.email, i.direction) for i in p.interactions] == [("bo@example.net", "out")]


def test_the_owner_is_never_a_contact() -> None:
    p = outbound(f"To: {ALIAS}, bo@example.net", f"Cc: {ME.upper()}")
    assert emails(p) == ["bo@example.net"]
    assert outbound(f"To: {ME}").skipped == "no recipients"


def test_mail_to_max_recipients_counts_and_one_more_is_mass() -> None:
    who = Identity.from_config([ME], max_recipients=3)
    three = "To: a@x.org, b@x.org, " + ME + ", c@x.org"  # the owner does not count
    assert len(outbound(three, who=who).interactions) == 3
    four = outbound(three, "Cc: d@x.org", who=who)
    # counted for no one: only hints ("group") that a personal note must not follow at once
    assert four.skipped == "mass"
    assert {(i.email, i.direction) for i in four.interactions} == {
        (e, "group") for e in ("a@x.org", "b@x.org", "c@x.org", "d@x.org")
    }
    # Ignored addresses are still people the message went to.
    assert outbound(three, "Bcc: noreply@x.org", who=who).skipped == "mass"


def test_default_max_recipients_is_20() -> None:
    to = "To: " + ", ".join(f"p{i}@x.org" for i in range(20))
    assert len(outbound(to).interactions) == 20
    assert outbound(to + ", p20@x.org").skipped == "mass"


# --- automated mail and ignore patterns ----------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        "List-Id: Team list <team.lists.example.net>",
        "List-Unsubscribe: <mailto:leave@example.net>",
        "Precedence: bulk",
        "Precedence: List",
        "precedence: junk",
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated (vacation)",
    ],
)
def test_automated_mail_is_skipped(field: str) -> None:
    p = inbound(field)
    assert (p.skipped, p.interactions, p.error) == ("automated", (), None)
    assert outbound("To: bo@example.net", field).skipped == "automated"


@pytest.mark.parametrize("field", ["Auto-Submitted: no", "Precedence: first-class"])
def test_headers_that_say_a_person_wrote_it_are_not_automated(field: str) -> None:
    assert len(inbound(field).interactions) == 1


@pytest.mark.parametrize(
    "sender",
    [
        "noreply@github.com",
        "GitHub <NoReply@github.com>",
        "no-reply@accounts.example.com",
        "do-not-reply@bank.example",
        "donotreply@shop.example",
        "MAILER-DAEMON@mx.example.com",
        "postmaster@example.net",
        "bounces+123@mail.example.com",
        "list-bounces@lists.example.org",
        "x@bounces.example.com",
        "notifications@github.com",
    ],
)
def test_default_ignore_patterns(sender: str) -> None:
    assert inbound(sender=sender).skipped == "ignored"


def test_configured_ignore_patterns_add_to_the_defaults() -> None:
    who = Identity.from_config(
        [ME], ignore_patterns=["alerts@example.com", "@corp.example", "*-robot@*"]
    )
    assert who.ignores("ALERTS@example.com")
    assert not who.ignores("alerts2@example.com")
    assert who.ignores("a@corp.example") and who.ignores("a@mail.corp.example")  # subdomains
    assert not who.ignores("a@notcorp.example")
    assert who.ignores("build-robot@ci.example.net")
    assert who.ignores("noreply@example.com")  # defaults kept
    p = parse("From: a@mail.corp.example", f"To: {ME}", f"Date: {DATE}", who=who)
    assert p.skipped == "ignored"


def test_ignore_given_to_the_constructor_replaces_the_defaults() -> None:
    who = Identity(frozenset([ME]), ignore=("example.net",))
    assert who.ignores("ann@example.net") and not who.ignores("noreply@github.com")
    assert Identity(frozenset([ME])).ignore == DEFAULT_IGNORE


def test_ignored_recipients_are_left_out_of_outbound_mail() -> None:
    p = outbound("To: bo@example.net, noreply@example.com")
    assert emails(p) == ["bo@example.net"]
    assert outbound("To: noreply@example.com").skipped == "ignored"


# --- dates --------------------------------------------------------------------------


def test_date_header_is_converted_to_utc() -> None:
    p = parse("From: a@x.org", "Date: Tue, 1 Jul 2003 23:52:37 -0700 (PDT)", internaldate=None)
    assert p.interactions[0].when == datetime(2003, 7, 2, 6, 52, 37, tzinfo=UTC)


def test_missing_date_uses_internaldate_in_utc() -> None:
    server = datetime(2024, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    p = parse("From: a@x.org", internaldate=server)
    assert p.interactions[0].when == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert p.interactions[0].when.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "Fri, 31 Feb 2024 10:00:00 +0000",
        "1 Jan 1960 00:00:00 +0000",
        "1 Jan 2150 1:00",
    ],
)
def test_unusable_date_uses_internaldate(value: str) -> None:
    assert parse("From: a@x.org", f"Date: {value}").interactions[0].when == RECEIVED


def test_date_more_than_a_day_after_internaldate_uses_internaldate() -> None:
    late = "Sat, 2 Mar 2024 12:00:01 +0000"  # one day and one second after RECEIVED
    assert parse("From: a@x.org", f"Date: {late}").interactions[0].when == RECEIVED
    in_time = "Sat, 2 Mar 2024 12:00:00 +0000"  # exactly one day after: believed
    when = parse("From: a@x.org", f"Date: {in_time}").interactions[0].when
    assert when == datetime(2024, 3, 2, 12, 0, tzinfo=UTC)


def test_date_long_before_internaldate_is_believed() -> None:
    p = parse("From: a@x.org", "Date: Mon, 1 Jan 2001 00:00:00 +0000")
    assert p.interactions[0].when == datetime(2001, 1, 1, tzinfo=UTC)


def test_date_without_zone_is_utc() -> None:
    for value in ("Fri, 1 Mar 2024 10:30:00", "1 Mar 2024 10:30:00 -0000", "1 Mar 24 10:30 GMT"):
        p = parse("From: a@x.org", f"Date: {value}", internaldate=None)
        assert p.interactions[0].when == datetime(2024, 3, 1, 10, 30, tzinfo=UTC), value


def test_naive_internaldate_counts_as_utc() -> None:
    p = parse("From: a@x.org", internaldate=datetime(2024, 3, 1, 12, 0))
    assert p.interactions[0].when == RECEIVED


def test_no_usable_date_at_all_is_an_error() -> None:
    p = parse("From: a@x.org", "Date: never", internaldate=None)
    assert (p.error, p.interactions) == ("no usable date", ())
    assert parse(f"From: {ME}", "To: a@x.org", internaldate=None).error == "no usable date"


def test_parse_date_handles_named_zones_and_odd_forms() -> None:
    assert parse_date("Wed, 21 Nov 2001 09:09:09 EST") == datetime(
        2001, 11, 21, 14, 9, 9, tzinfo=UTC
    )
    assert parse_date("  Mon,  9 Jul 2001 1:02:03 +0530\r") == datetime(
        2001, 7, 8, 19, 32, 3, tzinfo=UTC
    )
    assert parse_date("31 Dec 2016 23:59:60 +0000") == datetime(
        2016, 12, 31, 23, 59, 59, tzinfo=UTC
    )
    for bad in ("", "Sat, 99 Jul 2003 99:99:99 +9999", "1 Jul 2003 10:00:00 +2400", "١ Jul ٢٠٠٣"):
        assert parse_date(bad) is None, bad


# --- names, addresses, encodings -------------------------------------------------------


def name_of(sender: str) -> str | None:
    return inbound(sender=sender).interactions[0].name


def test_encoded_word_names_in_utf8_and_latin1() -> None:
    assert name_of("=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <j@x.de>") == "Jürgen Müller"
    assert name_of("=?iso-8859-1?Q?J=F8rgen?= Thomsen <list@jth.net>") == "Jørgen Thomsen"
    quoted = '"=?utf-8?b?0JDQu9C10LrRgdCw0L3QtNGA?=" <a@x.ru>'  # quoted, though it should not be
    assert name_of(quoted) == "Александр"


def test_q_encoded_subject_is_decoded_and_collapsed() -> None:
    p = parse(
        "From: a@x.org",
        "Subject: =?utf-8?q?Die_hei=C3=9Fe?=\r\n =?utf-8?q?_Sonne?=   and\tmore",
        f"Date: {DATE}",
    )
    assert p.interactions[0].subject == "Die heiße Sonne and more"


def test_long_subject_is_cut_to_200_characters() -> None:
    subject = " ".join(["word"] * 20000)  # 100 KB
    p = parse("From: a@x.org", f"Subject: {subject}", f"Date: {DATE}")
    s = p.interactions[0].subject
    assert s is not None and len(s) <= 200 and s.startswith("word word")


def test_quoted_names_with_commas() -> None:
    p = outbound('To: "Doe, Jane" <j@x.org>, "Roe, R." <r@x.org>')
    assert [(i.email, i.name) for i in p.interactions] == [
        ("j@x.org", "Doe, Jane"),
        ("r@x.org", "Roe, R."),
    ]


def test_groups_and_comments() -> None:
    assert outbound("To: undisclosed-recipients:;").skipped == "no recipients"
    p = outbound("To: Team: a@x.org, Bo <b@x.org>;, c@x.org (Cy Young)")
    assert [(i.email, i.name) for i in p.interactions] == [
        ("a@x.org", None),
        ("b@x.org", "Bo"),
        ("c@x.org", "Cy Young"),
    ]


@pytest.mark.parametrize(
    "sender",
    [
        "=?utf-8?q?x:anna@a.example;?= <eve@evil.example>",  # a group, split as it stands
        "=?utf-8?q?anna@a.example,?= <eve@evil.example>",  # two addresses, split as it stands
        '"=?utf-8?q?x:anna@a.example;?=" <eve@evil.example>',
        "=?utf-8?b?eDphbm5hQGEuZXhhbXBsZTs=?= <eve@evil.example>",  # the same, base64
    ],
)
def test_encoded_words_are_decoded_after_the_address_list_is_split(sender: str) -> None:
    # What mail clients and Python's own parser show: mail from eve, named with anna's address.
    p = inbound(sender=sender)
    assert [(i.email, i.name) for i in p.interactions] == [("eve@evil.example", _named(sender))]
    assert emails(outbound(f"To: {sender}, bo@x.org")) == ["eve@evil.example", "bo@x.org"]


def _named(sender: str) -> str:
    return "anna@a.example," if "," in sender else "x:anna@a.example;"


def test_escape_sequences_and_bidi_overrides_never_reach_names_or_subjects() -> None:
    # OSC 8 (a link hidden behind "Anna"), clear screen, colour, RLO, an isolate; raw and encoded
    link = "=?utf-8?q?=1B]8;;https://evil.example/=1B=5CAnna=1B]8;;=1B=5C?="
    p = parse(
        f"From: {link} Berg\u202e <anna@a.example>",
        f"To: {ME}",
        f"Date: {DATE}",
        "Subject: Invoice\x1b[2J\x1b[31m =?utf-8?q?gpj.=E2=80=AEexe_=E2=81=A6x=E2=81=A9?=",
    )
    (it,) = p.interactions
    assert (it.name, it.subject) == ("Anna Berg", "Invoice gpj.exe x")
    # Ordinary Unicode stays as it is: accents, scripts, emoji (with their joiners).
    zoe = inbound(
        sender="=?utf-8?q?Zo=C3=AB_=E6=9D=B1=E4=BA=AC_=F0=9F=91=A9=E2=80=8D=F0=9F=92=BB?= <z@x.org>"
    )
    assert zoe.interactions[0].name == "Zoë 東京 👩\u200d💻"


def test_names_are_cleaned_and_dropped_when_they_say_nothing() -> None:
    assert name_of("\"'Colm  Buckley'\" <colm@x.ie>") == "Colm Buckley"
    assert name_of('"ann@example.net" <Ann@Example.NET>') is None
    assert name_of('"" <ann@example.net>') is None
    assert name_of("<ann@example.net>") is None
    assert name_of("alice@example.com <bob@example.com>") == "alice@example.com"


def test_addresses_are_lower_case() -> None:
    p = inbound(sender="Ann <Ann.Lee@Example.NET>")
    assert p.interactions[0].email == "ann.lee@example.net"


@pytest.mark.parametrize("junk", ["no address here", "@example.net", "ann@", "a b@x.org", ""])
def test_things_that_are_not_addresses_are_skipped(junk: str) -> None:
    assert inbound(sender=junk).error == "no From"
    assert emails(outbound(f"To: {junk}, bo@x.org")) == ["bo@x.org"]


def test_odd_but_real_addresses_are_kept() -> None:
    assert emails(outbound("To: s..bradford@enron.com, legal <.taylor@enron.com>")) == [
        "s..bradford@enron.com",
        ".taylor@enron.com",
    ]
    assert emails(outbound("To: 'pat.odonnell@ubsw.com', o'brien@x.ie")) == [
        "pat.odonnell@ubsw.com",
        "o'brien@x.ie",
    ]


def test_missing_from_is_an_error() -> None:
    p = parse(f"To: {ME}", f"Date: {DATE}")
    assert (p.error, p.interactions) == ("no From", ())


def test_eight_bit_headers_decode_as_utf8_or_latin1() -> None:
    raw = (
        b"From: \xd0\x90\xd0\xbd\xd1\x8f <anya@x.ru>\r\nSubject: caf\xe9\r\nDate: " + DATE.encode()
    )
    p = parse_message(RawMessage(raw + b"\r\n\r\n", RECEIVED), WHO)
    assert (p.interactions[0].name, p.interactions[0].subject) == ("Аня", "café")


def test_lf_crlf_mbox_from_line_and_body_are_all_handled() -> None:
    crlf = parse("From: a@x.org", f"Date: {DATE}", "Message-ID: <1@x>")
    lf = parse("From: a@x.org", f"Date: {DATE}", "Message-ID: <1@x>", crlf=False)
    mbox = parse("From a@x.org Fri Mar  1 09:30:00 2024", "From: a@x.org", f"Date: {DATE}")
    assert crlf == lf
    assert emails(mbox) == ["a@x.org"]
    # The first occurrence wins, and a "From:" line in the body is not a header.
    raw = header("From: a@x.org", "From: b@x.org", f"Date: {DATE}") + b"From: c@x.org\r\n"
    assert emails(parse_message(RawMessage(raw, RECEIVED), WHO)) == ["a@x.org"]


def test_folded_address_lists() -> None:
    p = outbound("To: a@x.org,\r\n\tBo\r\n <b@x.org>,\r\n c@x.org")
    assert [(i.email, i.name) for i in p.interactions] == [
        ("a@x.org", None),
        ("b@x.org", "Bo"),
        ("c@x.org", None),
    ]


# --- keys ---------------------------------------------------------------------------


def test_same_message_id_same_key_whatever_else_differs() -> None:
    a = parse("From: a@x.org", "Message-ID: <abc@x.org>", f"Date: {DATE}")
    b = parse(
        "Subject: another copy", "From: a@x.org", "Message-Id:  abc@x.org ", internaldate=None
    )
    c = parse("From: a@x.org", "Message-ID: <abd@x.org>", f"Date: {DATE}")
    assert a.key == b.key != c.key
    assert re.fullmatch(r"[0-9a-f]{16}", a.key)


def test_key_without_message_id_is_stable_and_tells_messages_apart() -> None:
    lines = ("From: a@x.org", "To: b@x.org", f"Date: {DATE}", "Subject: plans")
    refolded = ("From: a@x.org", "To:\r\n b@x.org", f"Date: {DATE}", "Subject:  plans")
    assert parse(*lines).key == parse(*lines, crlf=False).key == parse(*refolded).key
    assert parse(*lines).key != parse(*lines[:3], "Subject: other plans").key
    # No identifying field at all: the bytes still tell two messages apart.
    assert parse("X-A: 1").key != parse("X-A: 2").key


# --- helpers ------------------------------------------------------------------------


def test_header_fields_to_fetch() -> None:
    wanted = {"from", "to", "cc", "bcc", "date", "subject", "message-id"}
    wanted |= {"list-id", "list-unsubscribe", "precedence", "auto-submitted"}
    assert {f.lower() for f in HEADER_FIELDS} == wanted


def test_parse_header_fields() -> None:
    fields = parse_header_fields(
        b"From x Fri Mar 1 2024\nFrom: a@x.org\nX-Thing: one\n two\nX-THING: 3\n\nBody: no"
    )
    assert fields == {"from": "a@x.org", "x-thing": "one two"}


def test_decode_words() -> None:
    assert decode_words("=?utf-8?q?a?= =?utf-8?q?b?= c =?utf-8?q?d?=") == "ab c d"
    assert decode_words("=?x-unknown?q?caf=C3=A9?=") == "café"
    assert decode_words("=?utf-8?b?!!!?=") == "=?utf-8?b?!!!?="  # bad base64 stays as it was
    assert decode_words("=?gb2312?B?ztKw0Q==?=") == "我把"


# --- properties -------------------------------------------------------------------

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TRICKY = st.sampled_from(
    ["\r", "\n", "\r\n", "\r\n ", "\x00", "=?", "?=", "=?utf-8?q?", "=?x?b?", '"', "'", "<", ">",
     "@", ",", ":", ";", "(", ")", "\\", " ", "\t", "é", "Ж", "😀", "\ufffd", ME, ALIAS.upper(),
     "noreply@x.org", "a@b.c", "Mon, 1 Jan 2001 00:00:00 +0000"]
)  # fmt: skip
VALUES = st.lists(st.one_of(TRICKY, st.text(max_size=12)), max_size=12).map("".join)
NAMES = st.sampled_from(
    ["From", "from", "To", "CC", "Bcc", "Date", "Subject", "Message-ID", "List-Id",
     "Precedence", "Auto-Submitted", "X-Other", "From ", ""]
)  # fmt: skip
INTERNALDATES = st.one_of(
    st.none(),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=st.just(timezone(timedelta(hours=-11)))),
    st.datetimes(),  # naive
)


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check(p: Parsed, who: Identity = WHO) -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", p.key)
    assert p.error is None or not p.error.startswith("parse failed"), p.error
    assert not (p.interactions and (p.error or p.skipped))
    for it in p.interactions:
        assert it.email == it.email.lower() and "@" in it.email
        assert it.email not in who.addresses
        assert not who.ignores(it.email)
        assert it.when.tzinfo is UTC
        for text in (it.name, it.subject):
            assert text is None or (0 < len(text) <= 200 and text == text.strip())
            assert text is None or not CONTROL.search(text)


@PROPERTY
@given(data=st.binary(max_size=600), internaldate=INTERNALDATES)
def test_any_bytes_never_raise(data: bytes, internaldate: datetime | None) -> None:
    check(parse_message(RawMessage(data, internaldate), WHO))


@PROPERTY
@given(
    fields=st.lists(st.tuples(NAMES, VALUES), max_size=10),
    internaldate=INTERNALDATES,
    encoding=st.sampled_from(["utf-8", "latin-1", "utf-16-le"]),
    eol=st.sampled_from(["\r\n", "\n"]),
)
def test_any_header_fields_never_raise(
    fields: list[tuple[str, str]], internaldate: datetime | None, encoding: str, eol: str
) -> None:
    text = eol.join(f"{name}:{value}" for name, value in fields) + eol + eol
    data = text.encode(encoding, "replace")
    check(parse_message(RawMessage(data, internaldate), WHO))
    assert parse_message(RawMessage(data, internaldate), WHO).key == (
        parse_message(RawMessage(data, internaldate), Identity.from_config([ME])).key
    )


@PROPERTY
@given(
    sender=VALUES,
    recipients=st.lists(VALUES, max_size=25),
    date=st.one_of(VALUES, st.datetimes(timezones=st.just(UTC)).map(lambda d: d.strftime(
        "%a, %d %b %Y %H:%M:%S %z"))),
    owner_sends=st.booleans(),
)  # fmt: skip
def test_well_shaped_messages_with_wild_values(
    sender: str, recipients: list[str], date: str, owner_sends: bool
) -> None:
    # else the "stranger" is the owner (either address: ALIAS.upper() is one of the values)
    assume(owner_sends or not any(a in sender.lower() for a in WHO.addresses))
    lines = [f"From: {ME if owner_sends else sender}", "To: " + ", ".join(recipients)]
    p = parse(*lines, f"Date: {date}", f"Subject: {sender}")
    check(p)
    if p.interactions:
        assert {i.direction for i in p.interactions} == {"out" if owner_sends else "in"}


@PROPERTY
@given(value=st.one_of(VALUES, st.text()))
def test_parse_date_never_raises_and_is_utc(value: str) -> None:
    when = parse_date(value)
    assert when is None or (when.tzinfo is UTC and 1969 <= when.year <= 2101)


GLOB_PART = st.text(alphabet="ab.-*?", min_size=1, max_size=5)
ADDRESS_PART = st.text(alphabet="ab.-", min_size=1, max_size=6)


@PROPERTY
@given(
    patterns=st.lists(
        st.one_of(
            st.tuples(GLOB_PART, GLOB_PART).map("@".join),
            GLOB_PART.map(lambda p: "*" + p),
            st.sampled_from(DEFAULT_IGNORE),
        ),
        min_size=1,
        max_size=6,
    ),
    address=st.tuples(ADDRESS_PART, ADDRESS_PART).map("@".join),
)
def test_glob_patterns_match_as_fnmatch_does(patterns: list[str], address: str) -> None:
    globs = [p for p in patterns if any(c in p for c in "*?")]
    who = Identity(frozenset([ME]), ignore=tuple(globs))
    assert who.ignores(address) == any(fnmatch.fnmatchcase(address, p) for p in globs)
