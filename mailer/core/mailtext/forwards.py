"""Forwarded originals: who the owner forwarded, inline or attached.

A forward is never commands: the forwarded text (inline, below its separator
or header block, or attached as message/rfc822) only names its original
sender. The owner's own lines above a recognised forwarded block are read as
commands (forward a mail with "tag carl@x.org events" on top); a mail whose
subject says forward (Fwd:, WG:, VB:, TR:, RV:, I:, PD:, Doorst: ...) but
whose forwarded block is not recognised has no command lines at all, since
we cannot tell where the owner's text ends.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from email.message import Message

from mailer.core.dates import parse_loose_date, parse_rfc_date
from mailer.core.mailtext.fields import _decode_words, _raw_headers, _read_from
from mailer.core.mailtext.lines import _ANY_ADDRESS, _HEADER, _Line
from mailer.core.mailtext.mime import _parts


@dataclass(frozen=True)
class Forwarded:
    """An original message the owner forwarded (inline or attached)."""

    sender: str  # lower-case address
    name: str | None
    date: datetime | None  # UTC
    subject: str | None
    message_id: str | None = None  # when the forward shows it (always, when attached)


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
                date=parse_rfc_date(dates[0]) if dates else None,
                subject=_decode_words(subjects[0]) if subjects else None,
                message_id=ids[0].strip() or None if ids else None,
            )
        )
    return out


def _has_attached_message(msg: Message) -> bool:
    return any(part.get_content_type() == "message/rfc822" for part in _parts(msg))
