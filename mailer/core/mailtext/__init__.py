"""What a command mail says: raw bytes in, the owner's new lines and any forwarded originals out.

The owner talks to mailer from whatever client they use, so the text of a
command mail arrives wrapped in that client's habits: a quote of the mail
they replied to (with ">", "|", indentation, or, as Outlook does, no prefix
at all below a block of translated headers), a signature, an HTML-only body,
format=flowed line wrapping, a forwarded message inline or attached. Only the
lines the owner wrote now may become commands: a command that survives inside
quoted text would be applied again every time someone replies to a digest.

Each step has its module here: `mime` (the parse, within bounds, and its
parts), `fields` (From and recipients), `htmltext` (HTML bodies), `lines`
and `quotes` (where the owner's new lines end, `cut_reply`), `reply_library`
(mail-parser-reply trims the rest), `forwards` (forwarded originals);
`limits` holds every bound; dates are `mailer.core.dates`. `read_mail` puts
them together, and never raises.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import email
import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from email import policy
from email.message import Message
from typing import TypeVar

from mailer.core.dates import offset_of, parse_rfc_date
from mailer.core.dates import parse_loose_date as parse_loose_date  # for importers
from mailer.core.mailtext.fields import _addr_list, _decode_words, _raw_headers, _read_from
from mailer.core.mailtext.forwards import (
    Forwarded,
    _attached,
    _forwarded_from_fields,
    _has_attached_message,
    is_forward_subject,
)
from mailer.core.mailtext.htmltext import html_to_text
from mailer.core.mailtext.limits import MAX_HTML_CHARS, MAX_TEXT_CHARS
from mailer.core.mailtext.limits import MAX_RAW_BYTES as MAX_RAW_BYTES  # for importers
from mailer.core.mailtext.lines import _COMMAND_WORDS as _COMMAND_WORDS  # for importers
from mailer.core.mailtext.lines import MARK
from mailer.core.mailtext.mime import _bounded, _is_attachment, _params, _parts, unflow
from mailer.core.mailtext.quotes import CUT_RULES, Cut, cut_reply

__all__ = [
    "CUT_RULES",
    "MARK",
    "Cut",
    "Forwarded",
    "MailInfo",
    "cut_reply",
    "html_to_text",
    "is_forward_subject",
    "read_mail",
]

_T = TypeVar("_T")


@dataclass(frozen=True)
class MailInfo:
    """What a command mail says, in our own terms."""

    message_id: str | None
    from_addresses: tuple[str, ...]  # lower-case; every reading of every From header
    from_name: str | None
    recipients: tuple[str, ...]  # lower-case To, Cc, Bcc, Delivered-To, X-Original-To
    subject: str
    date: datetime | None  # UTC
    auth_results: tuple[str, ...]  # raw Authentication-Results values, top (newest) first
    new_text: str  # the owner's new lines: quotes and signature removed
    forwarded: tuple[Forwarded, ...]
    content_hash: str  # sha256 hex of the normalized subject + new_text
    # Why the From header cannot be trusted to name one sender (None: it can).
    from_problem: str | None = None
    # Lower-case To, Cc, Bcc only: who the mail was written to (for "Bcc to log").
    addressees: tuple[str, ...] = ()
    # Lower-case To and Cc only: an address missing here but among `recipients` was Bcc'd.
    to_cc: tuple[str, ...] = ()
    # Which rule ended `new_text` (a key of CUT_RULES).
    cut_by: str = "none"


def _safe(fn: Callable[[], _T], default: _T) -> _T:
    """Run one step of reading; a mail that breaks it loses that step only."""
    try:
        return fn()
    except Exception:  # hostile input (RecursionError included): "not understood"
        return default


# --- the text read ------------------------------------------------------------------
# Here, not in `mime`: like `read_mail`, these call each step (unflow, html_to_text,
# cut_reply) by its name in this package, where a test watches what each is given.


def _part_text(part: Message) -> str:
    """A text part's content as str, whatever its charset claims (bounded)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    limit = MAX_HTML_CHARS if part.get_content_type() == "text/html" else MAX_TEXT_CHARS
    payload = payload[: 4 * limit]  # at most 4 bytes a character
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, "replace")
    except (LookupError, ValueError):
        text = payload.decode("utf-8", "replace")
    text = text[:limit]
    if part.get_content_type() == "text/plain":
        params = {k.lower(): v.lower() for k, v in _params(part)}
        if params.get("format") == "flowed":
            text = unflow(text, delsp=params.get("delsp") == "yes")
    return text


