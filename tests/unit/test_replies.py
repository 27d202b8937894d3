"""Replies to a real rendered digest from many clients and languages, and forwards.

The digest is a remote control the owner answers from whatever client they
use, so a quoted digest must never be read as commands: not with ">" before
it, not with Outlook's translated header block and no prefix at all, not as
HTML. Each mail below is written from the documented reply (or forward) format
of one client in one language; each test says exactly which command lines the
mail gives (parsed with `parse_commands` against the digest's contacts, as
`mailer commands run` does) and which rule of `mailer.core.mailtext` ended the
owner's text (`MailInfo.cut_by`). The tests in tests/system/test_replies.py
send some of these shapes through a real Dovecot and `mailer commands run`,
and compare `contacts list` before and after.
"""

from __future__ import annotations

import email
import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.core.commands import VERBS, parse_commands
from mailer.core.mailtext import CUT_RULES, MARK, Cut, MailInfo, cut_reply, read_mail
from mailer.model import Contact
from mailer.render import Record, Renderer
from tests.support.scanhelp import raw
from tests.unit.test_digest_core import COMMAND, build, people, render

OWNER = "Pat Doe <pat@example.org>"
SENT = "Wed, 04 Mar 2026 08:00:00 +0100"
STRANGER = "Eve Stranger <eve@s.example>"
# Lines a stranger wrote: forwarded, they must never be applied.
STRANGER_TEXT = (
    "Hi Pat,\n\nweed anna@a.example\nignore dora@d.example\ndone emil@e.example\n"
    "tag sami@s.example spam\n\nEve\n"
)


@dataclass(frozen=True)
class Digest:
    subject: str
    body: str
    contacts: list[Contact]


_DIGEST: Digest | None = None


def digest() -> Digest:
    """The digest of tests/unit/test_digest_core.py, rendered by the real digest.j2."""
    global _DIGEST
    if _DIGEST is None:
        contacts = people()
        subject, body = render(build(contacts))
        _DIGEST = Digest(subject, body, contacts)
    return _DIGEST


def quoted(text: str, prefix: str) -> str:
    return "\n".join(
        (prefix + line).rstrip() if line else prefix.rstrip() for line in text.split("\n")
    )


def as_html(text: str) -> str:
    """Plain lines as an HTML client writes them: one <div> a line."""
    return "".join(
        f"<div>{html.escape(line)}</div>" if line.strip() else "<div><br></div>"
        for line in text.split("\n")
    )


