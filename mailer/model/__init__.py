"""The small value types every part of mailer speaks.

Library types (imapclient's bytes-keyed dicts, TinyDB documents) are turned
into these at the edge, so the core and the CLI never see them.

Glossary:
- contact: a person the owner exchanges mail with, keyed by lower-case address.
- interaction: one message between the owner and a contact, inbound or outbound.
- cadence: how often the owner wants to be in touch with a contact.
- draft: a message mailer writes into the Drafts folder for the owner to send.
- intro: an introduction between two contacts, asked of each side first.

One module per kind of value (this package re-exports them all, so
`from mailer.model import Contact` is the way to import any of them):
- times: `iso` and `parse_iso`, the store's one timestamp format;
- mail: what a scan learns from mail (RawMessage, Interaction, Parsed, FolderState);
- contact: Contact, its stored form and its fast copy (`replace_contact`);
- commands: what the store keeps of command mail (CommandRecord, Changes, ...);
- drafts: DraftRecord; intros: Intro.
"""

from mailer.model.commands import (
    ID_ALPHABET,
    ID_LENGTH,
    Changes,
    CommandRecord,
    ContactChange,
    IntroChange,
    LineOutcome,
    LogEntry,
    log_entry,
    record_id,
)
from mailer.model.contact import LANES, STATUSES, Contact, replace_contact
from mailer.model.drafts import DraftRecord
from mailer.model.intros import INTRO_OPEN, INTRO_STATES, Intro
from mailer.model.mail import Direction, FolderState, Interaction, Parsed, RawMessage
from mailer.model.times import iso, parse_iso

__all__ = [
    "ID_ALPHABET",
    "ID_LENGTH",
    "INTRO_OPEN",
    "INTRO_STATES",
    "LANES",
    "STATUSES",
    "Changes",
    "CommandRecord",
    "Contact",
    "ContactChange",
    "Direction",
    "DraftRecord",
    "FolderState",
    "Interaction",
    "Intro",
    "IntroChange",
    "LineOutcome",
    "LogEntry",
    "Parsed",
    "RawMessage",
    "iso",
    "log_entry",
    "parse_iso",
    "record_id",
    "replace_contact",
]
