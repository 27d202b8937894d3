"""The header parser against real mail: the shared corpus (../shared/corpus).

Every file must parse without an exception; the few that cannot mean anything
are a known list. The Enron mailbox of Louise Kitchen is then folded into
contacts and a few of them are checked against values worked out by hand
from the raw files (see the comments next to each expected value).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailer.core.contacts import fold
from mailer.core.headers import Identity, parse_message
from mailer.model import Contact, Parsed, RawMessage

KITCHEN = Identity.from_config(["louise.kitchen@enron.com", "lkitchen@enron.com"])
# The owner of each mailbox (MANIFEST.md); the other folders are read as Louise Kitchen's.
OWNERS = {
    "enron-germany-c": Identity.from_config(
        ["chris.germany@enron.com", "chris_germany61@hotmail.com", "cgerman@ect.enron.com"]
    ),
    "enron-nemec-g": Identity.from_config(
        ["gerald.nemec@enron.com", "gnemec@enron.com", "gnemec@ect.enron.com"]
    ),
}
# Files per folder (MANIFEST.md): the corpus grows by folders, so counts are pinned per folder.
FILES = {
    "enron-germany-c": 372,
    "enron-kitchen-l": 214,
    "enron-nemec-g": 1508,
    "flanker": 48,
    "mail-parser": 23,
    "spamassassin": 232,
}

# Files that carry no interaction because of an error, and why. With no
# INTERNALDATE (local files) a message without a Date header has no date.
KNOWN_ERRORS = {
    "flanker/attached-pdf.eml": "no From",
    "flanker/bounce--delayed-broken.eml": "no From",  # a bare delivery-status part
    "mail-parser/mail_outlook_1.eml": "no From",  # an Outlook .msg file: binary
    "flanker/bz2-attachment.eml": "no usable date",
    "flanker/encoded-header.eml": "no usable date",
    "flanker/false-multipart.eml": "no usable date",
    "flanker/missing-boundaries.eml": "no usable date",
    "flanker/missing-final-boundary.eml": "no usable date",
    "flanker/multipart.eml": "no usable date",
    "flanker/signed.eml": "no usable date",
    "mail-parser/mail_test_1.eml": "no usable date",
    "mail-parser/mail_test_11.eml": "no usable date",
}


def header_block(data: bytes) -> bytes:
    """The bytes up to the first empty line (LF or CRLF), that line's break included."""
    m = re.search(rb"\r?\n\r?\n", data)
    return data if m is None else data[: m.start()] + (b"\r\n" if data[m.start()] == 13 else b"\n")


def parse_dir(root: Path, who: Identity) -> dict[str, Parsed]:
    files = sorted(p for p in root.rglob("*.eml") if p.is_file())
    return {
        p.relative_to(root).as_posix(): parse_message(
            RawMessage(header=header_block(p.read_bytes()), internaldate=None), who
        )
        for p in files
    }


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> dict[str, Parsed]:
    """Every file, by its path in the corpus, read as its mailbox's owner would."""
    parsed: dict[str, Parsed] = {}
    for folder in FILES:
        found = parse_dir(corpus_dir / folder, OWNERS.get(folder, KITCHEN))
        parsed.update({f"{folder}/{name}": p for name, p in found.items()})
    return parsed


def _folder(name: str) -> str:
    return name.split("/", 1)[0]


@pytest.fixture(scope="module")
def kitchen(corpus_dir: Path) -> dict[str, Contact]:
    parsed = parse_dir(corpus_dir / "enron-kitchen-l", KITCHEN)
    assert len(parsed) == 214
    assert not [name for name, p in parsed.items() if p.error]
    return fold({}, [it for p in parsed.values() for it in p.interactions])


def test_every_corpus_file_parses(corpus: dict[str, Parsed]) -> None:
    per_folder: dict[str, int] = {}
    for name in corpus:
        per_folder[_folder(name)] = per_folder.get(_folder(name), 0) + 1
    assert per_folder == FILES  # MANIFEST.md
    for name, p in corpus.items():
        assert re.fullmatch(r"[0-9a-f]{16}", p.key), name
        assert p.error is None or not p.error.startswith("parse failed"), (name, p.error)
        owner = OWNERS.get(_folder(name), KITCHEN)
        for it in p.interactions:
            assert it.email == it.email.lower() and "@" in it.email, name
            assert it.email not in owner.addresses, name
    errors = {name: p.error for name, p in corpus.items() if p.error}
    assert errors == KNOWN_ERRORS


