"""mailer.core.mailtext: the owner's new lines, and forwarded originals, from real-looking mail.

Each client quotes differently, and a command that survives inside quoted
text would be applied again on every reply, so every client shape is checked
both ways: the new lines are kept, the quoted command is gone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.core.mailtext import (
    Forwarded,
    content_hash,
    html_to_text,
    new_text_of,
    parse_loose_date,
    read_mail,
    unflow,
)

OWNER = "Pat Doe <pat.doe@example.org>"
COMMAND = "pat.doe+mailer-k3x9q2@example.org"
DIGEST_FROM = f"mailer <{COMMAND}>"
SIG_DASH = "-- "  # the signature separator, trailing space included
QUOTED_COMMAND = "done bob@x.org"  # inside every quote below; must never survive


def mail(
    plain: str | None = None,
    html: str | None = None,
    *,
    subject: str = "Re: [mailer] digest",
    cte: str | None = None,
    date: str = "Wed, 4 Mar 2026 10:00:00 +0100",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = OWNER
    msg["To"] = COMMAND
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = "<abc@example.org>"
    if plain is not None:
        msg.set_content(plain, cte=cte) if cte else msg.set_content(plain)
        if html is not None:
            msg.add_alternative(html, subtype="html", cte=cte) if cte else msg.add_alternative(
                html, subtype="html"
            )
    elif html is not None:
        msg.set_content(html, subtype="html", cte=cte) if cte else msg.set_content(
            html, subtype="html"
        )
    return msg.as_bytes(policy=SMTP)


# --- replies ---------------------------------------------------------------------

GMAIL_PLAIN = f"""snooze anna@x.org 2w
log Zoë Müller met at the conference

On Tue, 3 Mar 2026 at 09:15, mailer <{COMMAND}>
wrote:

> Due today:
> {QUOTED_COMMAND}
>
"""
GMAIL_HTML = f"""<div dir="ltr"><div>snooze anna@x.org 2w</div><div>log Zoë Müller met at the
 conference</div><br><div dir="ltr" class="gmail_signature" data-smartmail="gmail_signature">
Pat Doe<br>done sig@x.org</div></div><br><div class="gmail_quote"><div dir="ltr"
 class="gmail_attr">On Tue, 3 Mar 2026 at 09:15, mailer &lt;{COMMAND}&gt; wrote:<br></div>
<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">Due today:<br>
{QUOTED_COMMAND}<br></blockquote></div>
"""

OUTLOOK_PLAIN = f"""tier anna@x.org inner
note José García likes jazz

________________________________
From: mailer <{COMMAND}>
Sent: Tuesday, March 3, 2026 9:15 AM
To: Pat Doe <pat.doe@example.org>
Subject: [mailer] digest

{QUOTED_COMMAND}
"""
OUTLOOK_HTML = f"""<html><head><style>p {{margin:0}}</style></head><body>
<div style="font-family: Calibri">tier anna@x.org inner</div>
<div style="font-family: Calibri">note José García likes jazz</div>
<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">
<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri" style="font-size:11pt">
<b>From:</b> mailer &lt;{COMMAND}&gt;<br><b>Sent:</b> Tuesday, March 3, 2026 9:15 AM<br>
<b>To:</b> Pat Doe &lt;pat.doe@example.org&gt;<br><b>Subject:</b> [mailer] digest</font>
<div>&nbsp;</div></div><div><div>{QUOTED_COMMAND}</div></div></body></html>
"""
OUTLOOK_ORIGINAL = f"""weed anna@x.org

-----Original Message-----
From: mailer [mailto:{COMMAND}]
Sent: Tuesday, March 3, 2026 9:15 AM
To: Pat Doe
Subject: [mailer] digest

{QUOTED_COMMAND}
"""
APPLE_PLAIN = f"""ignore anna@x.org

Sent from my iPhone

