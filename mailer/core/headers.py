"""What one message means: header bytes in, interactions out (SPEC section 3).

Every scanned message passes through `parse_message`, so it sits on the hot
path of a scan that should cost little more than the IMAP fetch itself (about
25,000 messages/s). That is why this module does not use the `email` package's
full parser: it picks the few fields it needs out of the raw header block with
one regular expression, and handles the common shapes of addresses, dates and
subjects with fast paths. The standard library (`email.utils.getaddresses`,
`email.utils.parsedate_to_datetime`) is still the judge for the unusual ones:
quoted names with parentheses or backslashes, groups, odd date formats.

It is also where hostile input arrives: header bytes come straight from other
people's mail. `parse_message` never raises; a message it cannot understand
comes back with `Parsed.error` set, so the scan counts it and goes on.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import fnmatch
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mailer.core.clean import clean_line
from mailer.model import Interaction, Parsed, RawMessage

__all__ = [
    "DEFAULT_IGNORE",
    "HEADER_FIELDS",
    "Identity",
    "decode_words",
    "parse_date",
    "parse_header_fields",
    "parse_message",
]

# What a source must fetch (BODY.PEEK[HEADER.FIELDS (...)]). Every field costs
# bytes on every message of every scan, so only what section 3 needs is here.
# Sender is left out on purpose: it only matters for list mail, which List-Id
# and Precedence already catch.
HEADER_FIELDS: tuple[str, ...] = (
    "From",
    "To",
    "Cc",
    "Bcc",
    "Date",
    "Subject",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "Precedence",
    "Auto-Submitted",
)

# Automated senders. Matched case-insensitively against the whole address:
# "*" and "?" are fnmatch globs, "@domain" (or a bare "domain") matches that
# domain and its subdomains, anything else with an "@" is one exact address.
DEFAULT_IGNORE: tuple[str, ...] = (
    "*noreply*@*",
    "*no-reply*@*",
    "*no_reply*@*",
    "*donotreply*@*",
    "*do-not-reply*@*",
    "*do_not_reply*@*",
    "mailer-daemon@*",
    "mailerdaemon@*",
    "postmaster@*",
    "bounce@*",
    "bounces@*",
    "bounce-*@*",
    "bounces-*@*",
    "bounce+*@*",
    "bounces+*@*",
    "*-bounce@*",
    "*-bounces@*",
    "*@bounce.*",
    "*@bounces.*",
    "*notification@*",
    "*notifications@*",
    "notify@*",
    "auto-reply@*",
    "autoreply@*",
    "auto-confirm@*",
    "listserv@*",
    "majordomo@*",
    "owner-*@*",
    "*-owner@*",
    "*-request@*",
)

HEADER_LIMIT = 1 << 20  # a header block larger than this is cut; the parser copes
MAX_SUBJECT = 200  # characters kept of a subject (and of a display name)
_MAX_RAW_TEXT = 4000  # raw characters decoded for those; the rest is cut anyway

_KEY_FIELDS = ("date", "from", "to", "subject")
_AUTOMATED_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
_FIRST_YEAR, _LAST_YEAR = "1970", "2100"  # a Date outside these is a broken clock
_ONE_DAY = timedelta(days=1)
_UTC = UTC


def _field_regex(names: str) -> re.Pattern[str]:
    # Matches "\nName: value" with its continuation lines, or the blank line
    # that ends the header block (as an empty name). Continuation lines start
    # with a space or tab; a "\r" before "\n" stays in the value, for the
    # users of the value to strip. The leading "\n" (rather than "^" and
    # MULTILINE) lets the regex engine jump from line to line, and spelling
    # out the case ([Ff][Rr]...) rather than IGNORECASE makes it 4 times faster.
    return re.compile(rf"\n({names})[ \t]*:(.*(?:\r?\n[ \t].*)*)|\n\r?\n")


def _any_case(name: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in name)


_WANTED_RE = _field_regex("|".join(_any_case(n) for n in HEADER_FIELDS))
_ANY_FIELD_RE = _field_regex("[!-9;-~]+")
_BLANK = ("", "")
_LONG_HEADER = 8192  # beyond this, cut at the blank line before decoding

# Labels that mail clients use for a superset, as web browsers also read them.
_CHARSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "unknown-8bit": "utf-8",
}
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
# A plausible address: something@something, without spaces, controls or the
# characters that delimit addresses. Apostrophes are fine in the local part.
_ADDRESS_RE = re.compile(
    r"[^\s@<>(),;:\"\\\[\]\x00-\x1f\x7f]+@[^\s@<>(),;:\"'\\\[\]\x00-\x1f\x7f]+"
)
# Comma-separated pieces of an address list, commas inside quotes kept.
_QUOTED_LIST_RE = re.compile(r'(?:"[^"]*"|[^,"])+')

# The RFC 5322 date almost everyone writes: "Tue, 1 Jul 2003 10:52:37 +0200 (CEST)".
_DATE_RE = re.compile(
    r"\s*(?:[A-Za-z]+,?\s*)?(\d\d?)\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{4})\s+"
    r"(\d\d?):(\d\d)(?::(\d\d))?\s*(?:([+-]\d{4})|[Uu][Tt][Cc]?|[Gg][Mm][Tt]|[Zz])?"
    r"\s*(?:\([^()]*\)\s*)?",
    re.ASCII,
)
_MONTHS = {
    name: f"{i:02d}"
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
    for name in (m, m.title())
}

# What an address is to the owner.
_PERSON, _OWNER, _IGNORED = 0, 1, 2
_Address = tuple[str, int, str | None]  # (lower-case address, kind, display name)
# Cache bounds (entries): about 5 MB for a mailbox of 10,000 correspondents.
_CACHE_SIZE = 50_000
_LIST_CACHE_SIZE = 20_000
_MAX_HARD_LIST = 8192  # characters of an address list the stdlib parser is given


_GLOB = re.compile(r"[*?\[]")
_LITERAL = r"[^*?\[\]]+"


class _Ignore:
    """The ignore patterns, sorted by shape so that a check costs a few set
    lookups and string tests instead of one regex of 30 alternatives that all
    start with ".*" (2-3 µs for every new address of a first scan).
    """

    __slots__ = (
        "contains",
        "domain_prefix",
        "domain_suffix",
        "domains",
        "exact",
        "globs",
        "local",
        "prefix",
        "suffix",
    )

    def __init__(self, patterns: Iterable[str]) -> None:
        exact: set[str] = set()
        domains: set[str] = set()
        local: set[str] = set()
        prefix: list[str] = []
        suffix: list[str] = []
        contains: list[str] = []
        domain_prefix: list[str] = []
        domain_suffix: list[str] = []
        globs: list[str] = []
        for raw in patterns:
            p = raw.strip().lower()
            if not p:
                continue
            if not _GLOB.search(p):
                if "@" in p[1:]:
                    exact.add(p)
                else:
                    # A domain, "@example.com" or "example.com", subdomains
                    # included: automated mail often comes from mail.example.com.
                    domains.add(p.lstrip("@"))
                continue
            name, at, domain = p.rpartition("@")
            if at and domain == "*" and not _GLOB.search(name):
                local.add(name)
            elif at and domain == "*" and re.fullmatch(rf"\*{_LITERAL}\*", name):
                contains.append(name[1:-1])
            elif at and domain == "*" and re.fullmatch(rf"{_LITERAL}\*", name):
                prefix.append(name[:-1])
            elif at and domain == "*" and re.fullmatch(rf"\*{_LITERAL}", name):
                suffix.append(name[1:])
            elif name == "*" and re.fullmatch(rf"{_LITERAL}\*", domain):
                domain_prefix.append(domain[:-1])
            elif name == "*" and re.fullmatch(rf"\*{_LITERAL}", domain):
                domain_suffix.append(domain[1:])
            else:
                globs.append(fnmatch.translate(p))
        self.exact = frozenset(exact)
        self.domains = frozenset(domains)
        self.local = frozenset(local)
        self.prefix = tuple(prefix)
        self.suffix = tuple(suffix)
        self.domain_prefix = tuple(domain_prefix)
        self.domain_suffix = tuple(domain_suffix)
        self.contains = re.compile("|".join(map(re.escape, contains))) if contains else None
        self.globs = re.compile("|".join(globs)) if globs else None

    def __call__(self, address: str) -> bool:
        """True when `address` (lower-case) matches one of the patterns."""
        if address in self.exact:
            return True
        name, _, domain = address.rpartition("@")
        if (
            name in self.local
            or (self.prefix and name.startswith(self.prefix))
            or (self.suffix and name.endswith(self.suffix))
            or (self.contains is not None and self.contains.search(name))
            or (self.domain_prefix and domain.startswith(self.domain_prefix))
            or (self.domain_suffix and domain.endswith(self.domain_suffix))
            or (self.globs is not None and self.globs.match(address))
        ):
            return True
        if self.domains:
            while True:
                if domain in self.domains:
                    return True
                dot = domain.find(".")
                if dot == -1:
                    return False
                domain = domain[dot + 1 :]
        return False


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the owner is, and whose mail is not a relationship.

    `addresses` are the owner's own (any case; kept lower-case). `ignore`
    replaces the defaults when given; `from_config` adds to them instead.
    Ignore patterns, case-insensitive, matched against the whole address:
    - `alerts@example.com`: that one address;
    - `@example.com` (or `example.com`): that domain and all its subdomains;
    - anything with `*`, `?` or `[`: an fnmatch glob, e.g. `noreply*@*`, `*@bounces.*`.
    """

    addresses: frozenset[str]
    max_recipients: int = 20
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    _ignored: _Ignore = field(init=False, repr=False, compare=False)
    # Caches, because a mailbox has far fewer distinct senders and recipient
    # lists than messages: raw address text -> (address, kind) or None when
    # not an address, and raw field value -> its addresses with their names.
    _seen: dict[str, tuple[str, int] | None] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _lists: dict[str, tuple[_Address, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        given = [self.addresses] if isinstance(self.addresses, str) else self.addresses
        addresses = frozenset(a.strip().lower() for a in given if a and a.strip())
        object.__setattr__(self, "addresses", addresses)
        object.__setattr__(self, "ignore", tuple(self.ignore))
        object.__setattr__(self, "_ignored", _Ignore(self.ignore))

    @classmethod
    def from_config(
        cls,
        addresses: Iterable[str],
        max_recipients: int = 20,
        ignore_patterns: Iterable[str] = (),
    ) -> Identity:
        """The owner as configured: `ignore_patterns` extend DEFAULT_IGNORE."""
        return cls(
            addresses=frozenset([addresses] if isinstance(addresses, str) else addresses),
            max_recipients=max_recipients,
            ignore=DEFAULT_IGNORE + tuple(ignore_patterns),
        )

    def ignores(self, address: str) -> bool:
        """True when mail from `address` is automated by the ignore patterns."""
        return self._ignored(address.strip().lower())

    def _classify(self, raw: str) -> tuple[str, int] | None:
        """(lower-case address, kind) of raw address text, None if not an address."""
        addr = raw.strip().strip("<>").strip()
        # 'pat@example.com': a quoted address, as Outlook writes them.
        if len(addr) > 2 and addr[0] == addr[-1] == "'":
            addr = addr[1:-1]
        result: tuple[str, int] | None = None
        if _ADDRESS_RE.fullmatch(addr):
            addr = addr.lower()
            if addr in self.addresses:
                kind = _OWNER
            elif self._ignored(addr):
                kind = _IGNORED
            else:
                kind = _PERSON
            result = (addr, kind)
        if len(self._seen) >= _CACHE_SIZE:  # bound the memory of a long-running daemon
            self._seen.clear()
        self._seen[raw] = result
        return result

    def _addresses(self, value: str) -> tuple[_Address, ...]:
        """(lower-case address, kind, display name) of each address in a field."""
        found = self._lists.get(value)
        if found is None:
            found = _parse_addresses(value, self)
            if len(value) <= 512:  # long lists are rare, and mass mail anyway
                if len(self._lists) >= _LIST_CACHE_SIZE:
                    self._lists.clear()
                self._lists[value] = found
        return found


# --- header block -------------------------------------------------------------


def _text(value: bytes) -> str:
    """Header bytes as text: UTF-8 if it is, else Latin-1 (every byte is a char)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = value.decode("utf-8", "replace")
    # Mostly UTF-8 with a stray byte: keep the UTF-8. No UTF-8 at all: Latin-1.
    if any(c > "\x7f" and c != "\ufffd" for c in text):
        return text
    return value.decode("latin-1")


def _fields(header: bytes, pattern: re.Pattern[str]) -> dict[str, str]:
    """Lower-case field name -> first value, as it stands (folded, not stripped).

    Collapsing whitespace is left to the users of each value: most of them
    cope with it for free, and it would cost a fifth of the whole parse.
    A leading mbox "From " line has no colon after "From", so it never matches.
    """
    if len(header) > _LONG_HEADER:  # perhaps a whole message: keep the body out
        end = header.find(b"\n\n")
        crlf = header.find(b"\n\r\n")
        if crlf != -1 and (end == -1 or crlf < end):
            end = crlf
        if end != -1:
            header = header[: end + 1]
    try:
        text = header.decode("utf-8")
        mixed = False
    except UnicodeDecodeError:
        # Decide per field below: one Latin-1 name must not spoil the rest.
        text = header.decode("utf-8", "surrogateescape")
        mixed = True
    pairs = pattern.findall("\n" + text)
    if _BLANK in pairs:
        del pairs[pairs.index(_BLANK) :]
    found: dict[str, str] = {}
    # Backwards, so that the first occurrence of a field is the one left.
    for name, value in reversed(pairs):
        if mixed and not value.isascii():
            value = _text(value.encode("utf-8", "surrogateescape"))
        found[name.lower()] = value
    return found


def parse_header_fields(header: bytes) -> dict[str, str]:
    """All fields of a header block: lower-case name -> first value.

    Values are unfolded and whitespace-collapsed, bytes decoded as UTF-8 (or
    Latin-1), encoded words left as they are (see `decode_words`).
    """
    return {k: " ".join(v.split()) for k, v in _fields(bytes(header), _ANY_FIELD_RE).items()}


# --- encoded words (RFC 2047) ---------------------------------------------------


def _decode_word(m: re.Match[str]) -> str:
    charset, kind, text = m.group(1), m.group(2), m.group(3)
    charset = charset.split("*", 1)[0].lower()  # RFC 2231 language suffix
    try:
        if kind in "bB":
            data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        else:
            data = binascii.a2b_qp(text.encode("ascii", "replace"), header=True)
    except (binascii.Error, ValueError):
        return m.group(0)
    try:
        return data.decode(_CHARSETS.get(charset, charset), "replace")
    except Exception:  # unknown or non-text codec: the bytes are most likely UTF-8
        return data.decode("utf-8", "replace")


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; whitespace between two of them goes away."""
    if "=?" not in text:
        return text
    out: list[str] = []
    pos = 0
    for m in _ENCODED_WORD_RE.finditer(text):
        gap = text[pos : m.start()]
        if pos == 0 or gap.strip():  # whitespace between two encoded words is dropped
            out.append(gap)
        out.append(_decode_word(m))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _clean(text: str, limit: int = MAX_SUBJECT) -> str | None:
    """Decoded, one line, printable, at most `limit` characters; None if empty."""
    text = text.strip()
    if len(text) > _MAX_RAW_TEXT:
        cut = text.rfind(" ", 0, _MAX_RAW_TEXT)
        text = text[: cut if cut > 0 else _MAX_RAW_TEXT]
    if "=?" in text:
        text = decode_words(text)
    if "  " in text or not text.isprintable():  # folds, tabs, controls, escape sequences
        text = " ".join(clean_line(text).split())
    if len(text) > limit:
        text = text[:limit].rstrip()
    return text or None


def _name(raw: str, address: str) -> str | None:
    """A display name worth keeping: decoded, unquoted, not the address again."""
    name = _clean(raw)
    while name and len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1].strip()
    if not name or name.lower() == address:
        return None
    return name


# --- addresses ------------------------------------------------------------------


# An encoded word stands in for one opaque atom while a list is split (see _mask_words).
_MASK_OPEN, _MASK_CLOSE = "\ue000", "\ue001"  # private use: no mail means anything by them
_MASKED_RE = re.compile(f"{_MASK_OPEN}(\\d+){_MASK_CLOSE}")


def _mask_words(value: str) -> tuple[str, list[str]]:
    """`value` with each encoded word replaced by a placeholder atom, and the words.

    An encoded word is one atom of a display name (RFC 2047 section 5): what
    it decodes to is never syntax. `=?utf-8?q?x:anna@a.example;?= <eve@evil.example>`
    is one mail from eve (so mail clients and Python's own parser show it), but
    split as it stands, its colon and semicolon make a group holding anna.
    So the list is split with the words masked, and they are decoded after.
    """
    words: list[str] = []

    def mask(m: re.Match[str]) -> str:
        words.append(m.group(0))
        return f"{_MASK_OPEN}{len(words) - 1}{_MASK_CLOSE}"

    if _MASK_OPEN in value:  # a sender's own placeholder characters mean nothing
        value = value.replace(_MASK_OPEN, "\ufffd")
    return _ENCODED_WORD_RE.sub(mask, value), words


def _unmask(text: str, words: list[str]) -> str:
    if _MASK_OPEN not in text:
        return text
    return _MASKED_RE.sub(lambda m: words[int(m.group(1))], text)


def _parse_addresses(value: str, who: Identity) -> tuple[_Address, ...]:
    """The real addresses in an address-list field, with their display names.

    Plain lists ("a@x, Name <b@y>", quoted names too) are split here; the
    standard library's getaddresses is the judge of the hard ones: comments,
    groups, backslashes, unbalanced quotes. Encoded words are decoded only
    after the split (`_mask_words`).
    """
    words: list[str] = []
    if "=?" in value:
        value, words = _mask_words(value)
    pairs = None
    if "(" in value or ":" in value or ";" in value or "\\" in value or value.count('"') % 2:
        pairs = _stdlib_addresses(value)
    if pairs is None:
        pairs = _split_addresses(value)
    found = []
    seen = who._seen
    for name, raw in pairs:
        if words:
            name, raw = _unmask(name, words), _unmask(raw, words)
        info = seen[raw] if raw in seen else who._classify(raw)
        if info is not None:
            addr, kind = info
            found.append((addr, kind, _name(name, addr) if name else None))
    return tuple(found)


def _stdlib_addresses(value: str) -> list[tuple[str, str]] | None:
    # getaddresses recurses once per nested "(" and is slow on huge values;
    # lists that long are mass mail anyway, and the plain split does for them.
    if len(value) > _MAX_HARD_LIST or value.count("(") > 64:
        return None
    try:
        return email.utils.getaddresses([" ".join(value.split())])
    except Exception:  # it has had crashes on odd input
        return None


def _split_addresses(value: str) -> list[tuple[str, str]]:
    pieces = _QUOTED_LIST_RE.findall(value) if '"' in value else value.split(",")
    pairs = []
    for piece in pieces:
        lt = piece.rfind("<")
        if lt == -1:
            pairs.append(("", piece))
        else:
            gt = piece.find(">", lt)
            pairs.append((piece[:lt], piece[lt + 1 : gt] if gt != -1 else piece[lt + 1 :]))
    return pairs


# --- dates ----------------------------------------------------------------------


def parse_date(value: str | None) -> datetime | None:
    """A Date header value as an aware UTC datetime, or None if not believable.

    No zone (or "-0000") counts as UTC; years outside 1970-2100 are a broken
    clock, not a date.
    """
    if not value:
        return None
    m = _DATE_RE.fullmatch(value)
    if m is not None:
        day, mon, year, hour, minute, second, offset = m.groups()
        month = _MONTHS.get(mon) or _MONTHS.get(mon.lower())
        if month is None or not _FIRST_YEAR <= year <= _LAST_YEAR:  # 4 digits: str order
            return None
        # fromisoformat is C and validates (31 February, 25 o'clock, +9900):
        # several times faster than int() on each part and datetime().
        iso = f"{year}-{month}-{day:0>2}T{hour:0>2}:{minute}:{second or '00'}{offset or '+0000'}"
        try:
            when = datetime.fromisoformat(iso)
        except ValueError:
            if second != "60":
                return None
            when = datetime.fromisoformat(iso.replace(":60", ":59"))  # a leap second
        return when if when.tzinfo is _UTC else when.astimezone(_UTC)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except Exception:  # ValueError, TypeError, OverflowError, IndexError by version
        return None
    if when is None or not int(_FIRST_YEAR) <= when.year <= int(_LAST_YEAR):
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=_UTC)
    try:
        return when.astimezone(_UTC)
    except (OverflowError, ValueError):
        return None


