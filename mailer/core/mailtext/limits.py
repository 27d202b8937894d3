"""Every bound on the work of reading one command mail, in one place.

Hostile input arrives as command mail too (anyone can mail the command address), so
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
"""

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