def test_what_the_corpus_means(corpus: dict[str, Parsed]) -> None:
    outcome: dict[str, dict[str, int]] = {}
    for name, p in corpus.items():
        kind = p.error or p.skipped or "ok"
        counts = outcome.setdefault(_folder(name), {})
        counts[kind] = counts.get(kind, 0) + 1
    # Mailing lists (SpamAssassin, Apache) are automated; bounces are ignored;
    # 15 of Louise Kitchen's messages went to more than 20 people; 4 of Chris
    # Germany's have no recipient besides himself (MANIFEST.md).
    assert outcome == {
        "enron-germany-c": {"ok": 366, "no recipients": 4, "ignored": 2},
        "enron-kitchen-l": {"ok": 199, "mass": 15},
        "enron-nemec-g": {"ok": 1505, "ignored": 3},
        "flanker": {"ok": 26, "automated": 7, "no From": 2, "ignored": 6, "no usable date": 7},
        "mail-parser": {"ok": 14, "ignored": 2, "no From": 1, "no usable date": 2, "automated": 4},
        "spamassassin": {"automated": 190, "ok": 42},
    }


def test_odd_corpus_headers(corpus: dict[str, Parsed]) -> None:
    def only(name: str) -> tuple[str, str | None, str | None]:
        (it,) = corpus[name].interactions
        return it.email, it.name, it.subject

    # 210 KB of encoded subject, cut to 200 characters.
    email, _, subject = only("flanker/long-header.eml")
    assert email == "bob@example.com"
    assert (
        subject is not None and subject.startswith("Die heiße Zypernsonne") and len(subject) <= 200
    )
    # A Latin-1 byte in a quoted name, in a mailing-list message.
    assert corpus["flanker/from-encoding.eml"].skipped == "automated"
    # UTF-8 name with a stray byte; the subject is one Latin-1 byte and "!".
    assert only("flanker/mailformed-headers.eml")[:1] == ("headers@gmail.com",)
    # Q-encoded ISO-8859-1 name with an encoded comma.
    assert only("mail-parser/mail_test_18.eml")[:2] == (
        "comma.name@example.com",
        "LastßlName, FirstName",
    )
    # An encoded name that is only the address again.
    assert only("mail-parser/mail_test_17.eml")[:2] == ("notificaccion-clientes@bbva.mx", None)
    # GB2312 label on GBK bytes.
    assert only("mail-parser/mail_test_12.eml")[1] == "张先生"
    # A "do-not-reply" sender behind a display name that looks like an address.
    assert corpus["mail-parser/mail_test_15.eml"].skipped == "ignored"


def test_copies_of_one_message_share_a_key(corpus: dict[str, Parsed]) -> None:
    # flanker's enclosed*.eml fixtures are variants of one message (same Message-ID).
    keys = {
        corpus[f"flanker/{n}.eml"].key for n in ("enclosed", "enclosed-broken", "enclosed-global")
    }
    assert len(keys) == 1
    assert corpus["flanker/torture.eml"].key == corpus["flanker/torture-part.eml"].key
    assert corpus["flanker/enclosed.eml"].key != corpus["flanker/torture.eml"].key


# Hand-checked from the raw files in enron-kitchen-l/. For each contact: every
# file whose From/To/Cc/Bcc names the address (grep -ril, then the header read
# by eye), its Date header, and for Louise's own messages the number of
# distinct recipients other than her (mass mail above 20 counts for no one).
# PST is -0800 and PDT -0700, so UTC is the local time plus 8 or 7 hours.


