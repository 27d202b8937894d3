"""Build a draft message: a few headers and a plain-text body.

Display names and subjects reach the headers from other people's mail (a
contact's name, the last subject) and from templates the user edits, so they
are treated as hostile. Python 3.11's `email` package writes a line break in a
display name or subject straight onto the wire (the check arrived in 3.11.10
and 3.12.5), and it decodes RFC 2047 encoded words in a value it is given, so
`=?utf-8?q?hi=0ABcc:_x@y?=` becomes a line break after any naive cleaning.
`one_line` handles both before a value reaches a header.

Address headers (From, To, Reply-To) are formatted here rather than by the
header registry: Python 3.11's folder can encode the comma between two
addresses as `=?utf-8?q?=2C?=` when a long non-ASCII name is folded, and the
second recipient is lost. Here each address gets a line of its own and a
non-ASCII name is encoded by `email.header.Header`.

Those headers and the draft key are stored raw and written verbatim. The key
in particular must stay on one line, never folded or encoded: the Drafts
readers find it with a plain pattern over raw header bytes, and a key they
cannot read back would mean a second copy of the draft.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

__all__ = ["DRAFT_KEY_HEADER", "build_draft", "message_id", "one_line"]

DRAFT_KEY_HEADER = "X-Mailer-Draft-Key"

# refold_source="none" only affects headers stored raw (addresses, a non-ASCII
# subject, the key): Date and an ASCII subject are still folded as usual.
_POLICY = policy.default.clone(refold_source="none")

# Control characters, line and paragraph separators, lone surrogates (which
# cannot be encoded at all); str.split() then takes care of other whitespace.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_KEY = re.compile(r"[!-~]{1,900}")  # printable ASCII, no spaces: one token on one line
_MAX_NAME = 200  # longer display names are junk, and would make over-long lines


def one_line(text: str) -> str:
    """`text` as one header-safe line: whitespace and control characters collapse
    to single spaces, and `=?` is split so it cannot start an encoded word."""
    return " ".join(_UNSAFE.sub(" ", text).split()).replace("=?", "= ?")


def message_id(key: str, from_address: str) -> str:
    """A Message-ID derived from the draft key, so a rebuilt draft has the same one."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return f"<mailer.{digest}@{_id_domain(from_address)}>"


def build_draft(
    *,
    from_name: str,
    from_address: str,
    to: list[tuple[str | None, str]],
    subject: str,
    body: str,
    key: str,
    date: datetime,
    reply_to: str | None = None,
) -> EmailMessage:
    """The draft as a message ready for `bytes()`. Raises ValueError for an
    address that is not one, an empty `to`, a naive `date` or a key that is
    not printable ASCII without spaces; names, subjects and bodies never raise."""
    if not to:
        raise ValueError("a draft needs at least one recipient")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("the draft date must be timezone-aware")
    if not _KEY.fullmatch(key):
        raise ValueError(f"draft key {key!r} is not printable ASCII without spaces")

    msg = EmailMessage(policy=_POLICY)
    msg.set_raw("From", _address(from_name, from_address))
    msg.set_raw("To", ",\n ".join(_address(name, address) for name, address in to))
    title = one_line(subject)
    if title.isascii():
        msg["Subject"] = title
    else:  # encoded here: see _encoded_subject
        msg.set_raw("Subject", _encoded_subject(title))
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id(key, from_address)
    if reply_to:
        msg.set_raw("Reply-To", _address(None, reply_to))
    msg.set_raw(DRAFT_KEY_HEADER, key)
    msg["MIME-Version"] = "1.0"
    text = _body(body)
    msg.set_content(text, subtype="plain", charset="utf-8", cte=_cte(text))
    return msg


def _encoded_subject(text: str) -> str:
    """A non-ASCII subject as encoded words. Python 3.11's own folding can put a
    space between two encoded words, where readers drop it ("a¡ ¡" came back as
    "a¡¡"); Header keeps every space inside a word."""
    return Header(text, "utf-8", header_name="Subject").encode(linesep="\n")


def _address(name: str | None, address: str) -> str:
    """`Name <addr>` as header text: a quoted ASCII name or encoded words, folded."""
    addr = address.strip()
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or _UNSAFE.search(addr) or " " in addr:
        raise ValueError(f"{address!r} is not an email address")
    if not local.isascii():
        raise ValueError(f"{address!r} has a non-ASCII local part, which needs SMTPUTF8")
    try:
        # A non-ASCII domain goes out as its IDNA (xn--) form, which every server reads.
        domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
        addr_spec = Address(addr_spec=f"{local}@{domain}").addr_spec
    except (ValueError, UnicodeError, IndexError) as e:  # email's defects are ValueErrors
        raise ValueError(f"{address!r} is not an email address") from e
    display = one_line(name or "")[:_MAX_NAME].strip()
    if not display:
        return addr_spec
    if not display.isascii():
        encoded = Header(display, "utf-8", header_name="Reply-To").encode(linesep="\n")
        return f"{encoded} <{addr_spec}>"
    if _ATOMS.fullmatch(display):
        return f"{display} <{addr_spec}>"
    quoted = display.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{addr_spec}>'


_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")  # RFC 5322 atext and spaces


def _id_domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip().lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = ""
    return domain if re.fullmatch(r"[a-z0-9.-]+", domain) else "mailer.invalid"


def _body(body: str) -> str:
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub("[\ud800-\udfff]", "\ufffd", text)  # lone surrogates cannot be encoded
    return text if text.endswith("\n") else text + "\n"


def _cte(text: str) -> str:
    """7bit when the body is short-lined printable ASCII, else quoted-printable.

    Quoted-printable rather than the library's pick of base64 keeps a draft
    readable in its raw form, and also covers NUL and long lines."""
    printable = all(" " <= c <= "~" or c in "\n\t" for c in text)
    if printable and all(len(line) <= 78 for line in text.split("\n")):
        return "7bit"
    return "quoted-printable"
