"""mailer: keep a professional network alive from the mailbox you already have."""

from mailer import lazymethods

__version__ = "0.1.0"

lazymethods.install()  # before any of mailer's classes is made: see its docstring