def _bodies(msg: Message) -> tuple[str, str]:
    """(first inline text/plain, first inline text/html) of the mail itself."""
    plain = html = None
    for part in _parts(msg):
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html") or _is_attachment(part):
            continue
        if kind == "text/plain" and plain is None:
            plain = _part_text(part)
        elif kind == "text/html" and html is None:
            html = _part_text(part)
        if plain is not None and html is not None:
            break
    return plain or "", html or ""


def _normalized(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def content_hash(subject: str, new_text: str) -> str:
    """Same words, same hash: a mail delivered twice is applied once."""
    data = _normalized(subject) + "\n\x00\n" + _normalized(new_text)
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


def new_text_of(text: str) -> str:
    """The lines the owner wrote now: above any quote, forward and signature."""
    return cut_reply(text).text


def inline_forward(text: str, subject: str, default_tz: tzinfo = UTC) -> Forwarded | None:
    """The message forwarded inline in `text`, if the text is a forward.

    Gmail, Apple Mail and Thunderbird mark a forward explicitly. Outlook uses
    the same "From: / Sent:" block (in the client's language) for replies and
    forwards, so that block counts only when the subject says forward.
    Whatever comes first decides: a forward marker below a reply header
    belongs to an older message in the quote, not to this mail.
    """
    cut = cut_reply(text, subject)
    if cut.forward is None:
        return None
    return _forwarded_from_fields(dict(cut.forward), default_tz)


# --- the whole mail ---------------------------------------------------------------


def read_mail(raw: bytes) -> MailInfo:
    """Everything the command code needs from one raw mail. Never raises."""
    try:
        # compat32: the default policy parses every part's headers as it goes (15x slower)
        msg = email.message_from_bytes(_bounded(bytes(raw)), policy=policy.compat32)
    except Exception:
        msg = email.message_from_bytes(b"", policy=policy.compat32)

    def values(*names: str) -> list[str]:
        found: list[str] = []
        for name in names:
            try:
                found.extend(_raw_headers(msg, name))
            except Exception:
                continue
        return found

    ids = values("Message-ID")
    message_id = ids[0].strip() or None if ids else None
    subjects = values("Subject")
    subject = (
        " ".join(_safe(lambda: _decode_words(subjects[0]), subjects[0]).split()) if subjects else ""
    )
    dates = values("Date")
    date_value = dates[0] if dates else None
    date = _safe(lambda: parse_rfc_date(date_value), None)
    utc: tzinfo = UTC
    local_tz = _safe(lambda: offset_of(date_value), utc)

    no_from: tuple[tuple[str, ...], str | None, str | None] = ((), None, "unreadable From header")
    from_addresses, from_name, from_problem = _safe(lambda: _read_from(msg), no_from)
    direct: list[str] = _safe(lambda: _addr_list(values("To", "Cc")), [])
    to_cc: list[str] = _safe(lambda: _addr_list(values("To", "Cc", "Bcc")), [])
    delivered: list[str] = _safe(lambda: _addr_list(values("Delivered-To", "X-Original-To")), [])

    plain, html = _safe(lambda: _bodies(msg), ("", ""))
    text = plain
    if not plain.strip() and html.strip():
        text = _safe(lambda: html_to_text(html, quote_prefix=True), "")
    nothing = Cut("", "none")
    cut = _safe(lambda: cut_reply(text, subject), nothing) if text.strip() else nothing

    forwarded: list[Forwarded] = []
    if cut.forward is not None:
        inline = _safe(lambda: _forwarded_from_fields(dict(cut.forward or {}), local_tz), None)
        if inline is not None:
            forwarded.append(inline)
    no_attached: list[Forwarded] = []
    forwarded.extend(_safe(lambda: _attached(msg), no_attached))
    new_text, cut_by = cut.text, cut.rule
    if (
        cut.quote is None
        and is_forward_subject(subject)
        and not _safe(lambda: _has_attached_message(msg), False)
    ):
        # A forward whose forwarded part we cannot find: any line may be the original's.
        new_text, cut_by = "", "forward-subject"

    return MailInfo(
        message_id=message_id,
        from_addresses=tuple(from_addresses),
        from_name=from_name,
        recipients=tuple(dict.fromkeys([*to_cc, *delivered])),
        subject=subject,
        date=date,
        auth_results=tuple(values("Authentication-Results")),
        new_text=new_text,
        forwarded=tuple(dict.fromkeys(forwarded)),
        content_hash=content_hash(subject, new_text),
        from_problem=from_problem,
        addressees=tuple(to_cc),
        to_cc=tuple(direct),
        cut_by=cut_by,
    )
