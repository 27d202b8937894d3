"""Contacts to and from address books (vCard) and spreadsheets (CSV).

People keep their contacts in Apple Contacts, Google Contacts, Thunderbird or
a spreadsheet; mailer must take them in without duplicating anyone it already
learned from mail, and give its own back so nothing is locked in. Pure: text
in, values out; reading and writing files is mailer.addressbook's job.

The merge is by address: a card matches the contact whose email or alias is
any of the card's addresses. What a file gives updates that contact; what the
scan learned (counts, dates, subjects) is never touched.

Address books of tens of thousands of cards are common, and an import must take
them in seconds: vCard is read by a small reader of our own that looks only at
the properties mailer uses (vobject, which writes the export, took minutes for
50,000 cards), and the merge is one pass over the cards.

One module per step: cards (one card's values, checked), vcard and csvfile
(the two formats, each both ways) and merge (cards into contacts). This
package re-exports what the rest of mailer uses.
"""

from mailer.core.addressbook.cards import NO_EMAIL, ImportedContact
from mailer.core.addressbook.csvfile import CSV_COLUMNS, from_csv, to_csv
from mailer.core.addressbook.merge import MERGE_FIRST, ImportPlan, Skipped, Updated, plan_import
from mailer.core.addressbook.vcard import from_vcard, to_vcard

__all__ = [
    "CSV_COLUMNS",
    "MERGE_FIRST",
    "NO_EMAIL",
    "ImportPlan",
    "ImportedContact",
    "Skipped",
    "Updated",
    "from_csv",
    "from_vcard",
    "plan_import",
    "to_csv",
    "to_vcard",
]
