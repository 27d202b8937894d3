"""The test suite.

unit/ (no server, no subprocess), system/ (Dovecot, SMTP, subprocesses),
support/ (helpers), bench/ (`make bench`).
"""
