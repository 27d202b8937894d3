"""mailer.core.mailtext over every file of the shared real-mail corpus.

The client shapes are tested in tests/unit/test_mailtext.py.
"""

from __future__ import annotations

from pathlib import Path

from mailer.core.mailtext import (
    read_mail,
)


def test_reads_every_corpus_file(corpus_dir: Path) -> None:
    files = sorted(p for p in corpus_dir.rglob("*") if p.is_file())
    assert len(files) > 500
    for path in files:
        info = read_mail(path.read_bytes())
        assert isinstance(info.new_text, str), path
        assert all(a == a.lower() for a in info.from_addresses + info.recipients), path