def test_enron_tim_belden(kitchen: dict[str, Contact]) -> None:
    c = kitchen["tim.belden@enron.com"]
    # Inbound, From tim.belden: inbox/61 Tue 5 Feb 2002 08:50:57 -0800,
    # inbox/56 Tue 5 Feb 2002 16:22:10 -0800 (= 6 Feb 00:22:10Z),
    # inbox/37 Wed 6 Feb 2002 08:58:41 -0800 = 2002-02-06T16:58:41Z (latest).
    assert (c.messages_in, c.last_inbound) == (3, "2002-02-06T16:58:41Z")
    # Louise wrote to him in 16 messages, 15 of them to 23-55 people (inbox/40,
    # 59, 145; allen-p 6 and 13; beck-s 150; buy-r 277, 307; martin-t 41, 187;
    # neal-s 76, 239; swerzbin-m 5, 7, 177). Only shively-h--inbox--50 went to
    # 8 (7 distinct To + david.oxley in Cc): Mon 28 Jan 2002 05:05:42 -0800.
    assert (c.messages_out, c.last_outbound) == (1, "2002-01-28T13:05:42Z")


def test_enron_liz_taylor(kitchen: dict[str, Contact]) -> None:
    c = kitchen["liz.taylor@enron.com"]
    # From liz.taylor: inbox/53 Tue 5 Feb 2002 16:41:48 -0800, inbox/52 16:52:05
    # -0800, inbox/32 Wed 6 Feb 10:26:09 -0800, inbox/11 Wed 6 Feb 16:09:37
    # -0800 = 2002-02-07T00:09:37Z. inbox/11 went to 189 people: inbound mail
    # counts for its sender whatever the number of recipients.
    assert (c.messages_in, c.last_inbound) == (4, "2002-02-07T00:09:37Z")
    # Louise to her and one other: whalley-g--inbox--45, Tue 23 Oct 2001
    # 05:53:21 -0700 (PDT) = 12:53:21Z. (inbox/41 only copies her: not hers.)
    assert (c.messages_out, c.last_outbound) == (1, "2001-10-23T12:53:21Z")
    assert c.first_seen == "2001-10-23T12:53:21Z"


def test_enron_rob_milnthorp(kitchen: dict[str, Contact]) -> None:
    c = kitchen["rob.milnthorp@enron.com"]
    # From rob.milnthorp: inbox/88 Fri 19 Oct 2001 14:39:01 -0700, inbox/104
    # Fri 21 Dec 2001 08:41:21 -0800 (to Louise alone), inbox/75 Mon 4 Feb 2002
    # 06:33:34, inbox/74 07:09:45, inbox/63 Tue 5 Feb 08:07:02, inbox/36 Wed
    # 6 Feb 2002 08:57:50 -0800 = 2002-02-06T16:57:50Z.
    assert (c.messages_in, c.last_inbound) == (6, "2002-02-06T16:57:50Z")
    # From Louise, 18 messages name him; 15 went to more than 20 people. The
    # other three: tycholiz-b--inbox--332 Fri 12 Oct 2001 15:12:38 -0700 (17
    # people) = 22:12:38Z, lavorato-j--inbox--200 Tue 27 Nov 2001 10:49:48
    # -0800 (16), shively-h--inbox--50 Mon 28 Jan 2002 05:05:42 -0800 (8).
    assert (c.messages_out, c.last_outbound) == (3, "2002-01-28T13:05:42Z")
    assert c.first_seen == "2001-10-12T22:12:38Z"


def test_enron_greg_piper(kitchen: dict[str, Contact]) -> None:
    c = kitchen["greg.piper@enron.com"]
    # From greg.piper: inbox/46 Wed 6 Feb 2002 06:35:17 -0800 = 14:35:17Z.
    assert (c.messages_in, c.last_inbound) == (1, "2002-02-06T14:35:17Z")
    # From Louise: whalley-g--inbox--89 Tue 16 Oct 2001 13:39:03 -0700 (8
    # people), whalley-g--inbox--359 Thu 15 Nov 2001 11:48:00 -0800 (5),
    # beck-s--inbox--714 Mon 19 Nov 2001 19:17:50 -0800 (2; 20 Nov in UTC),
    # beck-s--inbox--195 Thu 3 Jan 2002 07:05:15 -0800 (12: 5 To + 7 Cc, the
    # same 7 again in Bcc) = 15:05:15Z. inbox/40 and swerzbin-m--inbox--5 went
    # to 52 people.
    assert (c.messages_out, c.last_outbound) == (4, "2002-01-03T15:05:15Z")
    assert c.first_seen == "2001-10-16T20:39:03Z"