def mail(
    text: str | None = None,
    html_body: str | None = None,
    *,
    subject: str | None = None,
    flowed: bool = False,
    attach: bytes | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = OWNER
    msg["To"] = COMMAND
    msg["Subject"] = f"Re: {digest().subject}" if subject is None else subject
    msg["Date"] = SENT
    msg["Message-ID"] = "<reply-1@example.org>"
    if text is not None:
        if flowed:
            msg.set_content(text, params={"format": "flowed"})
        else:
            msg.set_content(text)
        if html_body is not None:
            msg.add_alternative(html_body, subtype="html")
    elif html_body is not None:
        msg.set_content(html_body, subtype="html")
    if attach is not None:
        inner = email.message_from_bytes(attach, policy=policy.default)
        assert isinstance(inner, EmailMessage)
        msg.add_attachment(inner)
    return msg.as_bytes(policy=policy.SMTP)


def applied(info: MailInfo, contacts: list[Contact] | None = None) -> list[str]:
    """The lines `mailer commands run` would apply: commands that parse, in order."""
    contacts = digest().contacts if contacts is None else contacts
    results = parse_commands(info.subject, info.new_text, contacts)
    assert all(r.error is None for r in results), [(r.line, r.error) for r in results]
    return [r.line for r in results]


# --- replies to the digest, client by client ---------------------------------------------------

D = "Wednesday, March 4, 2026 7:30 AM"


def outlook(
    keys: tuple[str, str, str, str], sent: str, separator: str | None = "_" * 32
) -> Callable[[Digest], str]:
    """Outlook (desktop, web, Mac): a header block in the client's language, no prefix."""
    frm, date, to, subj = keys

    def shape(d: Digest) -> str:
        block = (
            f"{frm} Pat Doe <pat@example.org>\n{date} {sent}\n"
            f"{to} Pat Doe <pat@example.org>\n{subj} {d.subject}\n\n"
        )
        return (f"{separator}\n" if separator else "") + block + d.body

    return shape


def attribution(line: str, prefix: str = "> ", above: bool = False) -> Callable[[Digest], str]:
    """Gmail, Apple Mail, Thunderbird: a line that names the digest's sender or date."""

    def shape(d: Digest) -> str:
        if above:  # Apple puts the attribution inside the quote
            return quoted(f"{line}\n\n{d.body}", prefix)
        return f"{line}\n\n{quoted(d.body, prefix)}"

    return shape


def separated(header: str, prefix: str = "") -> Callable[[Digest], str]:
    def shape(d: Digest) -> str:
        return f"{header.format(subject=d.subject)}\n\n{quoted(d.body, prefix)}"

    return shape


def yahoo_nbsp(d: Digest) -> str:
    """Yahoo (French): the header block and the digest indented with non-breaking spaces."""
    pad = "\xa0" * 4
    block = (
        f"{pad}De\xa0: Pat Doe <pat@example.org>\n{pad}À\xa0: pat+mailer-k3x9q2@example.org\n"
        f"{pad}Envoyé\xa0: mercredi 4 mars 2026 à 07:30:00 UTC+1\n{pad}Objet\xa0: {d.subject}\n"
    )
    return f"\xa0\n{block}\xa0\n{quoted(d.body, pad)}"


def yahoo_attribution(d: Digest) -> str:
    pad = "\xa0" * 4
    line = "On Wednesday, March 4, 2026, 07:30:00 AM GMT+1, Pat Doe <pat@example.org> wrote:"
    return f"{pad}{line}\n\xa0\n{quoted(d.body, pad)}"


def french_webmail(d: Digest) -> str:
    """Orange / SFR webmail: "Message du :" then "De :", "A :", "Copie à :", "Objet :"."""
    return (
        "Message du : 04/03/2026 07:30\n"
        'De : "Pat Doe" <pat@example.org>\n'
        "A : pat+mailer-k3x9q2@example.org\nCopie à : \n"
        f"Objet : {d.subject}\n\n{d.body}"
    )


def lotus_notes(d: Digest) -> str:
    """Lotus Notes 8.5: a tab-separated header block, no prefix."""
    return (
        "From:\tPat Doe <pat@example.org>\nTo:\tpat+mailer-k3x9q2@example.org\n"
        f"Date:\t04.03.2026 07:30\nSubject:\t{d.subject}\n\n{d.body}"
    )


def lotus_history(d: Digest) -> str:
    """Lotus Notes 9 "reply with history": a dashed line naming the sender, then headers."""
    return (
        "-----Pat Doe <pat@example.org> wrote: -----\nTo: pat+mailer-k3x9q2@example.org\n"
        f"From: Pat Doe <pat@example.org>\nDate: 03/04/2026 07:30AM\nSubject: {d.subject}\n\n"
        f"{d.body}"
    )


def lotus_classic(d: Digest) -> str:
    """Lotus Notes 6/7: the memo header as columns, no colons, no prefix."""
    pad = " " * 13
    return (
        f"\n{pad}Pat Doe{' ' * 40}\n{pad}<pat@example.org>{' ' * 22}To\n"
        f"{pad * 3}pat+mailer-k3x9q2@example.org\n{pad}04.03.2026 07:30{' ' * 23}cc\n"
        f"\n{pad * 5}Subject\n{pad * 3}{d.subject}\n\n{d.body}"
    )


def preview_paste(d: Digest) -> str:
    """A new mail (no Re:, no In-Reply-To) into which the owner pasted `mailer digest preview`."""
    return f"Subject: {d.subject}\n\n{d.body}"


def preview_paste_without_mark(d: Digest) -> str:
    return d.body.split("\n", 1)[1]


def gmail_html(lines: list[str]) -> Callable[[Digest], str]:
    def shape(d: Digest) -> str:
        own = "".join(f"<div>{html.escape(line)}</div>" for line in lines)
        return (
            f'<div dir="ltr">{own}</div><br><div class="gmail_quote"><div dir="ltr" '
            'class="gmail_attr">On Wed, Mar 4, 2026 at 7:30\u202fAM Pat Doe &lt;'
            '<a href="mailto:pat@example.org">pat@example.org</a>&gt; wrote:<br></div>'
            '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px '
            f'solid rgb(204,204,204);padding-left:1ex">{as_html(d.body)}</blockquote></div>'
        )

    return shape


def outlook_html(lines: list[str], keys: tuple[str, str, str, str], sent: str) -> Callable:
    """Outlook (new / web) HTML: <hr>, div#divRplyFwdMsg with bold headers, the digest as divs."""

    def shape(d: Digest) -> str:
        frm, date, to, subj = keys
        own = "".join(
            f'<div style="font-family:Aptos,sans-serif">{html.escape(x)}</div>' for x in lines
        )
        return (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            "<style>p{margin:0}</style></head><body>"
            f'{own}<div id="appendonsend"></div><hr style="display:inline-block;width:98%">'
            '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri" style="font-size:11pt">'
            f"<b>{frm}</b> Pat Doe &lt;pat@example.org&gt;<br><b>{date}</b> {sent}<br>"
            f"<b>{to}</b> Pat Doe &lt;pat@example.org&gt;<br><b>{subj}</b> "
            f"{html.escape(d.subject)}</font><div>&nbsp;</div></div>"
            f"<div>{as_html(d.body)}</div></body></html>"
        )

    return shape


def apple_html(lines: list[str]) -> Callable[[Digest], str]:
    def shape(d: Digest) -> str:
        own = "".join(f'<div dir="ltr">{html.escape(x)}</div>' for x in lines)
        return (
            '<html><body dir="auto">'
            f'{own}<div dir="ltr"><br><blockquote type="cite">On 4 Mar 2026, at 07:30, '
            "Pat Doe &lt;pat@example.org&gt; wrote:<br><br></blockquote></div>"
            f'<blockquote type="cite"><div dir="ltr">{as_html(d.body)}</div></blockquote>'
            "</body></html>"
        )

    return shape


def thunderbird_html(lines: list[str]) -> Callable[[Digest], str]:
    def shape(d: Digest) -> str:
        own = "".join(f"<p>{html.escape(x)}</p>" for x in lines)
        return (
            '<html><head><meta http-equiv="content-type" content="text/html; charset=UTF-8">'
            f'</head><body>{own}<div class="moz-cite-prefix">On 04/03/2026 07:30, Pat Doe wrote:'
            '<br></div><blockquote type="cite" cite="mid:digest@example.org">'
            f'<pre class="moz-quote-pre" wrap="">{html.escape(d.body)}</pre></blockquote>'
            "</body></html>"
        )

    return shape


@dataclass(frozen=True)
class Reply:
    """One client's reply: what the owner wrote on top, the quote below, the rule that cuts."""

    lines: list[str]
    shape: Callable[[Digest], str]
    rule: str
    html: bool = False
    between: str = "\n\n"  # what the client puts between the owner's lines and the quote
    subject: str | None = None  # None: "Re: <the digest's subject>"
    flowed: bool = False


SNOOZE = "snooze anna@a.example 2w"
DONE = "done emil@e.example"
TIER = "tier sami@s.example network"
TAG = "tag dora@d.example climate, berlin"
NOTE = "note Dora Lux met at the fair, wants an intro to someone in climate tech"
TRUST = "trust anna@a.example 2"
WEED = "weed olaf@o.example"

REPLIES: dict[str, Reply] = {
    # Outlook, desktop and web: the separator line, then a translated block.
    "outlook-en": Reply([SNOOZE], outlook(("From:", "Sent:", "To:", "Subject:"), D), "separator"),
    "outlook-de": Reply(
        [DONE, TIER],
        outlook(("Von:", "Gesendet:", "An:", "Betreff:"), "Mittwoch, 4. März 2026 07:30"),
        "separator",
    ),
    "outlook-it": Reply(
        [TAG],
        outlook(("Da:", "Inviato:", "A:", "Oggetto:"), "mercoledì 4 marzo 2026 07:30"),
        "separator",
    ),
    # Outlook with no separator (Outlook for Mac, or as the issue saw it): the block alone.
    "outlook-fr": Reply(
        [SNOOZE],
        outlook(("De :", "Envoyé :", "À :", "Objet :"), "mercredi 4 mars 2026 07:30", None),
        "header-block",
    ),
    "outlook-sv": Reply(
        [TIER],
        outlook(("Från:", "Skickat:", "Till:", "Ämne:"), "den 4 mars 2026 07:30", None),
        "header-block",
    ),
    "outlook-da": Reply(
        [DONE],
        outlook(("Fra:", "Sendt:", "Til:", "Emne:"), "4. marts 2026 07:30", None),
        "header-block",
    ),
    "outlook-fi": Reply(
        [TRUST],
        outlook(
            ("Lähettäjä:", "Lähetetty:", "Vastaanottaja:", "Aihe:"),
            "keskiviikko 4. maaliskuuta 2026 7.30",
            None,
        ),
        "header-block",
    ),
    "outlook-pl": Reply(
        [WEED],
        outlook(("Od:", "Wysłano:", "Do:", "Temat:"), "środa, 4 marca 2026 07:30", None),
        "header-block",
    ),
    "outlook-cs": Reply(
        [SNOOZE, DONE],
        outlook(("Od:", "Odesláno:", "Komu:", "Předmět:"), "středa 4. března 2026 7:30", None),
        "header-block",
    ),
    "outlook-ru": Reply(
        [TAG],
        outlook(("От:", "Отправлено:", "Кому:", "Тема:"), "4 марта 2026 г. 7:30", None),
        "header-block",
    ),
    "outlook-ja": Reply(
        [TIER],
        outlook(("差出人:", "送信日時:", "宛先:", "件名:"), "2026年3月4日 7:30", None),
        "header-block",
    ),
    "outlook-tr": Reply(
        [NOTE],
        outlook(("Kimden:", "Gönderildi:", "Kime:", "Konu:"), "4 Mart 2026 Çarşamba 07:30", None),
        "header-block",
    ),
    "outlook-nl": Reply(
        [DONE],
        outlook(("Van:", "Verzonden:", "Aan:", "Onderwerp:"), "woensdag 4 maart 2026 07:30", None),
        "header-block",
    ),
    "outlook-pt": Reply(
        [SNOOZE],
        outlook(
            ("De:", "Enviado:", "Para:", "Assunto:"), "quarta-feira, 4 de março de 2026 07:30", None
        ),
        "header-block",
    ),
    # Older Outlook: "-----Original Message-----" in the client's language.
    "outlook-es-original": Reply(
        [WEED],
        outlook(
            ("De:", "Enviado el:", "Para:", "Asunto:"),
            "miércoles, 4 de marzo de 2026 7:30",
            "-----Mensaje original-----",
        ),
        "separator",
    ),
    "outlook-no-original": Reply(
        [TRUST],
        outlook(
            ("Fra:", "Sendt:", "Til:", "Emne:"),
            "onsdag 4. mars 2026 07:30",
            "-----Opprinnelig melding-----",
        ),
        "separator",
    ),
    "outlook-de-original": Reply(
        [TAG],
        outlook(
            ("Von:", "Gesendet:", "An:", "Betreff:"),
            "Mittwoch, 4. März 2026 07:30",
            "-----Ursprüngliche Nachricht-----",
        ),
        "separator",
    ),
    # Outlook, HTML only.
    "outlook-html-ja": Reply(
        [SNOOZE, TIER],
        outlook_html(
            [SNOOZE, TIER], ("差出人:", "送信日時:", "宛先:", "件名:"), "2026年3月4日 7:30"
        ),
        "separator",
        html=True,
    ),
    "outlook-html-ru": Reply(
        [DONE],
        outlook_html([DONE], ("От:", "Отправлено:", "Кому:", "Тема:"), "4 марта 2026 г. 7:30"),
        "separator",
        html=True,
    ),
    # Gmail.
    "gmail-web": Reply(
        [SNOOZE, NOTE],
        attribution("On Wed, Mar 4, 2026 at 7:30\u202fAM Pat Doe <pat@example.org> wrote:"),
        "attribution",
    ),
    "gmail-wrapped-attribution": Reply(
        [DONE],
        attribution("On Wed, Mar 4, 2026 at 7:30 AM Pat Doe <\npat@example.org> wrote:"),
        "attribution",
    ),
    "gmail-de": Reply(
        [TIER],
        attribution("Am Mi., 4. März 2026 um 07:30 Uhr schrieb Pat Doe <pat@example.org>:"),
        "attribution",
    ),
    "gmail-mobile": Reply(
        [WEED],
        attribution("On Wed, 4 Mar 2026, 07:30 Pat Doe, <pat@example.org> wrote:"),
        "attribution",
    ),
    "gmail-iso-date": Reply(
        [TAG], attribution("2026-03-04 7:30 GMT+01:00 Pat Doe <pat@example.org>:"), "attribution"
    ),
    "gmail-iso-date-indented": Reply(
        [DONE],
        attribution("2026-03-04 7:30 GMT+01:00 Pat Doe <pat@example.org>:", prefix="    "),
        "attribution",
    ),
    "gmail-html": Reply([SNOOZE, DONE], gmail_html([SNOOZE, DONE]), "attribution", html=True),
    # Apple Mail and iOS: the attribution inside the quote.
    "apple-mail": Reply(
        [TRUST],
        attribution("On 4 Mar 2026, at 07:30, Pat Doe <pat@example.org> wrote:", above=True),
        "attribution",
    ),
    "apple-mail-fr": Reply(
        [TIER],
        attribution("Le 4 mars 2026 à 07:30, Pat Doe <pat@example.org> a écrit :", above=True),
        "attribution",
    ),
    "apple-html": Reply([NOTE], apple_html([NOTE]), "attribution", html=True),
    # Mobile signatures above the quote (the reply library knows some of them).
    "iphone-en": Reply(
        [SNOOZE],
        attribution("On 4 Mar 2026, at 07:30, Pat Doe <pat@example.org> wrote:", above=True),
        "library",
        between="\n\nSent from my iPhone\n\n",
    ),
    "iphone-sv": Reply(
        [DONE],
        attribution("4 mars 2026 kl. 07:30 skrev Pat Doe <pat@example.org>:", above=True),
        "attribution",
        between="\n\nSkickat från min iPhone\n\n",
    ),
    "iphone-de": Reply(
        [WEED],
        attribution("Am 04.03.2026 um 07:30 schrieb Pat Doe <pat@example.org>:", above=True),
        "attribution",
        between="\n\nVon meinem iPhone gesendet\n\n",
    ),
    "outlook-android": Reply(
        [TAG],
        outlook(("From:", "Sent:", "To:", "Subject:"), D),
        "library",
        between="\n\nGet Outlook for Android<https://aka.ms/AAb9ysg>\n",
    ),
    # Thunderbird: an attribution with a date but no address.
    "thunderbird": Reply(
        [SNOOZE], attribution("On 04/03/2026 07:30, Pat Doe wrote:"), "attribution"
    ),
    "thunderbird-de": Reply(
        [DONE], attribution("Am 04.03.26 um 07:30 schrieb Pat Doe:"), "attribution"
    ),
    "thunderbird-flowed": Reply(
        [NOTE], attribution("On 04/03/2026 07:30, Pat Doe wrote:"), "attribution", flowed=True
    ),
    "thunderbird-html": Reply([TIER], thunderbird_html([TIER]), "attribution", html=True),
    # Yahoo, Zoho, Samsung, French webmail, Lotus Notes.
    "yahoo-nbsp-block": Reply([SNOOZE, TAG], yahoo_nbsp, "header-block"),
    "yahoo-attribution": Reply([DONE], yahoo_attribution, "attribution"),
    "zoho": Reply(
        [TIER],
        separated("---- On Wed, 04 Mar 2026 07:30:00 +0100 Pat Doe <pat@example.org> wrote ----"),
        "separator",
    ),
    "samsung": Reply(
        [WEED],
        separated(
            "-------- Original message --------\nFrom: Pat Doe <pat@example.org>\n"
            "Date: 04/03/2026 07:30 (GMT+01:00)\nTo: pat+mailer-k3x9q2@example.org\n"
            "Subject: {subject}"
        ),
        "separator",
    ),
    "samsung-fr": Reply(  # French typography: a no-break space before each colon
        [TRUST],
        separated(
            "-------- Message d'origine --------\nDe\xa0: Pat Doe <pat@example.org>\n"
            "Date\xa0: 04/03/2026 07:30 (GMT+01:00)\nÀ\xa0: pat+mailer-k3x9q2@example.org\n"
            "Objet\xa0: {subject}"
        ),
        "separator",
    ),
    "french-webmail": Reply([SNOOZE], french_webmail, "header-block"),
    "lotus-notes": Reply([DONE], lotus_notes, "header-block"),
    "lotus-notes-history": Reply([TAG], lotus_history, "separator"),
    "lotus-notes-classic": Reply([SNOOZE], lotus_classic, "mark"),
    # No quote header at all: only mailer's own text tells where the quote starts.
    "pasted-preview": Reply([SNOOZE, WEED], preview_paste, "mark", subject="mailer"),
    "pasted-preview-without-mark": Reply(
        [TIER], preview_paste_without_mark, "mailer-text", subject="mailer"
    ),
    "no-header-no-prefix": Reply([DONE], lambda d: d.body, "mark"),
    "pipe-prefix": Reply([NOTE], lambda d: quoted(d.body, "| "), "mark"),
    "indented": Reply([TAG], lambda d: quoted(d.body, "    "), "mark"),
    "bare-prefix-no-header": Reply([TRUST], lambda d: quoted(d.body, "> "), "mark"),
    # A signature between the owner's lines and the quote.
    "top-post-signature": Reply(
        [SNOOZE, DONE],
        outlook(("From:", "Sent:", "To:", "Subject:"), D),
        "signature",
        between="\n\n-- \nPat Doe\nignore sami@s.example\n\n",
    ),
    # Bottom-posting is not read: the quote comes first, so nothing is a command.
    "bottom-post": Reply(
        [],
        lambda d: (
            "On Wed, Mar 4, 2026 at 7:30 AM Pat Doe <pat@example.org> wrote:\n"
            f"{quoted(d.body, '> ')}\n\n{SNOOZE}\n"
        ),
        "attribution",
        between="",
    ),
}


def reply_mail(name: str, d: Digest | None = None) -> bytes:
    case = REPLIES[name]
    d = d or digest()
    own = "\n".join(case.lines)
    if case.html:
        return mail(None, case.shape(d), subject=case.subject)
    return mail(own + case.between + case.shape(d) + "\n", subject=case.subject, flowed=case.flowed)


@pytest.mark.parametrize("name", list(REPLIES))
def test_a_reply_to_the_digest_applies_exactly_the_new_lines(name: str) -> None:
    case = REPLIES[name]
    info = read_mail(reply_mail(name))
    assert applied(info) == case.lines
    assert info.cut_by == case.rule, info.new_text
    assert info.forwarded == ()


def test_every_rule_is_named_and_cuts_some_test_mail() -> None:
    rules = {case.rule for case in REPLIES.values()}
    assert rules <= set(CUT_RULES)
    assert {"mark", "mailer-text", "separator", "header-block", "attribution"} <= rules


def test_the_digest_quoted_alone_is_never_commands() -> None:
    """Every reply line of the digest is in the quote of each case (the tests can fail)."""
    d = digest()
    shown = [r.line for r in parse_commands("", d.body, d.contacts)]
    assert len(shown) >= 10 and "weed olaf@o.example" in shown and "ignore tina@t.example" in shown
    for name in ("outlook-sv", "lotus-notes", "no-header-no-prefix"):
        text = REPLIES[name].shape(d)
        assert [r.line for r in parse_commands("", text, d.contacts)] == shown, name


def test_the_mark_is_the_first_line_of_the_digest_and_the_confirmation() -> None:
    d = digest()
    assert d.body.split("\n")[0] == MARK
    confirm = Renderer(None, "Pat Doe", "pat@example.org").render(
        "confirm",
        subject="Re: mailer digest",
        received="2026-03-04T07:00:00Z",
        kind="commands",
        lines=[Record("line", {"line": SNOOZE, "ok": True, "result": "snoozed"})],
        applied=1,
        failed=0,
        id="k3x9",
        undo="undo k3x9",
    )
    assert confirm.body.split("\n")[0] == MARK
    assert confirm.body.split("\n")[1] == "All done: your mail was applied."
    # MARK is no command, not a quote header of another kind, and short enough not to wrap
    assert parse_commands("", MARK, d.contacts) == []
    assert len(MARK) < 60


def test_a_reply_to_the_confirmation_never_applies_its_undo_line() -> None:
    renderer = Renderer(None, "Pat Doe", "pat@example.org")
    confirm = renderer.render(
        "confirm",
        subject="Re: mailer digest",
        received="2026-03-04T07:00:00Z",
        kind="commands",
        lines=[Record("line", {"line": "weed olaf@o.example", "ok": True, "result": "weeded"})],
        applied=1,
        failed=0,
        id="k3x9",
        undo="undo k3x9",
    )
    c = Digest(confirm.subject, confirm.body, digest().contacts)
    assert [r.line for r in parse_commands("", c.body, c.contacts)] == ["undo k3x9"]
    for name in ("outlook-sv", "no-header-no-prefix", "indented", "gmail-web"):
        info = read_mail(reply_mail(name, c))
        assert applied(info) == REPLIES[name].lines, name
    # the mark dropped: its second line still ends the owner's text
    text = f"{DONE}\n\n" + c.body.split("\n", 1)[1]
    info = read_mail(mail(text, subject="mailer"))
    assert (applied(info), info.cut_by) == ([DONE], "mailer-text")


# --- forwards are never commands ----------------------------------------------------------------


def outlook_forward(keys: tuple[str, str, str, str], sent: str, separator: str | None) -> str:
    frm, date, to, subj = keys
    block = f"{frm} {STRANGER}\n{date} {sent}\n{to} {OWNER}\n{subj} Hello\n\n"
    return (f"{separator}\n" if separator else "") + block + STRANGER_TEXT


@dataclass(frozen=True)
class Forward:
    subject: str
    text: str  # below the owner's lines
    rule: str
    lines: tuple[str, ...] = ()  # the owner's, above the forward
    html: bool = False


FORWARDS: dict[str, Forward] = {
    # The case: Swedish Outlook, "VB:", no separator.
    "outlook-sv-vb": Forward(
        "VB: Hej",
        outlook_forward(("Från:", "Skickat:", "Till:", "Ämne:"), "den 3 mars 2026 09:15", None),
        "header-block",
    ),
    "outlook-de-wg": Forward(
        "WG: Hallo",
        outlook_forward(
            ("Von:", "Gesendet:", "An:", "Betreff:"),
            "Dienstag, 3. März 2026 09:15",
            "-----Ursprüngliche Nachricht-----",
        ),
        "separator",
    ),
    "outlook-fr-tr": Forward(
        "TR: Bonjour",
        outlook_forward(
            ("De :", "Envoyé :", "À :", "Objet :"), "mardi 3 mars 2026 09:15", "_" * 32
        ),
        "separator",
    ),
    "outlook-es-rv": Forward(
        "RV: Hola",
        outlook_forward(
            ("De:", "Enviado el:", "Para:", "Asunto:"), "martes, 3 de marzo de 2026 9:15", None
        ),
        "header-block",
    ),
    "outlook-it-i": Forward(
        "I: Ciao",
        outlook_forward(("Da:", "Inviato:", "A:", "Oggetto:"), "martedì 3 marzo 2026 09:15", None),
        "header-block",
    ),
    "outlook-pl-pd": Forward(
        "PD: Cześć",
        outlook_forward(("Od:", "Wysłano:", "Do:", "Temat:"), "wtorek, 3 marca 2026 09:15", None),
        "header-block",
    ),
    "outlook-nl-doorst": Forward(
        "Doorst: Hoi",
        outlook_forward(
            ("Van:", "Verzonden:", "Aan:", "Onderwerp:"), "dinsdag 3 maart 2026 09:15", None
        ),
        "header-block",
    ),
    "outlook-ja-fw": Forward(
        "FW: こんにちは",
        outlook_forward(("差出人:", "送信日時:", "宛先:", "件名:"), "2026年3月3日 9:15", "_" * 32),
        "separator",
    ),
    "outlook-ru-fw": Forward(
        "FW: Привет",
        outlook_forward(("От:", "Отправлено:", "Кому:", "Тема:"), "3 марта 2026 г. 9:15", None),
        "header-block",
    ),
    "outlook-cs-pr": Forward(
        "PŘ: Ahoj",
        outlook_forward(
            ("Od:", "Odesláno:", "Komu:", "Předmět:"), "úterý 3. března 2026 9:15", None
        ),
        "header-block",
    ),
    "outlook-fi-vl": Forward(
        "VL: Hei",
        outlook_forward(
            ("Lähettäjä:", "Lähetetty:", "Vastaanottaja:", "Aihe:"),
            "tiistai 3. maaliskuuta 2026 9.15",
            None,
        ),
        "header-block",
    ),
    "outlook-tr-ilt": Forward(
        "İLT: Merhaba",
        outlook_forward(
            ("Kimden:", "Gönderildi:", "Kime:", "Konu:"), "3 Mart 2026 Salı 09:15", None
        ),
        "header-block",
    ),
    "gmail-fwd": Forward(
        "Fwd: Hello",
        "---------- Forwarded message ---------\n"
        f"From: {STRANGER}\nDate: Tue, Mar 3, 2026 at 9:15 AM\nSubject: Hello\nTo: {OWNER}\n\n\n"
        + STRANGER_TEXT,
        "forward",
    ),
    "gmail-fwd-de": Forward(
        "Fwd: Hallo",
        "---------- Weitergeleitete Nachricht ---------\n"
        f"Von: {STRANGER}\nDate: Di., 3. März 2026 um 09:15 Uhr\nSubject: Hallo\nTo: {OWNER}\n\n"
        + STRANGER_TEXT,
        "forward",
    ),
    "apple-fwd-fr": Forward(
        "Fwd: Bonjour",
        f"Début du message réexpédié :\n\nDe: {STRANGER}\nObjet: Bonjour\n"
        f"Date: 3 mars 2026 à 09:15:00 UTC+1\nÀ: {OWNER}\n\n" + STRANGER_TEXT,
        "forward",
    ),
    "thunderbird-fwd": Forward(
        "Fwd: Hello",
        "-------- Forwarded Message --------\nSubject: \tHello\n"
        f"Date: \tTue, 3 Mar 2026 09:15:00 +0100\nFrom: \t{STRANGER}\nTo: \t{OWNER}\n\n"
        + STRANGER_TEXT,
        "forward",
    ),
    "yahoo-fwd": Forward(
        "Fw: Hello",
        f"----- Forwarded Message -----\nFrom: {STRANGER}\nTo: {OWNER}\n"
        "Sent: Tuesday, March 3, 2026, 09:15:00 AM GMT+1\nSubject: Hello\n\n" + STRANGER_TEXT,
        "forward",
    ),
    "gmail-fwd-html": Forward(
        "Fwd: Hello",
        '<div dir="ltr"><br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        "---------- Forwarded message ---------<br>From: <strong>Eve Stranger</strong> "
        "<span>&lt;eve@s.example&gt;</span><br>Date: Tue, Mar 3, 2026 at 9:15\u202fAM<br>"
        f"Subject: Hello<br>To: Pat Doe &lt;pat@example.org&gt;<br></div><br><br>"
        f"{as_html(STRANGER_TEXT)}</div></div>",
        "forward",
        html=True,
    ),
    # The owner's lines above a recognised forward are theirs (see the module docstring).
    "gmail-fwd-with-lines": Forward(
        "Fwd: Hello",
        "---------- Forwarded message ---------\n"
        f"From: {STRANGER}\nDate: Tue, Mar 3, 2026 at 9:15 AM\nSubject: Hello\nTo: {OWNER}\n\n"
        + STRANGER_TEXT,
        "forward",
        lines=(NOTE,),
    ),
    "outlook-sv-vb-with-lines": Forward(
        "VB: Hej",
        outlook_forward(("Från:", "Skickat:", "Till:", "Ämne:"), "den 3 mars 2026 09:15", None),
        "header-block",
        lines=(TIER,),
    ),
    # No forward subject, a forward marker in the body: the same.
    "marker-without-fwd-subject": Forward(
        "for the record",
        "---------- Forwarded message ---------\n"
        f"From: {STRANGER}\nDate: Tue, Mar 3, 2026 at 9:15 AM\nSubject: Hello\nTo: {OWNER}\n\n"
        + STRANGER_TEXT,
        "forward",
        lines=(DONE,),
    ),
}


@pytest.mark.parametrize("name", list(FORWARDS))
def test_a_forward_is_never_commands_and_logs_its_sender(name: str) -> None:
    case = FORWARDS[name]
    if case.html:
        info = read_mail(mail(None, case.text, subject=case.subject))
    else:
        own = "".join(f"{line}\n" for line in case.lines)
        info = read_mail(mail(own + "\n" + case.text, subject=case.subject))
    assert applied(info) == list(case.lines)
    [original] = info.forwarded
    assert (original.sender, original.name) == ("eve@s.example", "Eve Stranger")
    # 09:15 in the zone of the forward's own Date (+0100)
    assert original.date == datetime(2026, 3, 3, 8, 15, tzinfo=UTC)
    assert info.cut_by == case.rule
    assert "weed" not in info.new_text and "Hi Pat" not in info.new_text


def test_a_forward_subject_without_a_forwarded_block_has_no_commands() -> None:
    # A client that forwards the text alone: any line may be the stranger's.
    info = read_mail(mail(STRANGER_TEXT, subject="VB: Hej"))
    assert (applied(info), info.cut_by, info.forwarded) == ([], "forward-subject", ())
    info = read_mail(mail(f"{SNOOZE}\n", subject="Fwd: note to self"))
    assert (applied(info), info.cut_by) == ([], "forward-subject")


def stranger_mail() -> bytes:
    return raw(
        f"From: {STRANGER}\nTo: {OWNER}\nSubject: weed anna@a.example\n"
        "Date: Tue, 03 Mar 2026 09:15:00 +0100\nMessage-ID: <eve-1@s.example>",
        STRANGER_TEXT.replace("\n", "\r\n"),
    )


@pytest.mark.parametrize(
    ("subject", "own", "expected"),
    [
        ("Fwd: weed anna@a.example", "", []),
        ("VB: weed anna@a.example", f"{TIER}\n", [TIER]),
        ("weed anna@a.example", "", ["weed anna@a.example"]),  # the owner's own subject counts
    ],
)
def test_an_attached_forward_is_never_commands(subject: str, own: str, expected: list[str]) -> None:
    info = read_mail(mail(own, subject=subject, attach=stranger_mail()))
    assert applied(info) == expected
    assert [f.sender for f in info.forwarded] == ["eve@s.example"]
    assert "weed" not in info.new_text


def test_a_forwarded_digest_logs_no_one() -> None:
    """The owner forwards the digest itself to the command address: mailer's text, no sender."""
    d = digest()
    text = (
        f"{DONE}\n\n---------- Forwarded message ---------\nFrom: {OWNER}\n"
        f"Date: Wed, Mar 4, 2026 at 7:30 AM\nSubject: {d.subject}\nTo: {OWNER}\n\n{d.body}"
    )
    info = read_mail(mail(text, subject=f"Fwd: {d.subject}"))
    assert (applied(info), info.forwarded, info.cut_by) == ([DONE], (), "forward")


# --- any prefix, any header block ---------------------------------------------------------------

HEADER_BLOCKS = [
    "",
    "On Wed, Mar 4, 2026 at 7:30 AM Pat Doe <pat@example.org> wrote:",
    "________________________________\nFrom: Pat Doe <pat@example.org>\nSent: {d}",
    "Från: Pat Doe <pat@example.org>\nSkickat: den 4 mars 2026 07:30\nTill: Pat\nÄmne: {s}",
    "差出人: Pat Doe <pat@example.org>\n送信日時: 2026年3月4日 7:30\n件名: {s}",
    "---- On Wed, 04 Mar 2026 07:30:00 +0100 Pat Doe <pat@example.org> wrote ----",
    "-------- Message d'origine --------\nDe : Pat Doe <pat@example.org>\nDate : 04/03/2026",
    "Subject: {s}",
]
_words = st.text(
    alphabet=st.characters(codec="utf-8", categories=("Lu", "Ll", "Lo")), min_size=1, max_size=12
).filter(lambda w: w.lower() not in VERBS)  # "Weed A: Pat <...>" is a command that errs
# A header block of another client, in another language: "<word(s)>: <address or date>".
_invented_block = st.lists(
    st.tuples(
        st.lists(_words, min_size=1, max_size=3).map(" ".join),
        st.sampled_from(["Pat Doe <pat@example.org>", "4.3.2026 7:30", "2026-03-04", "x"]),
    ),
    min_size=2,
    max_size=5,
).map(lambda pairs: "\n".join(f"{k}: {v}" for k, v in pairs))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from(["> ", ">", "> > ", "| ", "    ", "\t", "\xa0\xa0", ""]),
    block=st.one_of(st.sampled_from(HEADER_BLOCKS), _invented_block),
    block_prefixed=st.booleans(),
    drop_mark=st.booleans(),
    own=st.lists(st.sampled_from([SNOOZE, DONE, TIER, TAG, TRUST, WEED]), max_size=4),
    html_only=st.booleans(),
)
def test_no_line_of_a_quoted_digest_is_ever_a_command(
    prefix: str, block: str, block_prefixed: bool, drop_mark: bool, own: list[str], html_only: bool
) -> None:
    d = digest()
    body = d.body.split("\n", 1)[1] if drop_mark else d.body
    header = block.format(d="Wednesday, March 4, 2026 7:30 AM", s=d.subject)
    quote = quoted(header, prefix) if block_prefixed and header else header
    text = "\n".join(own) + "\n\n" + (quote + "\n\n" if quote else "") + quoted(body, prefix)
    raw_mail = mail(None, as_html(text)) if html_only else mail(text + "\n")
    info = read_mail(raw_mail)
    assert applied(info) == own


