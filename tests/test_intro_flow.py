"""The double opt-in against a real Dovecot: ask, answers (CLI and email), the
introduction, a no, an expiry, reruns; and the two templates with hard names."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from dovecot import ImapUser
from scanhelp import mail_in, mail_out, mailer, utc, write_config

from mailer import intros
from mailer.app import App
from mailer.config import from_dict
from mailer.core.intros import IntroDraft
from mailer.model import Contact, Intro
from mailer.render import Renderer

NOW = utc(2026, 3, 4, 9, 0)
ENV = {"MAILER_NOW": "2026-03-04T09:00:00Z"}
ADDRESS = "me+mailer-k3x9q2@example.org"
PEOPLE = (
    ("Anna Berg", "anna@a.example", "rust,compilers"),
    ("Bert Kim", "bert@b.example", "rust,compilers"),
    ("Zoë Müller", "zoe@z.example", "rust"),
    ("Carl Dunn", "carl@c.example", "golf"),
)


@pytest.fixture
def account(imap_user: ImapUser, tmp_path: Path) -> tuple[ImapUser, Path]:
    inbox, sent = [], []
    for n, (name, addr, _tags) in enumerate(PEOPLE):
        inbox.append(mail_in(name, addr, NOW - timedelta(days=20 + n), n))
        sent.append(mail_out(addr, NOW - timedelta(days=19 + n), n))
    imap_user.append("INBOX", inbox)
    imap_user.append("Sent", sent)
    imap_user.create_folder("Drafts")
    config = write_config(tmp_path, imap_user, commands={"address": ADDRESS})
    assert run(imap_user, config, "scan")["rc"] == 0
    for _name, addr, tags in PEOPLE:
        assert (
            run(imap_user, config, "contacts", "set", addr, "--tags", tags, "--trust", "3")["rc"]
            == 0
        )
    return imap_user, config


def run(user: ImapUser, config: Path, *args: str, env: dict[str, str] = ENV) -> dict[str, Any]:
    result = mailer(config, *args, user=user, env=env)
    return {"rc": result.returncode, "out": result.stdout, "err": result.stderr}


def ok(user: ImapUser, config: Path, *args: str, env: dict[str, str] = ENV) -> str:
    r = run(user, config, *args, env=env)
    assert r["rc"] == 0, r["out"] + r["err"]
    return str(r["out"])


def drafts(user: ImapUser) -> list[email.message.EmailMessage]:
    with user.connect() as c:
        c.select_folder("Drafts", readonly=True)
        uids = c.search(["ALL"])
        rows = c.fetch(uids, [b"BODY.PEEK[]", b"FLAGS"]) if uids else {}
    out = []
    for uid in sorted(rows):
        assert b"\\Draft" in rows[uid][b"FLAGS"]
        out.append(email.message_from_bytes(rows[uid][b"BODY[]"], policy=policy.default))
    return out  # type: ignore[return-value]


def intro_list(user: ImapUser, config: Path, env: dict[str, str] = ENV) -> list[dict[str, Any]]:
    return list(json.loads(ok(user, config, "intro", "list", "--format", "json", env=env)))


def test_the_whole_double_opt_in(account: tuple[ImapUser, Path]) -> None:
    user, config = account
    suggested = json.loads(ok(user, config, "intro", "suggest", "--format", "json"))
    assert (suggested[0]["a"], suggested[0]["b"]) == ("anna@a.example", "bert@b.example")
    assert suggested[0]["why"].startswith("both compilers, rust; trust 3 and 3")
    assert all("carl@c.example" not in (s["a"], s["b"]) for s in suggested)

    out = ok(
        user, config, "intro", "ask", "Anna", "bert@b.example", "--note", "Both write compilers."
    )
    assert "asked" in out
    asks = drafts(user)
    assert [(m["To"], m["Subject"]) for m in asks] == [
        ("Anna Berg <anna@a.example>", "Would you like to meet Bert Kim?"),
        ("Bert Kim <bert@b.example>", "Would you like to meet Anna Berg?"),
    ]
    body = asks[0].get_content()
    assert "Hi Anna," in body and "Both write compilers." in body and "compilers, rust" in body
    assert "unless you both say yes" in body

    # reruns change nothing
    assert "already asked" in ok(user, config, "intro", "ask", "anna@a.example", "bert@b.example")
    assert len(drafts(user)) == 2

    ok(
        user,
        config,
        "intro",
        "answer",
        "anna@a.example",
        "bert@b.example",
        "yes",
        "--by",
        "anna@a.example",
    )
    assert len(drafts(user)) == 2  # one yes is not enough
    out = ok(
        user, config, "intro", "answer", "anna@a.example", "bert@b.example", "yes", "--by", "bert"
    )
    assert "introduced" in out
    messages = drafts(user)
    assert len(messages) == 3
    introduction = messages[2]
    assert introduction["To"].addresses[0].addr_spec == "anna@a.example"
    assert [a.addr_spec for a in introduction["To"].addresses] == [
        "anna@a.example",
        "bert@b.example",
    ]
    assert introduction["Subject"] == "Introduction: Anna Berg <> Bert Kim"
    text = introduction.get_content()
    assert "Hi Anna and Bert," in text and "Both write compilers." in text
    # answering again, or the other side again, writes nothing more
    ok(user, config, "intro", "answer", "anna@a.example", "bert@b.example", "yes", "--by", "bert")
    assert len(drafts(user)) == 3
    (row,) = intro_list(user, config)
    assert (row["state"], row["answer_a"], row["answer_b"]) == ("introduced", "yes", "yes")

    ok(user, config, "intro", "outcome", "anna", "bert", "bad", "--note", "never replied")
    assert intro_list(user, config)[0]["outcome"] == "bad"
    for who, other in (("anna", "bert@b.example"), ("bert", "anna@a.example")):
        shown = json.loads(ok(user, config, "contacts", "show", who, "--format", "json"))[0]
        assert shown["intros"] == [
            f"with {other}: introduced 2026-03-04, outcome bad (never replied)"
        ]
    # the pair is not suggested again within the cooldown
    again = json.loads(ok(user, config, "intro", "suggest", "--format", "json"))
    assert all((s["a"], s["b"]) != ("anna@a.example", "bert@b.example") for s in again)
    with_anna = next(s for s in again if "anna@a.example" in (s["a"], s["b"]))
    assert any("the introduction to bert@b.example went badly" in w for w in with_anna["warnings"])


def test_a_no_closes_the_pair_and_an_ask_expires(account: tuple[ImapUser, Path]) -> None:
    user, config = account
    ok(user, config, "intro", "ask", "anna@a.example", "zoe@z.example")
    ok(
        user,
        config,
        "intro",
        "answer",
        "anna@a.example",
        "zoe@z.example",
        "no",
        "--by",
        "zoe@z.example",
    )
    assert len(drafts(user)) == 2  # the two asks; nothing after a no
    (row,) = intro_list(user, config)
    assert row["state"] == "declined"
    late = run(
        user,
        config,
        "intro",
        "answer",
        "anna@a.example",
        "zoe@z.example",
        "yes",
        "--by",
        "anna@a.example",
    )
    assert late["rc"] == 2 and "declined already" in late["err"]
    same_day = ok(user, config, "intro", "ask", "anna@a.example", "zoe@z.example")
    assert "already declined" in same_day  # the same ask again: nothing new
    next_day = {"MAILER_NOW": "2026-03-05T09:00:00Z"}
    again = run(user, config, "intro", "ask", "anna@a.example", "zoe@z.example", env=next_day)
    assert again["rc"] == 2 and "not again before 2026-08-31" in again["err"]
    assert len(drafts(user)) == 2

    ok(user, config, "intro", "ask", "bert@b.example", "zoe@z.example")
    later = {"MAILER_NOW": "2026-03-26T09:00:00Z"}  # 22 days on: intros.expire_after is 21d
    states = {(r["a"], r["b"]): r["state"] for r in intro_list(user, config, env=later)}
    assert states[("bert@b.example", "zoe@z.example")] == "expired"
    ok(user, config, "run", "--once", env=later)  # housekeeping stores the expiry
    stored = json.loads((config.parent / "mailer.json").read_text())["intros"]
    assert sorted(d["state"] for d in stored.values()) == ["declined", "expired"]
    assert len([m for m in drafts(user) if m["Subject"].startswith("Introduction")]) == 0


def test_who_cannot_be_asked_gets_one_line(account: tuple[ImapUser, Path]) -> None:
    user, config = account
    ok(user, config, "contacts", "set", "carl@c.example", "--trust", "1")
    r = run(user, config, "intro", "ask", "anna@a.example", "carl@c.example")
    assert r["rc"] == 2
    (line,) = r["err"].strip().splitlines()
    assert "carl@c.example has trust 1; introductions need 2" in line
    ok(user, config, "contacts", "set", "zoe@z.example", "--intro-opt-out")
    r = run(user, config, "intro", "ask", "anna@a.example", "zoe@z.example")
    assert r["rc"] == 2 and "does not want introductions" in r["err"]
    assert drafts(user) == []


def test_answers_by_email_complete_the_introduction(account: tuple[ImapUser, Path]) -> None:
    user, config = account
    ok(user, config, "intro", "ask", "anna@a.example", "bert@b.example")
    digest = ok(user, config, "digest", "preview")
    assert "waiting for anna@a.example and bert@b.example" in digest
    assert "      intro yes anna@a.example\n      intro no anna@a.example" in digest
    mail = (
        f"From: Pat Doe <me@example.org>\r\nTo: {ADDRESS}\r\nSubject: answers\r\n"
        "Date: Wed, 04 Mar 2026 08:00:00 +0000\r\nMessage-ID: <answers@test>\r\n\r\n"
        "intro yes anna@a.example\r\nintro yes Bert Kim\r\n"
    ).encode()
    user.append("INBOX", [mail])
    out = ok(user, config, "commands", "run")
    assert "both said yes" in out and "written: introduction:anna@a.example:bert@b.example" in out
    assert [m["Subject"] for m in drafts(user)][-1] == "Introduction: Anna Berg <> Bert Kim"
    (row,) = intro_list(user, config)
    assert row["state"] == "introduced"


def test_templates_say_who_and_why_and_keep_hard_names_safe(tmp_path: Path) -> None:
    config = from_dict(
        {
            "me": {"name": "Pat Doe", "addresses": ["me@example.org"]},
            "store": {"path": str(tmp_path / "s.json")},
            "intros": {"complementary": [["hiring", "looking"]]},
        }
    )
    zoe = Contact("zoe@z.example", "Zoë\nMüller\r\nBcc: x@evil.example", tags=("hiring", "rust"))
    jose = Contact("jose@j.example", "José Álvarez", tags=("looking", "rust"))
    intro = Intro("jose@j.example", "zoe@z.example", "2026-03-04T09:00:00Z", note="Both love Rust.")
    people = intros._People({c.email: c for c in (zoe, jose)})
    needed = [
        IntroDraft(
            "intro_request",
            "intro_request:jose@j.example:zoe@z.example:2026-03-04",
            intro,
            ("jose@j.example",),
            "zoe@z.example",
        ),
        IntroDraft(
            "introduction",
            "introduction:jose@j.example:zoe@z.example:2026-03-04",
            intro,
            ("jose@j.example", "zoe@z.example"),
            None,
        ),
    ]
    ask, both = intros.prepare(
        needed, people, Renderer(None, "Pat Doe", "me@example.org"), App(config), NOW
    )
    assert ask.subject == "Would you like to meet Zoë Müller Bcc: x@evil.example?"
    assert "Hi José," in ask.body and "Both love Rust." in ask.body
    assert "you both work on rust" in ask.body
    # not told before Zoë agreed: her own tags ("hiring") stay out of the ask
    assert "hiring" not in ask.body
    msg = email.message_from_bytes(both.message, policy=policy.default)
    assert msg["Bcc"] is None and len(msg["To"].addresses) == 2
    assert msg["Subject"] == "Introduction: José Álvarez <> Zoë Müller Bcc: x@evil.example"
    assert "Hi José and Zoë," in msg.get_content()
    assert "\nBcc:" not in both.message.decode("utf-8", "replace").split("\n\n", 1)[0]


def test_a_direct_introduction_needs_the_setting(
    account: tuple[ImapUser, Path], tmp_path: Path
) -> None:
    user, config = account
    refused = run(user, config, "intro", "ask", "anna", "bert", "--direct")
    assert refused["rc"] == 2 and "set intros.allow_direct = true" in refused["err"]
    allowed = write_config(
        tmp_path, user, commands={"address": ADDRESS}, intros={"allow_direct": True}
    )
    assert "introduced directly" in ok(user, allowed, "intro", "ask", "anna", "bert", "--direct")
    assert [m["Subject"] for m in drafts(user)] == ["Introduction: Anna Berg <> Bert Kim"]
    (row,) = intro_list(user, allowed)
    assert (row["state"], row["direct"]) == ("introduced", True)
