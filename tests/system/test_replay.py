"""Replay real mailboxes week by week and judge every draft mailer writes (issue 9).

Three Enron mailboxes from the shared corpus (../shared/corpus/MANIFEST.md):
germany-c (14 months), nemec-g (10 months), and kitchen-l as "a mailbox
nobody tuned the rules on". Each week's mail goes into a real Dovecot (inbox
to INBOX, outbound copies to Sent, the message's date as INTERNALDATE), then
`mailer scan` and `mailer drafts run` run with MAILER_NOW the Monday after,
09:00 UTC. Drafts stay in Drafts: nobody sends or deletes them.

Every draft written at MAILER_NOW = t to person P must satisfy, by the raw
headers alone (tests/support/replay.py, not mailer's parser):
  1. the owner wrote to P before t;
  2. if P's newest message before t is theirs, it is at least 90 days old;
  3. nothing either way between P and the owner in the 14 days before t;
  4. no second draft to P while an earlier one waits in Drafts and nothing
     was exchanged since it was written;
  5. at most 5 drafts (reconnect/seed/rekindle) written on one day.
At the end, every two-way correspondent mailer knows has a lane; the default
contact list is (at least 95%) two-way and `--all` lists more, each with a lane.
Mass and automated mail are not relationships to mailer, so two-way people of
the raw headers may be unknown to it or inbound_only: counted, not failed.

Run: .venv/bin/pytest tests/system/test_replay.py  (prints weeks and drafts per mailbox)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.dovecot import ImapUser
from tests.support.replay import replay
from tests.support.scanhelp import write_config

# folder -> (owner's name, owner's addresses), from MANIFEST.md
MAILBOXES = {
    "enron-germany-c": (
        "Chris Germany",
        ["chris.germany@enron.com", "chris_germany61@hotmail.com", "cgerman@ect.enron.com"],
    ),
    "enron-nemec-g": (
        "Gerald Nemec",
        ["gerald.nemec@enron.com", "gnemec@enron.com", "gnemec@ect.enron.com"],
    ),
    "enron-kitchen-l": ("Louise Kitchen", ["louise.kitchen@enron.com", "lkitchen@enron.com"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("mailbox", list(MAILBOXES))
def test_replay_drafts_keep_the_rules(
    mailbox: str,
    corpus_dir: Path,
    imap_user: ImapUser,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, addresses = MAILBOXES[mailbox]
    config = write_config(
        tmp_path,
        imap_user,
        me={"name": name, "addresses": addresses},
        rules={"default_cadence": "21d", "max_drafts_per_day": 5},
    )
    result = replay(corpus_dir / mailbox, addresses, imap_user, config)
    report = result.report()
    with capsys.disabled():  # the weeks and drafts show in every run's output, not only -s
        print("\n" + report)
    assert result.drafts, report  # a short cadence over months must write some drafts
    assert not result.violations and not result.problems, report
