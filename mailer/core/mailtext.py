"""What a command mail says: raw bytes in, the owner's new lines and any forwarded originals out.

The owner talks to mailer from whatever client they use, so the text of a
command mail arrives wrapped in that client's habits: a Gmail, Outlook or
Apple Mail quote of the mail they replied to, a signature, an HTML-only body,
format=flowed line wrapping, a forwarded message inline or attached. Only the
lines the owner wrote now may become commands: a command that survives inside
quoted text would be applied again every time someone replies to a digest.

Splitting a reply from its quote is a problem with a long tail of client
formats, so it is left to a maintained library (`mail-parser-reply`) rather
than to regexes of our own. That library is used carefully, though: it takes
the *first* fragment of a mail as "the reply" even when the mail starts with
a quote header (an empty reply), so we refuse that case ourselves, and we drop
any remaining ">" lines as a last guard.

Hostile input arrives here too (anyone can mail the command address), so
`read_mail` never raises: each part of the mail that cannot be understood is
left empty and the rest is still read. It is only run on the few mails sent
to the command address, so it uses the full `email` parser, not the fast
header path of `mailer.core.headers`.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email import policy
from email.errors import ObsoleteHeaderDefect
from email.headerregistry import HeaderRegistry
from email.message import Message
from html.parser import HTMLParser
from typing import TypeVar

from mailparser_reply import EmailMessage as ReplyText

__all__ = ["Forwarded", "MailInfo", "html_to_text", "read_mail"]

# Reply-header and signature patterns of these languages are applied. Left
# out on purpose: languages whose signature openers are common word starts
# ("Kh", "Tak" in Danish, "/\w+" in Swedish) and would cut off real lines.
REPLY_LANGUAGES = ("en", "de", "fr", "es", "it", "nl")

# Commands sit at the top of a mail; the quote below can be megabytes, and the
# reply library's regexes should not have to walk all of it.
MAX_BODY_CHARS = 64_000
LONG_LINE = 500  # longer lines are shown to the reply library by their start only
LINE_HEAD = 200
MAX_PARTS = 200  # parts looked at per mail (torture tests nest thousands)

_T = TypeVar("_T")


@dataclass(frozen=True)
class Forwarded:
    """An original message the owner forwarded (inline or attached)."""

    sender: str  # lower-case address
    name: str | None
    date: datetime | None  # UTC
    subject: str | None
    message_id: str | None = None  # when the forward shows it (always, when attached)


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


def _safe(fn: Callable[[], _T], default: _T) -> _T:
    """Run one step of reading; a mail that breaks it loses that step only."""
    try:
        return fn()
    except Exception:  # hostile input (RecursionError included): "not understood"
        return default


# --- headers -----------------------------------------------------------------

_REGISTRY = HeaderRegistry()


def _clean(value: str) -> str:
    """A raw header value as text: 8-bit bytes decoded as UTF-8, folding undone."""
    try:
        value = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        value = value.encode("utf-8", "replace").decode("utf-8", "replace")
    return re.sub(r"\r?\n[ \t]*", " ", value).strip()


def _raw_headers(msg: Message, name: str) -> list[str]:
    """Every value of header `name`, in order, without the policy's parsing."""
    key = name.lower()
    return [_clean(str(v)) for k, v in msg.raw_items() if k.lower() == key]


