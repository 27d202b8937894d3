"""What a command mail says: raw bytes in, the owner's new lines and any forwarded originals out.

The owner talks to mailer from whatever client they use, so the text of a
command mail arrives wrapped in that client's habits: a quote of the mail
they replied to (with ">", "|", indentation, or, as Outlook does, no prefix
at all below a block of translated headers), a signature, an HTML-only body,
format=flowed line wrapping, a forwarded message inline or attached. Only the
lines the owner wrote now may become commands: a command that survives inside
quoted text would be applied again every time someone replies to a digest.

So the quote is found by what mailer itself wrote, not only by what a parser
recognises. Every digest and confirmation starts with `MARK`, a line of
mailer's own; in a reply, everything from the quoted copy of that line on is
quote, whatever the client, language or prefix, with or without
In-Reply-To, even when the owner pasted the text of `mailer digest preview`.
When a client dropped the mark, the first body line of mailer's text
(`MAILER_OPENERS`) does the same. For all other mail, language-independent
rules find where the quote starts (`cut_reply`): a block of two or more
header-like lines ("word(s): value", one value an address or a date: Från: /
Skickat:, Od: / Wysłano:, 差出人: / 送信日時:, ...), a separator line
(----- text -----, a row of underscores), or a line that carries an address
or a date and ends with a colon (every client's "On ... wrote:"). The
`mail-parser-reply` library then trims what is left (signatures it knows).
`Cut.rule` says which rule cut, so tests can say it of every test mail.

A forward is never commands: the forwarded text (inline, below its separator
or header block, or attached as message/rfc822) only names its original
sender. The owner's own lines above a recognised forwarded block are read as
commands (forward a mail with "tag carl@x.org events" on top); a mail whose
subject says forward (Fwd:, WG:, VB:, TR:, RV:, I:, PD:, Doorst: ...) but
whose forwarded block is not recognised has no command lines at all, since
we cannot tell where the owner's text ends.

Replies are read top-posted: lines below a quote header or below mailer's
text are never commands (bottom-posting is not supported: the owner hears
"no command found"). Bare ">" lines without any quote header are dropped one
by one, and the owner's lines between them still count.

Hostile input arrives here too (anyone can mail the command address), so
`read_mail` never raises, and every step is linear in the size of the mail
and bounded: only the first `MAX_RAW_BYTES` are parsed (by the compat32
parser, which leaves headers unparsed), cut before the `MAX_DASH_LINES`-th
MIME boundary candidate and the `MAX_MULTIPARTS`-th nested multipart (the
parser checks each line against every open level); `MAX_PARTS` parts at
most `MAX_DEPTH` deep are looked at, `MAX_TEXT_CHARS` of a text part and
`MAX_HTML_CHARS` of HTML (read by a tokenizer of our own: `html.parser` is
quadratic on some inputs), `MAX_BODY_CHARS` / `MAX_LINES` by the reply
rules; a From header longer than `MAX_FROM_CHARS` is refused unread. Commands
sit at the top of a mail; what lies beyond these is quote.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import hashlib
import html as html_lib
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email import policy
from email.errors import ObsoleteHeaderDefect
from email.headerregistry import HeaderRegistry
from email.message import Message
from typing import TypeVar

from mailparser_reply import EmailMessage as ReplyText

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

# The first line of every mail mailer writes to the owner (digest.j2, confirm.j2):
# distinctive, readable, no command word, short enough that no client rewraps it.
MARK = "##- mailer: write your commands above this line -##"
# The first body line of each of mailer's mails, as a lower-case prefix: a client that
# drops the mark line still quotes these (the second line of mailer's text).
MAILER_OPENERS = (
    "how to reply: reply to this mail and write one command per line",  # digest.j2
    "replying to this digest does nothing yet",  # digest.j2 without a command address
    "some lines of your mail could not be applied",  # confirm.j2
    "all done: your mail was applied",  # confirm.j2
)

# Which rule ended the owner's new lines (`Cut.rule`, `MailInfo.cut_by`).
CUT_RULES = {
    "mark": "the quoted copy of MARK, mailer's first line",
    "mailer-text": "the first body line of mailer's text (the client dropped the mark)",
    "forward": "a forwarded-message separator or intro line (Forwarded message, Begin forwarded)",
    "separator": "a separator line: ----- text ----- or a row of underscores",
    "header-block": "two or more header-like lines, one of them carrying an address or a date",
    "attribution": "a line carrying an address or a date and ending with a colon",
    "signature": 'the signature line "-- "',
    "library": "mail-parser-reply (a signature or quote header it knows)",
    "forward-subject": "a forward by its subject whose forwarded part was not found: no commands",
    "quote-lines": 'nothing cut; only ">" lines were dropped',
    "none": "nothing cut",
}

# Reply-header and signature patterns of these languages are applied. Left
# out on purpose: languages whose signature openers are common word starts
# ("Kh", "Tak" in Danish, "/\w+" in Swedish) and would cut off real lines.
REPLY_LANGUAGES = ("en", "de", "fr", "es", "it", "nl")

MAX_RAW_BYTES = 1024 * 1024  # of a mail parsed at all; the rest is never read
MAX_DASH_LINES = 256  # lines starting with "--" parsed: every MIME part needs one
MAX_MULTIPARTS = 10  # "boundary=" parameters parsed: every level of nesting needs one
MAX_PARTS = 200  # parts looked at per mail (torture tests nest thousands)
MAX_DEPTH = 12  # multipart nesting followed
MAX_HEADERS = 500  # header fields looked at per message
MAX_FROM_CHARS = 998  # a longer From is refused unread (its parser is quadratic on quotes)
MAX_ADDRESS_CHARS = 16_000  # of the address headers read for recipients
MAX_TEXT_CHARS = 256_000  # of one text part, before format=flowed is undone
MAX_HTML_CHARS = 256_000  # of one HTML part turned into text
MAX_BODY_CHARS = 64_000  # of the text the reply rules look at
MAX_LINES = 5_000  # of those lines
LONG_LINE = 500  # longer lines are never quote headers, and the library sees only their start
LINE_HEAD = 200
MAX_QUOTE_DEPTH = 8  # "> " prefixes written for nested HTML quotes

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
    # Which rule ended `new_text` (a key of CUT_RULES).
    cut_by: str = "none"


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
    """Every value of header `name` among the first MAX_HEADERS, in order, unparsed."""
    key = name.lower()
    items = itertools.islice(msg.raw_items(), MAX_HEADERS)
    return [_clean(str(v)) for k, v in items if k.lower() == key]


def _decode_words(value: str) -> str:
    """RFC 2047 encoded words in free text (subjects, names)."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:
        return value