> On 3 Mar 2026, at 09:15, mailer <{COMMAND}> wrote:
>
> {QUOTED_COMMAND}
"""
APPLE_HTML = f"""<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">
</head><body dir="auto"><div dir="ltr">ignore anna@x.org</div><div dir="ltr"><br>
<blockquote type="cite">On 3 Mar 2026, at 09:15, mailer &lt;{COMMAND}&gt; wrote:<br><br>
</blockquote></div><blockquote type="cite"><div dir="ltr">{QUOTED_COMMAND}</div>
</blockquote></body></html>
"""
SIGNATURE_PLAIN = f"""note Zoë Müller moved to Lyon
{SIG_DASH}
Pat Doe
{QUOTED_COMMAND}
"""


@pytest.mark.parametrize(
    ("plain", "html", "cte", "expected"),
    [
        pytest.param(
            GMAIL_PLAIN,
            GMAIL_HTML,
            None,
            ["snooze anna@x.org 2w", "log Zoë Müller met at the conference"],
            id="gmail-alternative",
        ),
        pytest.param(
            None,
            GMAIL_HTML,
            None,
            ["snooze anna@x.org 2w", "log Zoë Müller met at the conference"],
            id="gmail-html-only",
        ),
        pytest.param(
            GMAIL_PLAIN,
            None,
            "quoted-printable",
            ["snooze anna@x.org 2w", "log Zoë Müller met at the conference"],
            id="gmail-plain-qp",
        ),
        pytest.param(
            OUTLOOK_PLAIN,
            OUTLOOK_HTML,
            "quoted-printable",
            ["tier anna@x.org inner", "note José García likes jazz"],
            id="outlook-alternative-qp",
        ),
        pytest.param(
            None,
            OUTLOOK_HTML,
            None,
            ["tier anna@x.org inner", "note José García likes jazz"],
            id="outlook-html-only",
        ),
        pytest.param(OUTLOOK_ORIGINAL, None, None, ["weed anna@x.org"], id="outlook-original"),
        pytest.param(APPLE_PLAIN, APPLE_HTML, None, ["ignore anna@x.org"], id="apple-iphone"),
        pytest.param(None, APPLE_HTML, "base64", ["ignore anna@x.org"], id="apple-html-b64"),
        pytest.param(
            SIGNATURE_PLAIN, None, None, ["note Zoë Müller moved to Lyon"], id="dash-signature"
        ),
    ],
)
def test_new_text_is_only_the_owners_new_lines(
    plain: str | None, html: str | None, cte: str | None, expected: list[str]
) -> None:
    info = read_mail(mail(plain, html, cte=cte))
    lines = [line for line in info.new_text.splitlines() if line.strip()]
    assert lines == expected
    assert QUOTED_COMMAND not in info.new_text
    assert "done sig@x.org" not in info.new_text
    assert info.forwarded == ()


def test_headers_are_read() -> None:
    raw = mail(GMAIL_PLAIN, subject="=?utf-8?q?snooze_Zo=C3=AB_2w?=")
    raw = raw.replace(
        b"From: Pat Doe <pat.doe@example.org>",
        b"From: =?utf-8?q?Zo=C3=AB_Doe?= <Pat.Doe@Example.org>\r\n"
        b"Cc: Anna <ANNA@x.org>\r\nDelivered-To: pat.doe@example.org\r\n"
        b"X-Original-To: " + COMMAND.upper().encode() + b"\r\n"
        b"Authentication-Results: mx.example.org; dkim=pass header.d=example.org",
    )
    info = read_mail(raw)
    assert info.message_id == "<abc@example.org>"
    assert info.from_addresses == ("pat.doe@example.org",)
    assert info.from_name == "Zoë Doe"
    assert info.from_problem is None
    assert info.subject == "snooze Zoë 2w"
    assert info.date == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    assert info.recipients == (COMMAND, "anna@x.org", "pat.doe@example.org")
    assert info.addressees == (COMMAND, "anna@x.org")
    assert info.auth_results == ("mx.example.org; dkim=pass header.d=example.org",)


def test_only_a_quote_means_no_new_text() -> None:
    # mail-parser-reply returns the quote itself as "the reply" here; we must not.
    text = f"On Tue, 3 Mar 2026 at 09:15, mailer <{COMMAND}> wrote:\n> {QUOTED_COMMAND}\n"
    assert new_text_of(text) == ""
    assert read_mail(mail(text)).new_text == ""


def test_bare_quote_lines_never_survive() -> None:
    # No attribution line at all: the ">" lines are still quotes.
    text = f"log anna@x.org lunch\n> {QUOTED_COMMAND}\nsnooze anna@x.org 2w\n"
    assert new_text_of(text) == "log anna@x.org lunch\nsnooze anna@x.org 2w"


def test_hyphen_lists_are_not_signatures() -> None:
    text = "- first thing\ndone anna@x.org\n"
    assert "done anna@x.org" in new_text_of(text)


def test_format_flowed_lines_are_joined() -> None:
    body = (
        "note anna@x.org we talked about the new project and she would like an \r\n"
        "intro to someone in climate tech\r\n\r\n> quoted \r\n> line\r\n"
    )
    raw = (
        f"From: {OWNER}\r\nTo: {COMMAND}\r\nSubject: x\r\n"
        "Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n" + body
    ).encode()
    assert read_mail(raw).new_text == (
        "note anna@x.org we talked about the new project and she would like an "
        "intro to someone in climate tech"
    )
    assert unflow("a \n b\n-- \nsig", delsp=False) == "a b\n-- \nsig"
    assert unflow("ab \ncd", delsp=True) == "abcd"


def test_8bit_latin1_body_and_unknown_charset() -> None:
    raw = (
        f"From: {OWNER}\r\nTo: {COMMAND}\r\nSubject: x\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + "note José García café\r\n".encode("latin-1")
    assert read_mail(raw).new_text == "note José García café"
    raw = raw.replace(b"iso-8859-1", b"x-no-such-charset")
    assert read_mail(raw).new_text.startswith("note Jos")


def test_content_hash_ignores_layout_only() -> None:
    assert content_hash("s", "a  b\n\n c\n") == content_hash("s ", "a b\nc")
    assert content_hash("s", "a b") != content_hash("s", "a c")
    assert content_hash("s", "a b") != content_hash("t", "a b")
    assert (
        read_mail(mail("done anna@x.org\n")).content_hash
        == read_mail(mail("done anna@x.org\n", "<p>done anna@x.org</p>")).content_hash
    )


# --- HTML ------------------------------------------------------------------------


def test_html_to_text_line_breaks_and_quotes() -> None:
    html = (
        "<p>one</p><p>two<br>three</p><div>four</div>five &amp; six&nbsp;seven"
        "<blockquote>quoted<blockquote>deeper</blockquote>still quoted</blockquote>"
        '<div class="gmail_quote"><div>also quoted</div></div>'
        "<script>var x = 1;</script><style>p {}</style><pre>  kept\n  as is</pre>"
    )
    text = html_to_text(html)
    assert [line for line in text.splitlines() if line] == [
        "one",
        "two",
        "three",
        "four",
        "five & six seven",
        "kept",
        "as is",
    ]
    kept = html_to_text(html, keep_quotes=True)
    assert "quoted" in kept and "deeper" in kept and "also quoted" in kept


def test_html_to_text_survives_broken_markup() -> None:
    assert html_to_text("<div><blockquote>never closed") == ""
    assert html_to_text("a<br/>b<div/>c</p></div></blockquote>") == "a\nb\nc"
    assert html_to_text("<<>>&#xffffffff;&bogus;<a href='") is not None


# --- forwards ----------------------------------------------------------------------

MARCH_3_0815 = datetime(2026, 3, 3, 8, 15, tzinfo=UTC)
GMAIL_FORWARD = """log this one, she asked about the job