def _decode_words(value: str) -> str:
    """RFC 2047 encoded words in free text (subjects, names)."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:
        return value


def _addr_list(values: list[str]) -> list[str]:
    """Lower-case addresses (with an @) of address header values, deduped in order."""
    seen: dict[str, None] = {}
    for _name, addr in email.utils.getaddresses(values):
        addr = addr.strip().lower()
        if "@" in addr and not addr.startswith("@"):
            seen.setdefault(addr)
    return list(seen)


def _read_from(msg: Message) -> tuple[tuple[str, ...], str | None, str | None]:
    """(addresses, display name, problem) of the From header(s).

    Two parsers read it: the header registry (what the `email` package
    believes) and `getaddresses` (closer to what many clients show). A
    look-alike such as ``pat@example.org <evil@x.org>`` reads as the owner in
    one and as a stranger in the other; every address either finds is kept,
    and any disagreement or defect is named in `problem`.
    """
    values = _raw_headers(msg, "From")
    problem = None
    if len(values) > 1:
        problem = f"{len(values)} From headers"
    registry: list[str] = []
    name: str | None = None
    for value in values:
        try:
            header = _REGISTRY("from", value)
            addrs = getattr(header, "addresses", ())
            for a in addrs:
                spec = str(a.addr_spec).strip().lower()
                if spec:
                    registry.append(spec)
                if name is None and a.display_name:
                    name = str(a.display_name).strip() or None
            # Obsolete syntax is common and harmless ("Pat D. Doe <...>"); anything else is not.
            serious = [d for d in header.defects if not isinstance(d, ObsoleteHeaderDefect)]
            if serious and problem is None:
                problem = f"malformed From header: {value!r}"
        except Exception:
            problem = problem or f"unreadable From header: {value!r}"
    other = _addr_list(values)
    if problem is None and sorted(set(registry)) != sorted(other):
        problem = f"From header reads two ways: {values[-1]!r}"
    merged = tuple(dict.fromkeys([a for a in registry if a] + other))
    if name is None and values:
        pairs = email.utils.getaddresses(values)
        if pairs and pairs[0][0]:
            name = _decode_words(pairs[0][0]).strip() or None
    return merged, name, problem


def _parse_date(value: str | None, default_tz: tzinfo = UTC) -> datetime | None:
    """An RFC 2822 date as UTC; a date without a zone is taken in `default_tz`."""
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=default_tz)
    try:
        return dt.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _offset_of(value: str | None) -> tzinfo:
    """The UTC offset the owner's client wrote its Date in, to place zoneless dates."""
    if not value:
        return UTC
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return UTC
    return dt.tzinfo if dt is not None and dt.tzinfo is not None else UTC


# --- body text -----------------------------------------------------------------


def _part_text(part: Message) -> str:
    """A text part's content as str, whatever its charset claims."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, "replace")
    except (LookupError, ValueError):
        text = payload.decode("utf-8", "replace")
    if part.get_content_type() == "text/plain":
        params = {k.lower(): v.lower() for k, v in _params(part)}
        if params.get("format") == "flowed":
            text = unflow(text, delsp=params.get("delsp") == "yes")
    return text


def _params(part: Message) -> list[tuple[str, str]]:
    out = []
    for item in part.get_params() or []:
        if isinstance(item, tuple) and len(item) == 2:
            out.append((str(item[0]), str(item[1])))
    return out


def _is_attachment(part: Message) -> bool:
    try:
        values = _raw_headers(part, "Content-Disposition")
    except Exception:
        return False
    return bool(values) and values[0].split(";")[0].strip().lower() == "attachment"


def _parts(msg: Message) -> Iterator[Message]:
    """The mail's own parts, depth first, not descending into attached messages."""
    stack = [msg]
    seen = 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        yield part
        if part.get_content_maintype() == "multipart":
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


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


def unflow(text: str, delsp: bool = False) -> str:
    """Undo RFC 3676 format=flowed: a line ending in a space continues on the next.

    Thunderbird and others wrap long lines this way; a long `note` would
    otherwise arrive as a command line plus an orphan line.
    """
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for raw in text.replace("\r\n", "\n").split("\n"):
        depth = len(raw) - len(raw.lstrip(">"))
        line = raw[depth:]
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
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


# --- HTML ------------------------------------------------------------------------

_BLOCK = frozenset(
    "address article aside br dd div dl dt fieldset figure footer form h1 h2 h3 h4 h5 h6 "  # noqa: SIM905
    "header li main nav ol p pre section table tbody thead tfoot tr ul".split()
)
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())  # noqa: SIM905
_HIDDEN = frozenset(("script", "style", "head", "title", "template"))
# Quote and signature containers of common clients: Gmail, Yahoo, Thunderbird, Outlook web.
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted")
_SIGNATURE_CLASSES = ("gmail_signature", "moz-signature")
_SIGNATURE_IDS = ("signature",)