def _addr_list(values: list[str]) -> list[str]:
    """Lower-case addresses (with an @) of address header values, deduped in order."""
    seen: dict[str, None] = {}
    bounded, room = [], MAX_ADDRESS_CHARS
    for value in values:
        bounded.append(value[:room])
        room -= len(bounded[-1])
        if room <= 0:
            break
    for _name, addr in email.utils.getaddresses(bounded):
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
    if any(len(value) > MAX_FROM_CHARS for value in values):
        return (), None, f"From header longer than {MAX_FROM_CHARS} characters"
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


_DASH_LINE = re.compile(rb"\n--")
_BOUNDARY_PARAM = re.compile(rb"boundary\s*=", re.IGNORECASE)


def _bounded(raw: bytes) -> bytes:
    """The part of a raw mail that is parsed, so the parser's work is bounded whatever
    the mail holds: the first MAX_RAW_BYTES, cut before the line of the
    MAX_DASH_LINES-th "--" line (every MIME part needs one) and of the
    MAX_MULTIPARTS-th "boundary=" (every level of nesting needs one; the parser
    checks each line against every open level)."""
    raw = raw[:MAX_RAW_BYTES]
    end = len(raw)
    for pattern, limit in ((_DASH_LINE, MAX_DASH_LINES), (_BOUNDARY_PARAM, MAX_MULTIPARTS)):
        for k, m in enumerate(pattern.finditer(raw, 0, end)):
            if k == limit:
                end = raw.rfind(b"\n", 0, m.start() + 1) + 1
                break
    return raw[:end]


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
    stack = [(msg, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        yield part
        if depth < MAX_DEPTH and part.get_content_maintype() == "multipart":
            payload = part.get_payload()
            if isinstance(payload, list):
                children = [(p, depth + 1) for p in payload[:MAX_PARTS] if isinstance(p, Message)]
                stack.extend(reversed(children))


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
    otherwise arrive as a command line plus an orphan line. The pieces of a
    paragraph are collected and joined once (joining as we go was quadratic:
    9 MB took minutes).
    """
    out: list[str] = []
    pending: list[str] | None = None  # pieces of a flowed paragraph not yet ended
    pending_depth = 0

    def emit(depth: int, line: str) -> None:
        out.append(">" * depth + (" " if depth else "") + line)

    for raw in text.replace("\r\n", "\n").split("\n"):
        depth = len(raw) - len(raw.lstrip(">"))
        line = raw[depth:]
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        flowed = line.endswith(" ") and line != "-- "
        if pending is not None and depth != pending_depth:
            emit(pending_depth, "".join(pending))
            pending = None
        if flowed:
            piece = line[:-1] if delsp else line
            if pending is None:
                pending, pending_depth = [piece], depth
            else:
                pending.append(piece)
            continue
        if pending is not None:
            pending.append(line)
            line = "".join(pending)
            pending = None
        emit(depth, line)
    if pending is not None:
        emit(pending_depth, "".join(pending))
    return "\n".join(out)


# --- HTML ------------------------------------------------------------------------

_BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figure footer form h1 h2 h3 h4 h5 "  # noqa: SIM905
    "h6 header hr li main nav ol p pre section table tbody thead tfoot tr ul".split()
)
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())  # noqa: SIM905
_HIDDEN = frozenset(("script", "style", "head", "title", "template"))
_RAW_TEXT = frozenset(("script", "style", "title", "textarea"))  # their content is no markup
# Quote and signature containers of common clients: Gmail, Yahoo, Thunderbird, Outlook web.
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted")
_SIGNATURE_CLASSES = ("gmail_signature", "moz-signature")
_SIGNATURE_IDS = ("signature",)
_TAG_START = re.compile(r"<(?:/?[a-zA-Z]|[!?])")  # a "<" that opens markup; others are text
_TAG = re.compile(r"(/?)([a-zA-Z][^\s/>]*)")
# One attribute, searched for by name; the value's closing quote is optional, so a
# search never fails after scanning (a quadratic trap with unterminated quotes).
_ATTRS = {
    name: re.compile(
        rf"""(?:^|[\s"'/]){name}\s*=\s*(?:"([^"]*)"?|'([^']*)'?|([^\s"'>]*))""", re.IGNORECASE
    )
    for name in ("class", "id", "type", "data-smartmail")
}
_SPACES = re.compile(r"\s+")
_QUOTE_IN, _QUOTE_OUT = "\x01", "\x02"  # line markers, removed from the mail's own text


def _attributes(tag_text: str) -> dict[str, str]:
    """The few attributes that matter (class, id, type, data-smartmail), lower-case."""
    found: dict[str, str] = {}
    if "=" not in tag_text:
        return found
    lowered = tag_text.lower()
    for name, pattern in _ATTRS.items():
        if name in lowered and (m := pattern.search(tag_text)):
            found[name] = (m.group(1) or m.group(2) or m.group(3) or "").lower()
    return found


def _is_signature(attrs: Mapping[str, str]) -> bool:
    classes = attrs.get("class", "").split()
    return (
        any(c.startswith(_SIGNATURE_CLASSES) for c in classes)
        or attrs.get("id", "") in _SIGNATURE_IDS
        or attrs.get("data-smartmail", "") == "gmail_signature"
    )


def _is_quote(tag: str, attrs: Mapping[str, str]) -> bool:
    classes = attrs.get("class", "").split()
    return tag == "blockquote" or any(c.startswith(_QUOTE_CLASSES) for c in classes)


def html_to_text(html: str, *, keep_quotes: bool = False, quote_prefix: bool = False) -> str:
    """Readable text of an HTML mail body, in one pass over at most MAX_HTML_CHARS.

    Line breaks come from <br>, <p>, <div> and the other block elements.
    Quoted replies (<blockquote>, Gmail's div.gmail_quote, Yahoo's
    div.yahoo_quoted) are dropped, unless `keep_quotes`, or written with "> "
    before each line with `quote_prefix` (as a plain-text client quotes, so
    the reply rules read both alike). Signatures marked as such by the
    client are always dropped.
    """
    html = html[:MAX_HTML_CHARS]
    keep_quotes = keep_quotes or quote_prefix
    lower = html.lower()
    n = len(html)
    out: list[str] = []
    open_tags: dict[str, int] = {}  # how many of each element are open
    quotes: list[tuple[str, int]] = []  # open quote containers: (tag, its open count)
    skip_tag: str | None = None  # inside a dropped element of this name
    skip_depth = 0
    pre = 0
    pos = 0

    def add_text(data: str) -> None:
        if skip_tag is not None or not data:
            return
        data = html_lib.unescape(data) if "&" in data else data
        data = data.replace("\xa0", " ").replace(_QUOTE_IN, "").replace(_QUOTE_OUT, "")
        out.append(data if pre else _SPACES.sub(" ", data))

    while pos < n:
        start = _TAG_START.search(html, pos)
        if start is None:
            add_text(html[pos:])
            break
        lt = start.start()
        if lt > pos:
            add_text(html[pos:lt])
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            if end < 0:
                break  # an unterminated comment runs to the end
            pos = end + 3
            continue
        if html.startswith(("<!", "<?"), lt):
            end = html.find(">", lt + 2)
            if end < 0:
                break
            pos = end + 1
            continue
        m = _TAG.match(html, lt + 1)
        if m is None:  # not reached: _TAG_START saw a letter
            add_text("<")
            pos = lt + 1
            continue
        end = html.find(">", m.end())
        if end < 0:
            break  # an unterminated tag: nothing after it is text
        pos = end + 1
        closing, tag = bool(m.group(1)), m.group(2).lower()
        tag_text = html[m.end() : end]
        if not closing and tag in _RAW_TEXT and not tag_text.endswith("/"):
            close = lower.find("</" + tag, pos)
            if close < 0:
                break
            end = html.find(">", close)
            if end < 0:
                break
            if skip_tag is None and tag not in _HIDDEN:
                add_text(html[pos:close])
            pos = end + 1
            continue
        if closing:
            if skip_tag is not None:
                if tag == skip_tag:
                    skip_depth -= 1
                    if skip_depth == 0:
                        skip_tag = None
                        out.append("\n")
                continue
            if open_tags.get(tag):
                open_tags[tag] -= 1
            if quotes and quotes[-1][0] == tag and open_tags.get(tag, 0) < quotes[-1][1]:
                quotes.pop()
                out.append(f"\n{_QUOTE_OUT}\n")
            if tag == "pre":
                pre = max(0, pre - 1)
            if tag in _BLOCK:
                out.append("\n")
            continue
        self_closed = tag_text.endswith("/") or tag in _VOID
        if skip_tag is not None:
            if tag == skip_tag and not self_closed:
                skip_depth += 1
            continue
        attrs = _attributes(tag_text) if "=" in tag_text and len(tag_text) <= 2000 else {}
        dropped = tag in _HIDDEN or (bool(attrs) and _is_signature(attrs))
        quote = tag == "blockquote" or (bool(attrs) and _is_quote(tag, attrs))
        dropped = dropped or (quote and not keep_quotes)
        if dropped:
            if not self_closed:
                skip_tag, skip_depth = tag, 1
            continue
        if tag == "hr":
            # As Outlook renders it in text: its reply header follows one.
            out.append("\n\n" + "_" * 32 + "\n")
        elif tag in _BLOCK:
            out.append("\n")
        if self_closed:
            continue
        open_tags[tag] = open_tags.get(tag, 0) + 1
        if tag == "pre":
            pre += 1
        if quote_prefix and quote:
            quotes.append((tag, open_tags[tag]))
            out.append(f"\n{_QUOTE_IN}\n")
    lines = []
    depth = 0
    for line in "".join(out).split("\n"):
        line = line.strip()
        if line == _QUOTE_IN:
            depth += 1
        elif line == _QUOTE_OUT:
            depth = max(0, depth - 1)
        elif depth and line:
            lines.append("> " * min(depth, MAX_QUOTE_DEPTH) + line)
        else:
            lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- the owner's new text ---------------------------------------------------------

# The command words (mailer.core.commands.VERBS, which imports this module, plus undo):
# a line starting with one is never taken for a quote header.
_COMMAND_WORDS = frozenset(
    "log note snooze done tier tag trust weed ignore intro undo".split()  # noqa: SIM905
)
_PREFIX = re.compile(r"[\s>|]*")  # quote prefixes and indentation (NBSP included)
_HEADER = re.compile(
    r"\*?(?P<key>[^\W\d_](?:[^\W\d_]|[ '’.\-](?=[^\W\d_])){0,39})\*?\s*"
    r"(?::\*?(?=\s|$)|：)\s*\**\s*(?P<value>.*)"
)
_ADDRESS = r"[\w.+'=-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+"
_ANY_ADDRESS = re.compile(_ADDRESS)
# "@domain" after a local-part character; starting with a literal "@" keeps the search fast
_AT_DOMAIN = re.compile(r"@(?<=[\w.+'=-]@)[\w-]{1,63}(?:\.[\w-]{1,63})+")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+'=-")
_DAY_OR_YEAR = re.compile(
    r"(?<!\d)(?:19|20)\d{2}(?!\d)|(?<!\d)\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?!\d)|\d{4}年"
)
_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")
_SEPARATOR = re.compile(r"(?:[-=]{3,}\s*(?P<text>[^-=\s].{0,200}?)\s*[-=]{3,}|_{10,})")
_FORWARD_WORDS = re.compile(
    r"forward|weiterge|r[ée]exp[ée]di|transf[ée]r[ée]|reenviad|inoltrat|doorgestuurd|"
    r"vidarebefordra|videresend|przekazan|przekazyw|пересла|пересыл|переадрес|転送|"
    r"iletilen|välitet|přeposlan|encaminhad|továbbított",
    re.IGNORECASE,
)
_MARK_WORDS = " ".join(MARK.strip("#- ").lower().split())
_FWD_SUBJECT = re.compile(
    r"^\s*(?:fwd?|fw|wg|tr|rv|i|enc|doorst|vb|vs|vl|pd|př|tov|ilt|i̇lt|пересл|転送|转发|轉寄|전달)"
    r"\s*(?:\[\d+\])?\s*[:：]",
    re.IGNORECASE,
)


def is_forward_subject(subject: str) -> bool:
    """ "Fwd:", "WG:", "VB:", "TR:", "RV:" ... : the subject of a forward in some client's language.

    "VS:" forwards in Danish and Norwegian Outlook but replies in Finnish; it
    counts as a forward, which errs on the side of reading no commands.
    """
    return bool(_FWD_SUBJECT.match(subject or ""))


@dataclass(slots=True)
class _Line:
    """One line of a mail's text, with what the reply rules need to know of it."""

    raw: str
    bare: str = ""  # without quote prefix, indentation and bold stars
    quoted: bool = False  # starts with ">" (after indentation)
    short: bool = True  # short enough to be a quote header
    verb: bool = False  # starts with a command word: never a quote header
    header: bool = False  # "Word(s): value"
    address: bool = False  # carries an address
    bracketed: bool = False  # carries an address in <...>, [mailto:...] or (...)
    day: bool = False  # carries a date or a year
    clock: bool = False  # carries a time of day
    colon: bool = False  # ends with a colon
    mailer: bool = False  # mailer's mark, or the first body line of mailer's text
    mark: bool = False  # the mark itself
    words: int = 0


def _line(raw: str) -> _Line:
    stripped = raw.lstrip()
    info = _Line(raw, quoted=stripped.startswith(">"))
    if not stripped:
        return info
    head = raw[:LONG_LINE]
    bare = head[_PREFIX.match(head).end() :].strip()  # type: ignore[union-attr]
    info.bare = bare
    if not bare:
        return info
    words = bare.split()
    folded = " ".join(w.lower() for w in words)
    info.mark = _MARK_WORDS in folded
    info.mailer = info.mark or folded.startswith(MAILER_OPENERS)
    if len(raw) > LONG_LINE:
        info.short = False  # too long for a quote header: only mailer's text is looked for
        return info
    info.words = len(words)
    info.verb = words[0].lower() in _COMMAND_WORDS
    info.colon = bare.endswith((":", "："))
    if "@" in bare:
        info.address, info.bracketed = _addresses(bare)
    if any(c.isdigit() for c in bare):
        info.day = bool(_DAY_OR_YEAR.search(bare))
        info.clock = bool(_CLOCK.search(bare))
    if not info.verb and (m := _HEADER.fullmatch(bare)) and len(m.group("key").split()) <= 4:
        info.header = True
    return info


def _addresses(text: str) -> tuple[bool, bool]:
    """(carries an address, carries one in <...>, [mailto:...] or (...)), in linear time."""
    found = False
    for m in itertools.islice(_AT_DOMAIN.finditer(text), 20):
        found = True
        if text[m.end() : m.end() + 1] in (">", "]", ")"):
            return True, True
        k = m.start()
        while (
            k > 0 and m.start() - k < 64 and (text[k - 1] in _LOCAL_CHARS or text[k - 1].isalnum())
        ):
            k -= 1
        if text[k - 1 : k] in ("<", "[", "(") or text[max(0, k - 7) : k].lower() == "mailto:":
            return True, True
    return found, False


def _separator(line: _Line) -> str | None:
    """ "forward" or "separator" when the line is a separator line, else None."""
    if not line.short or not line.bare or line.bare[0] not in "-=_":
        return None
    m = _SEPARATOR.fullmatch(line.bare)
    if m is None:
        return None
    text = m.group("text") or ""
    return "forward" if _FORWARD_WORDS.search(text) else "separator"


def _quote_follows(lines: list[_Line], i: int) -> bool:
    """Is line `i` followed by quoted text (or by nothing), as an attribution line is?"""
    if lines[i].quoted:
        return True
    for line in lines[i + 1 : i + 5]:
        if line.bare:
            return line.quoted or line.raw[:1] in " \t|\xa0" or line.mailer
    return True


def _intro_above(lines: list[_Line], i: int) -> int:
    """Where a header block at `i` starts: its intro line ("Begin forwarded message:"), if any."""
    for j in range(i - 1, max(-1, i - 4), -1):
        line = lines[j]
        if not line.bare:
            continue
        if line.colon and line.short and line.words <= 8 and not (line.verb or line.address):
            return j
        break
    return i


def _header_runs(lines: list[_Line]) -> tuple[list[int], list[bool]]:
    """For each line: how many header-like lines run from it, and whether any of them
    carries an address or a date (one backward pass, so the scan stays linear)."""
    n = len(lines)
    run = [0] * (n + 1)
    dated = [False] * (n + 1)
    for i in range(n - 1, -1, -1):
        line = lines[i]
        if line.header:
            run[i] = run[i + 1] + 1
            dated[i] = line.address or line.day or (run[i + 1] > 0 and dated[i + 1])
    return run, dated


def _first_quote(lines: list[_Line]) -> tuple[int, str] | None:
    """The first line of quoted text and the rule that found it, or None."""
    run, dated = _header_runs(lines)
    for i, line in enumerate(lines):
        if not line.bare:
            continue
        if line.mark:
            return i, "mark"
        if line.mailer:
            return i, "mailer-text"
        if not line.short or line.verb:
            continue
        if kind := _separator(line):
            return i, kind
        if run[i] >= 2 and dated[i]:
            start = _intro_above(lines, i)
            intro = start < i and _FORWARD_WORDS.search(lines[start].bare)
            return start, "forward" if intro else "header-block"
        if line.colon and (
            line.bracketed or ((line.day or line.clock) and _quote_follows(lines, i))
        ):
            return i, "attribution"
        # An attribution wrapped by the client: "On <date>, Name <" / "addr> wrote:".
        following = lines[i + 1] if i + 1 < len(lines) else None
        if (
            following is not None
            and not line.colon
            and following.colon
            and following.short
            and not following.verb
            and following.words <= 4
            and (
                line.bracketed
                or following.bracketed
                or ((line.day or line.clock) and _quote_follows(lines, i + 1))
            )
        ):
            return i, "attribution"
    return None


def _trim_above(lines: list[_Line], i: int) -> int:
    """The start of the quote header just above mailer's text at `i` (a Subject: line
    of a pasted preview, a From: line ...): blank, header-like, separator, quoted or
    colon-ended lines, never a line that starts with a command word."""
    start = i
    for j in range(i - 1, max(-1, i - 13), -1):
        line = lines[j]
        if not line.bare:
            continue
        if line.verb or not line.short:
            break
        if line.header or line.quoted or line.colon or _separator(line):
            start = j
            continue
        break
    return start


@dataclass(frozen=True)
class Cut:
    """Where the owner's new text ends in a mail's text, and why."""

    text: str  # the owner's new lines
    rule: str  # a key of CUT_RULES
    line: int | None = None  # index of the first line cut, if any
    quote: str | None = None  # the rule that found the quote (a signature above it aside)
    forward: Mapping[str, str] | None = None  # the forwarded header fields, for a forward
    mailer: bool = False  # mailer's own text is quoted below (a reply to mailer)


def _reply_message(text: str) -> ReplyText:
    # A fresh list each time: the library appends to the one it is given.
    return ReplyText(text=text, languages=list(REPLY_LANGUAGES), keep_hyphen_lists=True)


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


def _library_cut(text: str) -> str:
    """What mail-parser-reply keeps of `text` (which our rules already cut)."""
    short, originals = _shorten_lines(text)
    try:
        message = _reply_message(short).read()
    except Exception:
        return ""
    if not message.replies:
        return ""
    first = message.replies[0]
    if first.headers:
        # The text starts with a quote header: the owner wrote nothing above it.
        return ""
    lines = []
    for line in first.body.split("\n"):
        if line.lstrip().startswith(">"):
            continue
        token = line.rsplit(" ", 1)[-1]
        lines.append(originals.get(token, line).rstrip())
    return "\n".join(lines).strip()


def _count(text: str) -> int:
    return sum(1 for line in text.split("\n") if line.strip())


def cut_reply(text: str, subject: str = "") -> Cut:
    """The owner's new lines of a mail's text, and which rule ended them.

    The first quote boundary decides (see the module docstring): mailer's
    mark or opening line, a separator, a header block, an attribution line;
    a "-- " signature ends the owner's lines too. When that boundary opens a
    forward (a forward separator or intro line, or any boundary when the
    subject says forward), `forward` holds the forwarded header fields,
    unless mailer's own text follows it (a forwarded digest logs no one).
    """
    text = text[:MAX_BODY_CHARS].replace("\r\n", "\n")
    lines = [_line(raw) for raw in text.split("\n", MAX_LINES)[:MAX_LINES]]
    found = _first_quote(lines)
    quote_at, quote_rule = found if found is not None else (None, None)
    if quote_rule in ("mark", "mailer-text") and quote_at is not None:
        quote_at = _trim_above(lines, quote_at)
    mailer = any(line.mailer for line in lines[quote_at or 0 :]) if found else False
    signature = next(
        (i for i, line in enumerate(lines[:quote_at]) if line.raw.strip() == "--"), None
    )
    end, rule = (quote_at, quote_rule) if quote_at is not None else (len(lines), None)
    if signature is not None and signature < end:
        end, rule = signature, "signature"
    kept = [line.raw.rstrip() for line in lines[:end] if not line.quoted]
    dropped = len(kept) < sum(1 for line in lines[:end])
    above = "\n".join(kept).strip()
    new = _library_cut(above) if above else ""
    if _count(new) < _count(above):
        rule = "library"
    elif rule is None:
        rule = "quote-lines" if dropped else "none"

    forward: dict[str, str] | None = None
    opens_forward = quote_rule == "forward" or (
        quote_rule in ("separator", "header-block", "attribution") and is_forward_subject(subject)
    )
    if found is not None and opens_forward and not mailer and quote_at is not None:
        forward = _forward_fields(lines, quote_at)
    return Cut(
        text=new,
        rule=rule,
        line=end if end < len(lines) else None,
        quote=quote_rule,
        forward=forward,
        mailer=mailer,
    )


def new_text_of(text: str) -> str:
    """The lines the owner wrote now: above any quote, forward and signature."""
    return cut_reply(text).text


def _normalized(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def content_hash(subject: str, new_text: str) -> str:
    """Same words, same hash: a mail delivered twice is applied once."""
    data = _normalized(subject) + "\n\x00\n" + _normalized(new_text)
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


# --- forwarded originals ----------------------------------------------------------

# Header names as clients print them in a forwarded block, by what they mean.
_KEYS = {
    key: meaning
    for meaning, keys in (
        (
            "from",
            "from von van de da från fra od от від 差出人 送信者 kimden lähettäjä feladó apo "
            "afzender absender remitente expéditeur expediteur mittente avsändare nadawca "
            "отправитель gönderen odesílatel 发件人 寄件者 보낸사람",
        ),
        (
            "date",
            "date sent datum gesendet envoyé envoye enviado enviada inviato data verzonden "
            "skickat sendt wysłano отправлено 送信日時 日付 gönderildi lähetetty odesláno "
            "elküldve дата tarih päivämäärä fecha 发送时间 日期 寄件日期 날짜 보낸날짜",
        ),
        (
            "subject",
            "subject betreff objet asunto oggetto onderwerp ämne emne temat тема 件名 konu "
            "aihe předmět assunto tárgy sujet 主题 主旨 제목",
        ),
        ("message-id", "message-id"),
    )
    for key in keys.split()
}


def _forward_fields(lines: list[_Line], start: int) -> dict[str, str]:
    """The From / Date / Subject of the forwarded block starting at line `start`.

    Known header names in many languages first; in another language the
    first value with an address is the sender and the first value that reads
    as a date is the date; with no header block at all, the address on the
    boundary line itself (Zoho's "---- On <date> Name <addr> wrote ----").
    """
    pairs: list[tuple[str, str]] = []
    seen_header = False
    for line in lines[start : start + 40]:
        m = _HEADER.fullmatch(line.bare) if line.header else None
        if m is None or not (seen_header or m.group("value").strip()):
            if seen_header:
                break
            continue  # blank, separator or intro lines ("Begin forwarded message:") before it
        seen_header = True
        pairs.append((m.group("key"), m.group("value").strip().strip("*").strip()))
    fields: dict[str, str] = {}
    for key, value in pairs:
        meaning = _KEYS.get(" ".join(key.lower().split()).replace(" ", "")) or _KEYS.get(
            key.lower().strip()
        )
        if meaning and meaning not in fields and value:
            fields[meaning] = value
    if "from" not in fields:
        sender = next((v for _k, v in pairs if _ANY_ADDRESS.search(v)), None)
        if sender is None and _ANY_ADDRESS.search(lines[start].bare):
            sender = _boundary_sender(lines[start].bare)
        if sender:
            fields["from"] = sender
    if "date" not in fields:
        for _key, value in pairs:
            if value != fields.get("from") and parse_loose_date(value) is not None:
                fields["date"] = value
                break
    return fields


def _boundary_sender(text: str) -> str:
    """The address on a separator or attribution line that names the sender."""
    found = _ANY_ADDRESS.search(text)
    return f"<{found.group(0)}>" if found else ""


_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            # English, German, French, Spanish, Italian, Dutch, Portuguese, Scandinavian,
            # then Polish, Czech and Russian (genitive), Turkish, Finnish (partitive)
            "jan january januar janvier enero gennaio januari janv janeiro "
            "stycznia ledna января ocak tammikuuta",
            "feb february februar février fevrier febrero febbraio februari févr fevr fevereiro "
            "lutego února февраля şubat helmikuuta",
            "mar march märz maerz mars marzo maart marts março marco "
            "marca března марта mart maaliskuuta",
            "apr april avril abril aprile kwietnia dubna апреля nisan huhtikuuta",
            "may mai mayo maggio mei maj maio maja května мая mayıs toukokuuta",
            "jun june juni juin junio giugno junho czerwca června июня haziran kesäkuuta",
            "jul july juli juillet julio luglio juil julho lipca července июля temmuz heinäkuuta",
            "aug august août aout agosto augustus augusti sierpnia srpna августа ağustos elokuuta",
            "sep sept september septembre septiembre settembre setembro "
            "września září сентября eylül syyskuuta",
            "oct october oktober octobre octubre ottobre okt outubro "
            "października října октября ekim lokakuuta",
            "nov november novembre noviembre novembro listopada listopadu ноября kasım marraskuuta",
            "dec december dezember décembre decembre diciembre dicembre dez dezembro "
            "grudnia prosince декабря aralık joulukuuta",
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
    # "2026年3月4日 7:30" (Japanese, Chinese): the day as ISO
    value = re.sub(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", r" \1-\2-\3 ", value)
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


def _has_attached_message(msg: Message) -> bool:
    return any(part.get_content_type() == "message/rfc822" for part in _parts(msg))


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
    date = _safe(lambda: _parse_date(date_value), None)
    utc: tzinfo = UTC
    local_tz = _safe(lambda: _offset_of(date_value), utc)

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