---------- Forwarded message ---------
From: Anna Berg <Anna@x.org>
Date: Tue, Mar 3, 2026 at 9:15 AM
Subject: The job
To: Pat Doe <pat.doe@example.org>


Hello Pat, is the job still open?
"""
GMAIL_FORWARD_HTML = """<div dir="ltr">log this one<br><br><div class="gmail_quote">
<div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From:
 <strong class="gmail_sendername" dir="auto">Anna Berg</strong> <span dir="auto">
&lt;<a href="mailto:anna@x.org">anna@x.org</a>&gt;</span><br>Date: Tue, Mar 3, 2026 at 9:15 AM
<br>Subject: The job<br>To: Pat Doe &lt;<a href="mailto:pat.doe@example.org">
pat.doe@example.org</a>&gt;<br></div><br><br><div dir="ltr">Hello Pat</div></div></div>
"""
APPLE_FORWARD = """FYI

Begin forwarded message:

From: José García <jose@x.es>
Subject: Hola
Date: 3 March 2026 at 09:15:00 CET
To: Pat Doe <pat.doe@example.org>

Hola Pat, ¿qué tal?
"""
OUTLOOK_FORWARD = """FYI

________________________________
From: Zoë Müller <zoe@x.de>
Sent: Tuesday, March 3, 2026 9:15 PM
To: Pat Doe <pat.doe@example.org>
Subject: Lyon

Salut Pat
"""
OUTLOOK_OLD_FORWARD = """-----Original Message-----
From: Müller, Zoë [mailto:zoe@x.de]
Sent: Tuesday, 3 March 2026 21:15
To: Pat Doe
Subject: Lyon

