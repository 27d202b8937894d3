"""Tests against real outside things.

Dovecot, aiosmtpd, `python -m mailer` subprocesses, the corpus, kill -9.
"""
