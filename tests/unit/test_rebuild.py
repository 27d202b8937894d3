"""`mailer rebuild`: which contact fields are derived from mail and which are the owner's.

The command itself is tested in tests/system/test_rebuild.py.
"""

from __future__ import annotations

import dataclasses

from mailer.model import Contact
from mailer.rebuild import MAIL_FIELDS


def test_every_contact_field_is_the_mails_or_the_owners() -> None:
    """A new field must be sorted here: a rebuild derives the mail's and keeps the owner's."""
    owners = {
        "email",
        "name",  # the mail's, unless name_fixed
        "name_seen",
        "status",
        "tier",
        "tags",
        "trust",
        "cadence",
        "notes",
        "name_fixed",
        "snoozed_until",
        "last_logged",
        "aliases",
        "intro_opt_out",
        "weeded_from",
        "extra",
    }
    fields = {f.name for f in dataclasses.fields(Contact)}
    assert fields - owners == set(MAIL_FIELDS)
    assert not owners & set(MAIL_FIELDS)