Salut Pat
"""


@pytest.mark.parametrize(
    ("plain", "html", "subject", "expected"),
    [
        pytest.param(
            GMAIL_FORWARD,
            None,
            "Fwd: The job",
            Forwarded(
                "anna@x.org", "Anna Berg", datetime(2026, 3, 3, 8, 15, tzinfo=UTC), "The job"
            ),
            id="gmail",
        ),
        pytest.param(
            None,
            GMAIL_FORWARD_HTML,
            "Fwd: The job",
            Forwarded(
                "anna@x.org", "Anna Berg", datetime(2026, 3, 3, 8, 15, tzinfo=UTC), "The job"
            ),
            id="gmail-html-only",
        ),
        pytest.param(
            APPLE_FORWARD,
            None,
            "Fwd: Hola",
            Forwarded("jose@x.es", "José García", datetime(2026, 3, 3, 8, 15, tzinfo=UTC), "Hola"),
            id="apple",
        ),
        pytest.param(
            OUTLOOK_FORWARD,
            None,
            "FW: Lyon",
            Forwarded("zoe@x.de", "Zoë Müller", datetime(2026, 3, 3, 20, 15, tzinfo=UTC), "Lyon"),
            id="outlook",
        ),
        pytest.param(
            OUTLOOK_OLD_FORWARD,
            None,
            "WG: Lyon",
            Forwarded("zoe@x.de", "Müller, Zoë", datetime(2026, 3, 3, 20, 15, tzinfo=UTC), "Lyon"),
            id="outlook-original-message",
        ),
    ],
)
def test_inline_forwards(
    plain: str | None, html: str | None, subject: str, expected: Forwarded
) -> None:
    # The forward's zoneless dates are read in the zone of the outer Date (+0100).
    info = read_mail(mail(plain, html, subject=subject, cte="quoted-printable"))
    assert info.forwarded == (expected,)
    assert "Hello" not in info.new_text and "Hola" not in info.new_text
    assert "From:" not in info.new_text


def test_outlook_reply_block_is_not_a_forward() -> None:
    # Outlook uses the same "From: / Sent:" block for replies; only a forward subject counts.
    assert read_mail(mail(OUTLOOK_FORWARD, subject="RE: Lyon")).forwarded == ()


def test_forward_marker_inside_an_older_quote_is_not_this_mails_forward() -> None:
    text = (
        "done anna@x.org\n\nOn Tue, 3 Mar 2026 at 09:15, Anna Berg <anna@x.org> wrote:\n"
        "> ---------- Forwarded message ---------\n> From: Bob <bob@x.org>\n"
        "> Date: Tue, Mar 3, 2026 at 9:15 AM\n"
    )
    assert read_mail(mail(text, subject="Re: hi")).forwarded == ()


def test_attached_forward() -> None:
    inner = EmailMessage()
    inner["From"] = "=?utf-8?q?Jos=C3=A9_Garc=C3=ADa?= <Jose@X.es>"
    inner["To"] = OWNER
    inner["Subject"] = "Hola"
    inner["Date"] = "Tue, 3 Mar 2026 09:15:00 +0100"
    inner.set_content("Hola Pat\n\ndone bob@x.org\n")
    outer = EmailMessage()
    outer["From"] = OWNER
    outer["To"] = COMMAND
    outer["Subject"] = "Fwd: Hola"
    outer.set_content("log met him at the meetup\n")
    outer.add_attachment(inner)
    info = read_mail(outer.as_bytes())
    assert info.forwarded == (
        Forwarded("jose@x.es", "José García", datetime(2026, 3, 3, 8, 15, tzinfo=UTC), "Hola"),
    )
    assert info.new_text == "log met him at the meetup"  # not the attached mail's body


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, Mar 3, 2026 at 9:15 AM", datetime(2026, 3, 3, 9, 15, tzinfo=UTC)),
        ("Tue, 3 Mar 2026 at 21:15", datetime(2026, 3, 3, 21, 15, tzinfo=UTC)),
        ("3 March 2026 at 09:15:00 CET", datetime(2026, 3, 3, 8, 15, tzinfo=UTC)),
        ("3 March 2026 at 09:15:00 GMT+1", datetime(2026, 3, 3, 8, 15, tzinfo=UTC)),
        ("March 3, 2026 at 9:15:32 PM PST", datetime(2026, 3, 4, 5, 15, 32, tzinfo=UTC)),
        ("Tuesday, March 3, 2026 9:15 PM", datetime(2026, 3, 3, 21, 15, tzinfo=UTC)),
        ("Tuesday, March 3, 2026 12:05 AM", datetime(2026, 3, 3, 0, 5, tzinfo=UTC)),
        ("Tue, 3 Mar 2026 09:15:00 +0100", datetime(2026, 3, 3, 8, 15, tzinfo=UTC)),
        ("2026-03-03 09:15", datetime(2026, 3, 3, 9, 15, tzinfo=UTC)),
        ("Tue 13/3/2026 9:15", datetime(2026, 3, 13, 9, 15, tzinfo=UTC)),
        ("Tue 3/4/2026 9:15 AM", None),  # March 4th or 3 April: no guess
        ("yesterday", None),
        ("", None),
    ],
)
def test_loose_dates(value: str, expected: datetime | None) -> None:
    assert parse_loose_date(value) == expected


# --- never raises -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_read_mail_never_raises_on_bytes(raw: bytes) -> None:
    info = read_mail(raw)
    assert len(info.content_hash) == 64


HEADER_NAMES = [
    "From",
    "To",
    "Cc",
    "Bcc",
    "Delivered-To",
    "X-Original-To",
    "Subject",
    "Date",
    "Message-ID",
    "Authentication-Results",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "MIME-Version",
]
header_value = st.one_of(
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"multipart/mixed; boundary=x",
            b"message/rfc822",
            b"text/plain; charset=utf-16; format=flowed; delsp=yes",
            b'text/html; charset=""',
            b"=?utf-8?q?=E2=80?= <a@b>",
            b"=?x-unknown?b?!!!?=",
            b'"a@b.org" <c@d.org>, (x) <@e>',
            b"quoted-printable",
            b"base64",
            b"Tue, 31 Feb 99999 25:61:61 +9999",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_value), max_size=12),
    st.one_of(st.binary(max_size=500), st.text(max_size=500).map(str.encode)),
)
def test_read_mail_never_raises_on_arbitrary_headers(
    headers: list[tuple[str, bytes]], body: bytes
) -> None:
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    raw += b"\r\n" + body + b"\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n" + raw + body
    info = read_mail(raw)
    assert isinstance(info.subject, str)
    assert isinstance(info.forwarded, tuple)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_text_helpers_never_raise(text: str) -> None:
    new_text_of(text)
    html_to_text(text)
    html_to_text(text, keep_quotes=True)
    parse_loose_date(text)
    unflow(text)


def test_long_lines_survive_and_stay_cheap() -> None:
    note = "note anna@x.org " + "she talked about her plans for the year, " * 60
    info = read_mail(mail(note + "\n\n" + GMAIL_PLAIN.split("\n\n", 1)[1]))
    assert info.new_text == note.strip()
    # A long line starting like a quote header once took the reply library minutes.
    hostile = "On " + "a b " * 12_000  # 48 KB, under MAX_BODY_CHARS
    assert read_mail(mail(hostile)).new_text == hostile.strip()


# --- bounded reading ------------------------------------------------------------------

MB = 1024 * 1024


def _huge_flowed() -> bytes:
    line = "note anna@x.org we talked about the new project and she would like more \r\n"
    head = (
        f"From: {OWNER}\r\nTo: {COMMAND}\r\nSubject: x\r\n"
        "Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
    )
    return head.encode() + (line * (9 * MB // len(line))).encode()


def _huge_html() -> bytes:
    chunk = "<div><b>hello</b> <span style='x'>world</span> &amp; more<br></div>\n"
    head = f"From: {OWNER}\r\nTo: {COMMAND}\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n"
    return head.encode() + ("<p>done anna@x.org</p>" + chunk * (9 * MB // len(chunk))).encode()


def _many_parts(count: int = 100_000) -> bytes:
    head = (
        f"From: {OWNER}\r\nTo: {COMMAND}\r\nSubject: x\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    )
    first = "--b\r\nContent-Type: text/plain\r\n\r\ndone anna@x.org\r\n"
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\nx{i}\r\n" for i in range(count))
    return (head + first + parts + "--b--\r\n").encode()


def _deep(levels: int = 2_000) -> bytes:
    head = (
        f"From: {OWNER}\r\nTo: {COMMAND}\r\nSubject: x\r\n"
        'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n'
    )
    body = "".join(
        f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n'
        for i in range(levels)
    )
    return (head + body + "line\r\n" * 200_000).encode()


@pytest.mark.parametrize("make", [_huge_flowed, _huge_html, _many_parts, _deep])
def test_a_huge_mail_is_read_within_bounds(make: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each step sees at most its cap, whatever the mail (the times: `make bench`).

    The spies answer oversized input at once instead of doing the work, so the
    code that handed them a whole 9 MB body fails here quickly, not slowly.
    """
    import email as email_module

    from mailer.core import mailtext

    seen: dict[str, list[int]] = {"parsed": [], "unflow": [], "html": [], "cut": []}
    real_parse, real_unflow = email_module.message_from_bytes, mailtext.unflow
    real_html, real_cut = mailtext.html_to_text, getattr(mailtext, "cut_reply", None)

    def parse(raw: bytes, *args: object, **kwargs: object) -> object:
        seen["parsed"].append(len(raw))
        return real_parse(raw if len(raw) <= MB else b"", *args, **kwargs)  # type: ignore[arg-type]

    def spy(name: str, limit: int, real: object) -> object:
        def call(text: str, *args: object, **kwargs: object) -> object:
            seen[name].append(len(text))
            return real(text if len(text) <= limit else "", *args, **kwargs)  # type: ignore[operator]

        return call

    monkeypatch.setattr(email_module, "message_from_bytes", parse)
    monkeypatch.setattr(mailtext, "unflow", spy("unflow", 256_000, real_unflow))
    monkeypatch.setattr(mailtext, "html_to_text", spy("html", 256_000, real_html))
    if real_cut is not None:
        monkeypatch.setattr(mailtext, "cut_reply", spy("cut", 256_000, real_cut))
    raw = make()  # type: ignore[operator]
    assert len(raw) > MB
    info = read_mail(raw)
    assert max(seen["parsed"]) <= MB
    assert max(seen["unflow"] + seen["html"] + seen["cut"], default=0) <= 256_000
    assert len(info.new_text) <= 64_000
    if make is not _deep:
        assert info.new_text.startswith(("note anna@x.org", "done anna@x.org")), info.new_text[:80]
    assert mailtext.MAX_RAW_BYTES <= MB and mailtext.MAX_TEXT_CHARS <= 256_000