def _as_utc(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    if when.tzinfo is None:  # never the local zone: that would make this impure
        return when.replace(tzinfo=_UTC)
    try:
        return when.astimezone(_UTC)
    except (OverflowError, ValueError):
        return None


# --- the message ----------------------------------------------------------------


def _key(fields: dict[str, str], header: bytes) -> str:
    """A stable 16-hex-digit id: of the Message-ID, else of Date+From+To+Subject.

    Whitespace is collapsed first, so a copy folded differently in another
    folder or an mbox export still gets the same key. With none of those
    fields the header bytes themselves are all there is to tell messages apart.
    """
    mid = fields.get("message-id")
    if mid:
        mid = "".join(mid.split()).strip("<>")
    if mid:
        data = ("m\0" + mid).encode("utf-8", "surrogatepass")
    else:
        parts = [" ".join(fields.get(name, "").split()) for name in _KEY_FIELDS]
        data = (
            ("h\0" + "\0".join(parts)).encode("utf-8", "surrogatepass")
            if any(parts)
            else (b"b\0" + header)
        )
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def header_block(data: bytes) -> bytes:
    """The bytes of a whole message up to the first empty line (LF or CRLF)."""
    data = data[:HEADER_LIMIT]
    cut = [i for i in (data.find(b"\n\n"), data.find(b"\r\n\r\n")) if i >= 0]
    return data[: min(cut)] if cut else data


def message_id_key(message_id: str) -> str:
    """The key a scan gives a message with this Message-ID (see `_key`)."""
    return _key({"message-id": message_id}, b"")


def _automated(fields: dict[str, str]) -> bool:
    if "list-id" in fields or "list-unsubscribe" in fields:
        return True
    precedence = fields.get("precedence")
    if precedence and precedence.split(";")[0].strip().lower() in _AUTOMATED_PRECEDENCE:
        return True
    auto = fields.get("auto-submitted")
    if auto:
        auto = auto.split(";")[0].split("(")[0].strip().lower()
        return bool(auto) and auto != "no"
    return False


def _when(fields: dict[str, str], internaldate: datetime | None) -> datetime | None:
    date = parse_date(fields.get("date"))
    server = (
        internaldate
        if internaldate is None or internaldate.tzinfo is _UTC
        else (_as_utc(internaldate))
    )
    if date is None or (server is not None and date > server + _ONE_DAY):
        return server
    return date


def _parse(raw: RawMessage, who: Identity) -> Parsed:
    header = raw.header
    if not isinstance(header, bytes):
        header = header.encode("utf-8", "surrogateescape") if isinstance(header, str) else b""
    fields = _fields(header, _WANTED_RE)
    key = _key(fields, header)
    if _automated(fields):
        return Parsed(key=key, skipped="automated")
    senders = who._addresses(fields.get("from", ""))
    if not senders:
        return Parsed(key=key, error="no From")
    sender, kind, sender_name = senders[0]

    if kind == _OWNER:
        # Outbound: every distinct recipient who is not the owner.
        recipients: dict[str, tuple[int, str | None]] = {}
        for field_name in ("to", "cc", "bcc"):
            value = fields.get(field_name)
            if value is None:
                continue
            for addr, k, name in who._addresses(value):
                if k != _OWNER and (addr not in recipients or (name and not recipients[addr][1])):
                    recipients[addr] = (k, name)
        if len(recipients) > who.max_recipients:
            # Not a personal exchange (it counts for no one), but a sign of
            # recent contact: the rules write no personal note right after it.
            when = _when(fields, raw.internaldate)
            group = tuple(
                Interaction(email=a, name=None, when=when, direction="group")
                for a, (k, _) in recipients.items()
                if k == _PERSON and when is not None
            )
            return Parsed(key=key, interactions=group, skipped="mass")
        people = [(a, n) for a, (k, n) in recipients.items() if k == _PERSON]
        if not people:
            return Parsed(key=key, skipped="ignored" if recipients else "no recipients")
        when = _when(fields, raw.internaldate)
        if when is None:
            return Parsed(key=key, error="no usable date")
        subject = _clean(fields.get("subject", ""))
        return Parsed(
            key=key,
            interactions=tuple(
                Interaction(email=a, name=n, when=when, direction="out", subject=subject)
                for a, n in people
            ),
        )

    if kind == _IGNORED:
        return Parsed(key=key, skipped="ignored")
    when = _when(fields, raw.internaldate)
    if when is None:
        return Parsed(key=key, error="no usable date")
    subject = _clean(fields.get("subject", ""))
    return Parsed(
        key=key,
        interactions=(Interaction(sender, sender_name, when, "in", subject),),
    )


def parse_message(raw: RawMessage, who: Identity) -> Parsed:
    """What `raw` means to `who` (SPEC section 3). Never raises.

    `skipped` is one of "automated", "ignored" (sender, or every recipient,
    matches the ignore patterns), "mass" (outbound to more than
    `who.max_recipients` distinct addresses besides the owner's), "no
    recipients" (outbound to the owner only); `error` one of "no From",
    "no usable date", or "parse failed: <exception>" (a bug, but never fatal).
    """
    try:
        return _parse(raw, who)
    except Exception as exc:  # the scan must go on whatever a header holds
        try:
            key = hashlib.blake2b(bytes(raw.header), digest_size=8).hexdigest()
        except Exception:
            key = "0" * 16
        return Parsed(key=key, error=f"parse failed: {type(exc).__name__}")
