"""Mail sources: where header bytes come from (IMAP, mbox, Maildir)."""
