"""mailer.core.commands: who may command mailer by email, and what a command line says.

The refusals matter as much as the commands: the command address can be
mailed by anyone, so every way of looking like the owner without being the
owner is in the table below.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.core.commands import (
    VERBS,
    Command,
    LineResult,
    auth_passes,
    authenticate,
    is_command_mail,
    judge,
    parse_commands,
    parse_line,
)
from mailer.core.mailtext import read_mail
from mailer.model import Contact

OWNER = "pat.doe@example.org"
COMMAND = "pat.doe+mailer-k3x9q2@example.org"
MX_PASS = "mx.example.org; dkim=pass (2048-bit key) header.d=example.org header.s=s1 header.b=AbC"


def raw(*headers: str, body: str = "done anna@x.org\n") -> bytes:
    lines = [*headers, "Subject: hi", "Date: Wed, 4 Mar 2026 10:00:00 +0100"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


# (id, raw mail, require_dkim, accepted, reason fragment)
CASES = [
    ("to", raw(f"From: Pat Doe <{OWNER}>", f"To: {COMMAND}"), False, True, "from " + OWNER),
    ("cc", raw(f"From: {OWNER}", "To: anna@x.org", f"Cc: {COMMAND}"), False, True, ""),
    ("bcc", raw(f"From: {OWNER}", "To: anna@x.org", f"Bcc: {COMMAND}"), False, True, ""),
    (
        "delivered-to",
        raw(f"From: {OWNER}", "To: anna@x.org", f"Delivered-To: {COMMAND}"),
        False,
        True,
        "",
    ),
    (
        "x-original-to",
        raw(f"From: {OWNER}", "To: anna@x.org", f"X-Original-To: <{COMMAND}>"),
        False,
        True,
        "",
    ),
    (
        "case-insensitive",
        raw(f"From: Pat <{OWNER.upper()}>", f"To: <{COMMAND.upper()}>"),
        False,
        True,
        "",
    ),
    (
        "dkim-pass",
        raw(f"Authentication-Results: {MX_PASS}", f"From: {OWNER}", f"To: {COMMAND}"),
        True,
        True,
        "DKIM/SPF pass",
    ),
    (
        "spf-pass",
        raw(
            f"Authentication-Results: mx.example.org; dkim=none; spf=pass smtp.mailfrom={OWNER}",
            f"From: {OWNER}",
            f"To: {COMMAND}",
        ),
        True,
        True,
        "",
    ),
    (
        "dkim-header-i",
        raw(
            "Authentication-Results: mx.example.org; dkim=pass header.i=@example.org",
            f"From: {OWNER}",
            f"To: {COMMAND}",
        ),
        True,
        True,
        "",
    ),
    (
        "initial-in-unquoted-name",
        raw(f"From: Pat D. Doe <{OWNER}>", f"To: {COMMAND}"),
        False,
        True,
        "",
    ),
    ("utf8-name", raw(f"From: Zoë Doe <{OWNER}>", f"To: {COMMAND}"), False, True, ""),
    # --- refusals ---
    (
        "stranger",
        raw("From: Mallory <mallory@evil.org>", f"To: {COMMAND}"),
        False,
        False,
        "sender not allowed: mallory@evil.org",
    ),
    (
        "look-alike-domain",
        raw("From: Pat Doe <pat.doe@examp1e.org>", f"To: {COMMAND}"),
        False,
        False,
        "sender not allowed: pat.doe@examp1e.org",
    ),
    (
        "owner-address-as-display-name",
        raw(f"From: {OWNER} <evil@x.org>", f"To: {COMMAND}"),
        False,
        False,
        "From header",
    ),
    (
        "owner-address-as-quoted-display-name",
        raw(f'From: "{OWNER}" <evil@x.org>', f"To: {COMMAND}"),
        False,
        False,
        "sender not allowed: evil@x.org",
    ),
    (
        "owner-address-in-comment",
        raw(f"From: evil@x.org ({OWNER})", f"To: {COMMAND}"),
        False,
        False,
        "sender not allowed: evil@x.org",
    ),
    (
        "quoted-local-part",
        raw(f'From: "{OWNER}"@evil.org', f"To: {COMMAND}"),
        False,
        False,
        "sender not allowed",
    ),
    (
        "trailing-domain-after-brackets",
        raw(f"From: Pat <{OWNER}>@evil.org", f"To: {COMMAND}"),
        False,
        False,
        "From header",
    ),
    (
        "wrong-tag",
        raw(f"From: {OWNER}", "To: pat.doe+mailer-aaaaaa@example.org"),
        False,
        False,
        "not addressed to the command address",
    ),
    (
        "no-tag",
        raw(f"From: {OWNER}", f"To: {OWNER}"),
        False,
        False,
        "not addressed to the command address",
    ),
    (
        "tag-as-display-name",
        raw(f"From: {OWNER}", f'To: "{COMMAND}" <{OWNER}>'),
        False,
        False,
        "not addressed to the command address",
    ),
    (
        "two-from-addresses",
        raw(f"From: {OWNER}, evil@x.org", f"To: {COMMAND}"),
        False,
        False,
        "more than one From address",
    ),
    (
        "two-from-headers",
        raw(f"From: {OWNER}", "From: evil@x.org", f"To: {COMMAND}"),
        False,
        False,
        "2 From headers",
    ),
    ("no-from", raw(f"To: {COMMAND}"), False, False, "no From address"),
    (
        "dkim-fail",
        raw(
            "Authentication-Results: mx.example.org; dkim=fail header.d=example.org; spf=softfail",
            f"From: {OWNER}",
            f"To: {COMMAND}",
        ),
        True,
        False,
        "DKIM/SPF did not pass for example.org",
    ),
    (
        "dkim-missing",
        raw(f"From: {OWNER}", f"To: {COMMAND}"),
        True,
        False,
        "no Authentication-Results header",
    ),
    (
        "dkim-pass-for-another-domain",
        raw(
            "Authentication-Results: mx.example.org; dkim=pass header.d=evil.org; "
            "spf=pass smtp.mailfrom=bounce@evil.org",
            f"From: {OWNER}",
            f"To: {COMMAND}",
        ),
        True,
        False,
        "DKIM/SPF did not pass",
    ),
    (
        "dkim-pass-for-a-parent-domain",
        raw(
            "Authentication-Results: mx.example.org; dkim=pass header.d=org",
            f"From: {OWNER}",
            f"To: {COMMAND}",
        ),
        True,
        False,
        "DKIM/SPF did not pass",
    ),
    (
        "forged-pass-below-the-servers-fail",
        raw(
            "Authentication-Results: mx.example.org; dkim=fail header.d=example.org",
            f"Authentication-Results: {MX_PASS}",
            f"From: {OWNER}",
            f"To: {COMMAND}",
        ),
        True,
        False,
        "DKIM/SPF did not pass",
    ),
    (
        "pass-in-a-comment-only",
        raw(
            "Authentication-Results: mx.example.org; dkim=fail (dkim=pass header.d=example.org)",
            f"From: {OWNER}",
            f"To: {COMMAND}",
        ),
        True,
        False,
        "DKIM/SPF did not pass",
    ),
]


@pytest.mark.parametrize(
    ("mail", "require_dkim", "accepted", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_detection_and_authentication(
    mail: bytes, require_dkim: bool, accepted: bool, reason: str
) -> None:
    info = read_mail(mail)
    verdict = judge(info, COMMAND, [OWNER], require_dkim)
    assert verdict.accepted is accepted, verdict.reason
    assert reason in verdict.reason


def test_detection_alone() -> None:
    info = read_mail(raw(f"From: {OWNER}", f"To: {COMMAND}"))
    assert is_command_mail(info, f"  {COMMAND.upper()} ")
    assert not is_command_mail(info, "")
    assert not is_command_mail(info, "pat.doe+mailer@example.org")


def test_allowed_senders_are_compared_case_insensitively() -> None:
    info = read_mail(raw(f"From: {OWNER}", f"To: {COMMAND}"))
    assert authenticate(info, [" Pat.Doe@Example.ORG "], False).accepted
    assert not authenticate(info, [], False).accepted


def test_authserv_id_picks_the_receiving_servers_header() -> None:
    forged = "evil.org; dkim=pass header.d=example.org"
    servers = "mx.example.org; dkim=fail header.d=example.org"
    # The forged header on top (the server added none of its own) passes only without an id.
    assert auth_passes([forged, servers], "example.org")
    assert not auth_passes([forged, servers], "example.org", authserv_id="mx.example.org")
    assert auth_passes([forged, MX_PASS], "example.org", authserv_id="MX.example.org")


# --- the grammar ------------------------------------------------------------------

CONTACTS = [
    Contact(email="anna@x.org", name="Anna Berg"),
    Contact(email="anna.lind@y.org", name="Anna Lind"),
    Contact(email="jose@x.es", name="José García López"),
    Contact(email="zoe@x.de", name="Zoë Müller"),
    Contact(email="bob@x.org", name="Bob Stone"),
    Contact(email="nameless@x.org"),
]


@pytest.mark.parametrize(
    ("line", "verb", "who", "args"),
    [
        ("log anna@x.org met at the conference", "log", "anna@x.org", ("met at the conference",)),
        ("log Anna Berg met at the conference", "log", "anna@x.org", ("met at the conference",)),
        ("log bob", "log", "bob@x.org", ("",)),
        ("note José García López likes jazz", "note", "jose@x.es", ("likes jazz",)),
        ("note josé garcía likes jazz", "note", "jose@x.es", ("likes jazz",)),
        ("note <zoe@x.de> moved to Lyon", "note", "zoe@x.de", ("moved to Lyon",)),
        ("snooze Zoë 2w", "snooze", "zoe@x.de", ("2w",)),
        ("Snooze anna berg 3m.", "snooze", "anna@x.org", ("3m",)),
        ("snooze zoe@x.de 1y 2m", "snooze", "zoe@x.de", ("1y 2m",)),
        ("snooze bob 14d", "snooze", "bob@x.org", ("14d",)),
        ("done Bob", "done", "bob@x.org", ()),
        ("DONE anna lind.", "done", "anna.lind@y.org", ()),
        ("done nameless@x.org", "done", "nameless@x.org", ()),
        ("done zoe muller", "done", "zoe@x.de", ()),  # typed without accents
        ("note Jose Garcia was promoted", "note", "jose@x.es", ("was promoted",)),
        ("tier anna@x.org Inner", "tier", "anna@x.org", ("inner",)),
        ("tier Anna Lind loose", "tier", "anna.lind@y.org", ("loose",)),
        (
            "tag anna@x.org investor, climate tech",
            "tag",
            "anna@x.org",
            ("climate", "investor", "tech"),
        ),
        ("tag zoë müller #Lyon,design", "tag", "zoe@x.de", ("design", "lyon")),
        ("trust bob 3", "trust", "bob@x.org", ("3",)),
        ("trust anna berg 0", "trust", "anna@x.org", ("0",)),
        ("weed bob stone", "weed", "bob@x.org", ()),
        ("ignore <bob@x.org>", "ignore", "bob@x.org", ()),
        ("ignore bob@x.org<mailto:bob@x.org>", "ignore", "bob@x.org", ()),
        ("intro yes anna lind", "intro", "anna.lind@y.org", ("yes",)),
        ("intro NO anna@x.org", "intro", "anna@x.org", ("no",)),
    ],
)
def test_every_verb(line: str, verb: str, who: str, args: tuple[str, ...]) -> None:
    assert parse_line(line, CONTACTS) == LineResult(
        line=line, command=Command(verb, who, args, line), error=None
    )


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("note anna likes jazz", "'anna' is ambiguous: Anna Berg <anna@x.org>, Anna Lind"),
        ("done anna", "ambiguous"),
        ("done carol@x.org", "no contact 'carol@x.org'"),
        ("log carol@x.org met her", "no contact 'carol@x.org'"),
        ("log Carol met at the conference", "no contact named 'Carol'"),
        ("done ob", "no contact"),  # "ob" is inside "Bob Stone", but starts no word of it
        ("snooze bob 2x", "'2x' is not a duration"),
        ("snooze bob soon", "is not a duration"),
        ("snooze bob", "too short"),
        ("note bob", "too short"),
        ("log", "too short"),
        ("trust bob 5", "trust is 0, 1, 2 or 3"),
        ("trust bob high", "trust is 0, 1, 2 or 3"),
        ("tier bob inner circle", "not a tier"),
        ("tag bob , ,", "no tags"),
        ("intro maybe bob", "intro yes|no <who>"),
        ("intro yes", "who?"),
        ("done", "who?"),
        ("done bob@x.org please", "unexpected 'please'"),
        ("weed", "who?"),
    ],
)
def test_malformed_commands_are_errors(line: str, error: str) -> None:
    result = parse_line(line, CONTACTS)
    assert result is not None
    assert result.command is None
    assert result.error is not None and error in result.error
    assert result.error.startswith(line.split()[0].lower() + ":")


def test_mail_names_people_as_the_cli_does() -> None:
    """One resolver: first names and addresses before the @, accents aside; a miss
    suggests the closest; a part of a name must still start a word of it."""
    people = [*CONTACTS, Contact(email="kw@w.example")]
    said = {
        line: (r.command.who if r.command else r.error)
        for line in ("done jose", "log zoe lunch", "done kw", "log jsoe lunch", "done jsoe")
        if (r := parse_line(line, people)) is not None
    }
    assert said == {
        "done jose": "jose@x.es",
        "log zoe lunch": "zoe@x.de",
        "done kw": "kw@w.example",
        "log jsoe lunch": "log: no contact named 'jsoe' (nor a longer name starting with it)"
        " (did you mean José García López <jose@x.es>?)",
        "done jsoe": "done: no contact 'jsoe' (did you mean José García López <jose@x.es>?)",
    }


@pytest.mark.parametrize(
    "line",
    [
        "",
        "Hi mailer,",
        "Thanks!",
        "Logging off now",
        "Note: I'm away next week",
        "please snooze anna@x.org 2w",
        "> done bob@x.org",
        "   ",
    ],
)
def test_chatter_is_ignored(line: str) -> None:
    assert parse_line(line, CONTACTS) is None


def test_subject_and_body() -> None:
    text = "Hi,\n\ndone bob\nThanks!\nsnooze zoe 2x\n> done anna@x.org\n-- \ndone zoe@x.de\n"
    results = parse_commands("snooze anna@x.org 2w", text, CONTACTS)
    assert [(r.command.verb, r.command.who) if r.command else r.error for r in results] == [
        ("snooze", "anna@x.org"),
        ("done", "bob@x.org"),
        "snooze: '2x' is not a duration; write it like 14d, 2w, 3m or 1y",
    ]


@pytest.mark.parametrize(
    "subject",
    [
        "Re: [mailer] digest",
        "RE: snooze anna@x.org 2w",
        "Fwd: done bob",
        "FW: done bob",
        "AW: done bob",
        "Re[2]: done bob",
        "[mailer] digest",
        "",
    ],
)
def test_reply_and_forward_subjects_are_not_commands(subject: str) -> None:
    assert parse_commands(subject, "", CONTACTS) == []


def test_a_gmail_reply_applies_only_the_new_lines() -> None:
    body = (
        "snooze Zoë 2w\nlog José García met at the conference\n\n"
        f"On Tue, 3 Mar 2026 at 09:15, mailer <{COMMAND}> wrote:\n\n"
        "> Due today:\n> done bob@x.org\n"
    )
    info = read_mail(raw(f"From: {OWNER}", f"To: {COMMAND}", body=body))
    results = parse_commands("Re: [mailer] digest", info.new_text, CONTACTS)
    assert [r.command for r in results] == [
        Command("snooze", "zoe@x.de", ("2w",), "snooze Zoë 2w"),
        Command(
            "log",
            "jose@x.es",
            ("met at the conference",),
            "log José García met at the conference",
        ),
    ]


# --- nothing unexpected is ever applied ----------------------------------------------

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20
)
contacts_strategy = st.lists(
    st.builds(
        Contact,
        email=st.from_regex(r"[a-z]{1,6}(\.[a-z]{1,4})?@[a-z]{1,5}\.(org|de)", fullmatch=True),
        name=st.one_of(st.none(), names, st.sampled_from(["Anna Berg", "Anna Lind", "Zoë"])),
    ),
    max_size=8,
)
word = st.one_of(
    st.sampled_from(
        ["anna", "Anna", "berg", "zoë", "2w", "3", "yes", "no", "inner", ",", "x@y.org", "."]
    ),
    st.text(max_size=8),
)
command_line = st.builds(
    lambda verb, words: " ".join([verb, *words]),
    st.sampled_from([*VERBS, "LOG", "Snooze", "intro"]),
    st.lists(word, max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(
    subject=st.one_of(st.text(max_size=80), command_line),
    lines=st.lists(st.one_of(st.text(max_size=80), command_line), max_size=8),
    contacts=contacts_strategy,
)
def test_parse_commands_never_raises_and_applies_only_known_people(
    subject: str, lines: list[str], contacts: list[Contact]
) -> None:
    results = parse_commands(subject, "\n".join(lines), contacts)
    emails = {c.email for c in contacts}
    for result in results:
        assert (result.command is None) != (result.error is None)
        if result.command is not None:
            assert result.command.verb in VERBS
            assert result.command.who in emails
            assert result.command.line == result.line


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_parse_commands_with_no_contacts_applies_nothing(subject: str, text: str) -> None:
    assert all(r.command is None for r in parse_commands(subject, text, []))