class _TextMaker(HTMLParser):
    def __init__(self, keep_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.keep_quotes = keep_quotes
        self.out: list[str] = []
        self.skip_tag: str | None = None  # inside a dropped element of this name
        self.skip_depth = 0
        self.pre = 0

    def _dropped(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in _HIDDEN:
            return True
        found = {k.lower(): (v or "") for k, v in attrs}
        classes = found.get("class", "").lower().split()
        if any(c.startswith(_SIGNATURE_CLASSES) for c in classes):
            return True
        if found.get("id", "").lower() in _SIGNATURE_IDS:
            return True
        if found.get("data-smartmail", "").lower() == "gmail_signature":
            return True
        if self.keep_quotes:
            return False
        return tag == "blockquote" or any(c.startswith(_QUOTE_CLASSES) for c in classes)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_tag is not None:
            if tag == self.skip_tag and tag not in _VOID:
                self.skip_depth += 1
            return
        if tag not in _VOID and self._dropped(tag, attrs):
            self.skip_tag, self.skip_depth = tag, 1
            return
        if tag == "hr":
            # As Outlook renders it in text: its reply header follows one.
            self.out.append("\n\n" + "_" * 32 + "\n")
        elif tag in _BLOCK:
            self.out.append("\n")
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            self.handle_starttag(tag, attrs)
        # A self-closed non-void tag (<div/>) opens and closes at once: nothing to skip.
        elif self.skip_tag is None and not self._dropped(tag, attrs) and tag in _BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
                    self.out.append("\n")
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip_tag is not None:
            return
        data = data.replace("\xa0", " ")
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.out.append(data)


def html_to_text(html: str, *, keep_quotes: bool = False) -> str:
    """Readable text of an HTML mail body.

    Line breaks come from <br>, <p>, <div> and the other block elements.
    Quoted replies (<blockquote>, Gmail's div.gmail_quote) are dropped unless
    `keep_quotes` (used to find inline forwards); signatures marked as such
    by the client are always dropped.
    """
    maker = _TextMaker(keep_quotes)
    try:
        maker.feed(html)
        maker.close()
    except Exception:  # html.parser is lenient; this is for the unforeseen
        pass
    lines = [line.strip() for line in "".join(maker.out).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- the owner's new text ---------------------------------------------------------


def _reply_message(text: str) -> ReplyText:
    # A fresh list each time: the library appends to the one it is given.
    return ReplyText(text=text, languages=list(REPLY_LANGUAGES), keep_hyphen_lists=True)


# Forward markers (Gmail, Apple Mail, Outlook and a few translations). The
# reply library knows reply headers, not these.
_FWD_MARKER = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:Forwarded message|Weitergeleitete Nachricht|Mensaje reenviado"
    r"|Message transf[ée]r[ée]|Messaggio inoltrato|Doorgestuurd bericht)[ \t]*-{2,}"
    r"|Begin forwarded message:|Anfang der weitergeleiteten Nachricht:"
    r"|D[ée]but du message r[ée]exp[ée]di[ée]\s*:)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def _shorten_lines(text: str) -> tuple[str, dict[str, str]]:
    """Long lines cut to a stand-in, and the originals by stand-in.

    The reply library's "On ... wrote:" pattern costs the square of a line's
    length (a 64 KB line starting with "On " takes most of a minute), and
    anyone can mail the command address. Quote headers are short, so the
    library sees only the start of a long line plus a token, and the owner's
    long lines are put back afterwards.
    """
    nonce = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    originals: dict[str, str] = {}
    out = []
    for line in text.split("\n"):
        if len(line) > LONG_LINE:
            token = f"zq{nonce}x{len(originals)}"
            originals[token] = line.strip()
            line = f"{line[:LINE_HEAD]} {token}"
        out.append(line)
    return "\n".join(out), originals


def new_text_of(text: str) -> str:
    """The lines the owner wrote now: above any quote, forward and signature."""
    text = text[:MAX_BODY_CHARS].replace("\r\n", "\n")
    marker = _FWD_MARKER.search(text)
    if marker:
        text = text[: marker.start()]
    short, originals = _shorten_lines(text)
    try:
        message = _reply_message(short).read()
    except Exception:
        return ""
    if not message.replies:
        return ""
    first = message.replies[0]
    if first.headers:
        # The mail starts with a quote header: the owner wrote nothing above it.
        return ""
    lines = []
    for line in first.body.split("\n"):
        if line.lstrip().startswith(">"):
            continue
        token = line.rsplit(" ", 1)[-1]
        lines.append(originals.get(token, line).rstrip())
    return "\n".join(lines).strip()


def _normalized(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def content_hash(subject: str, new_text: str) -> str:
    """Same words, same hash: a mail delivered twice is applied once."""
    data = _normalized(subject) + "\n\x00\n" + _normalized(new_text)
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


# --- forwarded originals ----------------------------------------------------------

_FWD_SUBJECT = re.compile(r"^\s*(?:fwd?|fw|wg|tr|rv|i|enc|doorst)\s*:", re.IGNORECASE)
_HEADER_LINE = re.compile(
    r"^[ \t>]*\**[ \t]*(From|Date|Sent|Subject|To|Cc|Reply-To|Van|Von|Datum|Gesendet|Betreff|"
    r"An|De|Envoy[ée]|Objet|[ÀA]|Enviado|Asunto|Para)[ \t]*\**[ \t]*:[ \t]*\**[ \t]*(.*)$",
    re.IGNORECASE,
)
_KEYS = {
    "from": "from",
    "van": "from",
    "von": "from",
    "de": "from",
    "date": "date",
    "sent": "date",
    "datum": "date",
    "gesendet": "date",
    "envoyé": "date",
    "envoye": "date",
    "enviado": "date",
    "subject": "subject",
    "betreff": "subject",
    "objet": "subject",
    "asunto": "subject",
}


def _header_block(lines: list[str], start: int) -> dict[str, str]:
    """The "From: / Date: / Subject:" lines from `start` on, until the block ends."""
    fields: dict[str, str] = {}
    seen_any = False
    for line in lines[start : start + 30]:
        stripped = line.strip().strip("*").strip()
        if not stripped or set(stripped) <= set("-_> "):
            if seen_any:
                break
            continue
        if _FWD_MARKER.match(line) or stripped.lower().strip("- ") == "original message":
            continue
        m = _HEADER_LINE.match(line)
        if not m:
            if seen_any:
                break
            continue
        seen_any = True
        key = _KEYS.get(m.group(1).lower())
        if key and key not in fields:
            fields[key] = m.group(2).strip().strip("*").strip()
    return fields


_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            "jan january januar janvier enero gennaio januari janv",
            "feb february februar février fevrier febrero febbraio februari févr fevr",
            "mar march märz maerz mars marzo maart",
            "apr april avril abril aprile",
            "may mai mayo maggio mei",
            "jun june juni juin junio giugno",
            "jul july juli juillet julio luglio juil",
            "aug august août aout agosto augustus",
            "sep sept september septembre septiembre settembre",
            "oct october oktober octobre octubre ottobre okt",
            "nov november novembre noviembre",
            "dec december dezember décembre decembre diciembre dicembre dez",
        )
    )
    for name in names.split()
}
_ZONES = {
    "utc": 0,
    "gmt": 0,
    "z": 0,
    "wet": 0,
    "bst": 60,
    "west": 60,
    "cet": 60,
    "mez": 60,
    "cest": 120,
    "mesz": 120,
    "eet": 120,
    "eest": 180,
    "est": -300,
    "edt": -240,
    "cst": -360,
    "cdt": -300,
    "mst": -420,
    "mdt": -360,
    "pst": -480,
    "pdt": -420,
}
_TIME = re.compile(r"^([0-9]{1,2})[:.]([0-9]{2})(?:[:.]([0-9]{2}))?$")
_OFFSET = re.compile(r"^(?:utc|gmt)?([+-])([0-9]{1,2})(?::?([0-9]{2}))?$")
_ISO_DAY = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$")
_NUMERIC_DAY = re.compile(r"^([0-9]{1,2})[/.]([0-9]{1,2})[/.]([0-9]{2,4})$")


def parse_loose_date(value: str, default_tz: tzinfo = UTC) -> datetime | None:
    """A date as mail clients print it in a forwarded header, as UTC.

    RFC 2822 first; then the human forms: Gmail "Tue, Mar 3, 2026 at 9:15 AM",
    Apple "3 March 2026 at 09:15:00 CET", Outlook "Tuesday, March 3, 2026
    9:15 AM". A date without a zone is read in `default_tz`. Numeric dates
    whose day and month could be swapped give None rather than a guess.
    """
    value = value.strip()
    if not value:
        return None
    # The RFC parser silently ignores "PM" (it reads 9:15 PM as 09:15).
    if not re.search(r"\b[ap]\.?m\b", value, re.IGNORECASE):
        rfc = _parse_date(value, default_tz)
        if rfc is not None:
            return rfc
    tokens = re.split(r"[\s,]+", value.lower().replace("\u202f", " "))
    year = month = day = None
    hour = minute = second = 0
    ampm = None
    zone: tzinfo | None = None
    for tok in tokens:
        tok = tok.strip("()")
        if not tok or tok in ("at", "um", "à", "a", "las", "alle", "om", "de", "the"):
            continue
        word = tok.rstrip(".")
        if word in _MONTHS and month is None:
            month = _MONTHS[word]
        elif word in ("am", "pm", "a.m", "p.m"):
            ampm = word[0]
        elif word in _ZONES:
            zone = timezone(timedelta(minutes=_ZONES[word]))
        elif m := _OFFSET.match(word):
            sign = -1 if m.group(1) == "-" else 1
            minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
            if minutes < 24 * 60:
                zone = timezone(sign * timedelta(minutes=minutes))
        elif m := _TIME.match(word):
            hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        elif m := _ISO_DAY.match(word):
            year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        elif m := _NUMERIC_DAY.match(word):
            a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            year = y + 2000 if y < 100 else y
            if a == b or b > 12:
                month, day = a, b
            elif a > 12:
                day, month = a, b
            else:
                return None  # 3/4/2026: March 4th or 3 April? Not ours to guess.
        elif word.isascii() and word.isdigit() and len(word) == 4:
            year = int(word)
        elif word.isascii() and word.isdigit() and len(word) <= 2 and day is None:
            day = int(word)
    if year is None or month is None or day is None:
        return None
    if ampm == "p" and hour < 12:
        hour += 12
    elif ampm == "a" and hour == 12:
        hour = 0
    try:
        dt = datetime(year, month, day, hour, minute, second, tzinfo=zone or default_tz)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


_ANGLE = re.compile(r"^(.*?)<([^<>\s]+@[^<>\s]+)>")


def _forwarded_from_fields(fields: dict[str, str], default_tz: tzinfo) -> Forwarded | None:
    sender = fields.get("from")
    if not sender:
        return None
    # Outlook writes "Berg, Anna [mailto:anna@x.org]": a bare comma in the name.
    sender = re.sub(r"\[mailto:([^\]\s]+)\]", r"<\1>", sender, flags=re.IGNORECASE)
    if m := _ANGLE.match(sender):
        pairs = [(m.group(1).strip().strip('"').strip(), m.group(2))]
    else:
        pairs = email.utils.getaddresses([sender])
    for name, addr in pairs:
        addr = addr.strip().lower()
        if "@" in addr and not addr.startswith("@") and " " not in addr:
            date = parse_loose_date(fields.get("date", ""), default_tz)
            subject = fields.get("subject") or None
            return Forwarded(
                sender=addr,
                name=_decode_words(name).strip() or None,
                date=date,
                subject=subject,
                message_id=fields.get("message-id") or None,
            )
    return None


def inline_forward(text: str, subject: str, default_tz: tzinfo = UTC) -> Forwarded | None:
    """The message forwarded inline in `text`, if the text is a forward.

    Gmail and Apple Mail mark a forward explicitly. Outlook uses the same
    "From: / Sent:" block for replies and forwards, so that block counts only
    when the subject says forward (Fw:, Fwd:, WG:, TR: ...). Whatever comes
    first decides: a forward marker below a reply header belongs to an older
    message in the quote, not to this mail.
    """
    short, _originals = _shorten_lines(text[:MAX_BODY_CHARS].replace("\r\n", "\n"))
    reply = _reply_message(short)
    normalized = reply.text  # the library strips lines; search the same text it does
    marker = _FWD_MARKER.search(normalized)
    header = _safe(lambda: reply.HEADER_REGEX.search(normalized), None)
    start: int | None = None
    if marker and (header is None or marker.start() <= header.start()):
        start = marker.end()
    elif header is not None and _FWD_SUBJECT.match(subject or ""):
        start = header.start()
    if start is None:
        return None
    lines = normalized[start:].split("\n")
    return _forwarded_from_fields(_header_block(lines, 0), default_tz)


def _attached(msg: Message) -> list[Forwarded]:
    """Messages attached as message/rfc822 (forward as attachment), top level only."""
    out = []
    for part in _parts(msg):
        if part.get_content_type() != "message/rfc822":
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            continue
        addresses, name, _problem = _read_from(inner)
        if not addresses:
            continue
        dates = _raw_headers(inner, "Date")
        subjects = _raw_headers(inner, "Subject")
        ids = _raw_headers(inner, "Message-ID")
        out.append(
            Forwarded(
                sender=addresses[0],
                name=name,
                date=_parse_date(dates[0]) if dates else None,
                subject=_decode_words(subjects[0]) if subjects else None,
                message_id=ids[0].strip() or None if ids else None,
            )
        )
    return out


# --- the whole mail ---------------------------------------------------------------


def read_mail(raw: bytes) -> MailInfo:
    """Everything the command code needs from one raw mail. Never raises."""
    try:
        msg = email.message_from_bytes(bytes(raw), policy=policy.default)
    except Exception:
        msg = email.message_from_bytes(b"", policy=policy.default)

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
    date = _safe(lambda: _parse_date(date_value), None)
    utc: tzinfo = UTC
    local_tz = _safe(lambda: _offset_of(date_value), utc)

    no_from: tuple[tuple[str, ...], str | None, str | None] = ((), None, "unreadable From header")
    from_addresses, from_name, from_problem = _safe(lambda: _read_from(msg), no_from)
    direct: list[str] = _safe(lambda: _addr_list(values("To", "Cc")), [])
    to_cc: list[str] = _safe(lambda: _addr_list(values("To", "Cc", "Bcc")), [])
    delivered: list[str] = _safe(lambda: _addr_list(values("Delivered-To", "X-Original-To")), [])

    plain, html = _safe(lambda: _bodies(msg), ("", ""))
    new_text, full_text = "", ""
    if plain.strip():
        new_text = _safe(lambda: new_text_of(plain), "")
        full_text = plain
    elif html.strip():
        new_text = _safe(lambda: new_text_of(html_to_text(html)), "")
        full_text = _safe(lambda: html_to_text(html, keep_quotes=True), "")

    forwarded: list[Forwarded] = []
    inline = _safe(lambda: inline_forward(full_text, subject, local_tz), None)
    if inline is not None:
        forwarded.append(inline)
    forwarded.extend(_safe(lambda: _attached(msg), []))

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
    )