# --- the rules one by one ---------------------------------------------------------------------


def test_cut_reply_says_where_and_why() -> None:
    cut = cut_reply(f"{SNOOZE}\n\nFrån: Pat <pat@example.org>\nSkickat: 4 mars 2026 07:30\n")
    assert cut == Cut(text=SNOOZE, rule="header-block", line=2, quote="header-block")
    assert cut_reply(f"{SNOOZE}\n").rule == "none"
    assert cut_reply(f"{SNOOZE}\n> x\n{DONE}").text == f"{SNOOZE}\n{DONE}"
    assert cut_reply(f"{SNOOZE}\n> x\n{DONE}").rule == "quote-lines"


@pytest.mark.parametrize(
    "text",
    [
        # a command line is never a quote header, whatever it carries
        "snooze anna@a.example 2w:\ndone emil@e.example",
        "note anna@a.example call on 2026-03-05 10:00:\ndone emil@e.example",
        "tag anna@a.example: berlin\ntier anna@a.example: inner\ndone emil@e.example",
        # prose with a colon but no address nor date, or a date with no quote below
        "Things to do:\ndone emil@e.example",
        "Plans for 2026-03-05 at 10:00:\ndone emil@e.example",
        "Note: called her\nPS: later\ndone emil@e.example",
        # one header-like line is no block
        "Subject: mailer digest 2026-03-04\ndone emil@e.example",
        # a row of dashes without words is no separator
        "-------\ndone emil@e.example\n---",
    ],
)
def test_the_owners_own_lines_are_not_taken_for_a_quote(text: str) -> None:
    cut = cut_reply(text)
    assert cut.rule in ("none", "library") and cut.line is None, cut
    assert "done emil@e.example" in cut.text


# --- through Dovecot and `mailer commands run` --------------------------------------------------