def _unflow_reference(text: str, delsp: bool = False) -> str:
    """RFC 3676 as the first version of `unflow` read it (joining as it went)."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for raw in text.replace("\r\n", "\n").split("\n"):
        depth = len(raw) - len(raw.lstrip(">"))
        line = raw[depth:]
        if line.startswith(" "):
            line = line[1:]
        flowed = line.endswith(" ") and line != "-- "
        if pending is not None and depth == pending_depth:
            line = pending + line
        elif pending is not None:
            out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
        pending = None
        if flowed:
            pending, pending_depth = (line[:-1] if delsp else line), depth
            continue
        out.append(">" * depth + (" " if depth else "") + line)
    if pending is not None:
        out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
    return "\n".join(out)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["a", " ", ">", "> ", "-- ", "\n", "\r\n", "xy "]), max_size=60).map(
        "".join
    ),
    st.booleans(),
)
def test_unflow_reads_as_before(text: str, delsp: bool) -> None:
    assert unflow(text, delsp) == _unflow_reference(text, delsp)


def test_html_quotes_can_be_written_as_a_plain_client_quotes() -> None:
    html = (
        "<div>done anna@x.org</div><blockquote>quoted<blockquote>deeper</blockquote>"
        'again</blockquote><div class="gmail_quote"><div>also</div></div><p>after</p>'
    )
    assert [line for line in html_to_text(html, quote_prefix=True).split("\n") if line] == [
        "done anna@x.org",
        "> quoted",
        "> > deeper",
        "> again",
        "> also",
        "after",
    ]
    # markup that html.parser reads in quadratic time, and odd but harmless shapes
    assert html_to_text("a<!--" * 5 + "b") == "a"
    assert html_to_text("x <? y") == "x"
    assert html_to_text("1 < 2 and 3 </ 4 <<b>bold</b>") == "1 < 2 and 3 </ 4 <bold"
    assert html_to_text('<div class="gmail_signature>sig</div>after') == "after"
    assert html_to_text("<script>if (a < b) {}</script>x&#1;&lt;y&gt;") == "x<y>"


def test_a_from_header_too_long_to_read_is_a_problem() -> None:
    long_name = '"' * 5000
    info = read_mail(
        mail("done anna@x.org\n").replace(b"From: Pat Doe", f"From: {long_name}".encode())
    )
    assert info.from_problem is not None and "longer than" in info.from_problem
    assert info.from_addresses == ()


def test_the_command_words_are_never_quote_headers() -> None:
    from mailer.core import mailtext
    from mailer.core.commands import VERBS

    assert set(VERBS) <= mailtext._COMMAND_WORDS
