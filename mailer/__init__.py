"""mailer: keep a professional network alive from the mailbox you already have."""

__version__ = "0.1.0"
