"""The two introduction templates with hard names.

The double opt-in against a real Dovecot is tested in tests/system/test_intro_flow.py.
"""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

from mailer import intros
from mailer.app import App
from mailer.config import from_dict
from mailer.core.intros import IntroDraft
from mailer.model import Contact, Intro
from mailer.render import Renderer
from tests.support.clock import NOW


def test_templates_say_who_and_why_and_keep_hard_names_safe(tmp_path: Path) -> None:
    config = from_dict(
        {
            "me": {"name": "Pat Doe", "addresses": ["me@example.org"]},
            "store": {"path": str(tmp_path / "s.json")},
            "intros": {"complementary": [["hiring", "looking"]]},
        }
    )
    zoe = Contact("zoe@z.example", "Zoë\nMüller\r\nBcc: x@evil.example", tags=("hiring", "rust"))
    jose = Contact("jose@j.example", "José Álvarez", tags=("looking", "rust"))
    intro = Intro("jose@j.example", "zoe@z.example", "2026-03-04T09:00:00Z", note="Both love Rust.")
    people = intros._People({c.email: c for c in (zoe, jose)})
    needed = [
        IntroDraft(
            "intro_request",
            "intro_request:jose@j.example:zoe@z.example:2026-03-04",
            intro,
            ("jose@j.example",),
            "zoe@z.example",
        ),
        IntroDraft(
            "introduction",
            "introduction:jose@j.example:zoe@z.example:2026-03-04",
            intro,
            ("jose@j.example", "zoe@z.example"),
            None,
        ),
    ]
    ask, both = intros.prepare(
        needed, people, Renderer(None, "Pat Doe", "me@example.org"), App(config), NOW
    )
    assert ask.subject == "Would you like to meet Zoë Müller Bcc: x@evil.example?"
    assert "Hi José," in ask.body and "Both love Rust." in ask.body
    assert "you both work on rust" in ask.body
    # not told before Zoë agreed: her own tags ("hiring") stay out of the ask
    assert "hiring" not in ask.body
    msg = email.message_from_bytes(both.message, policy=policy.default)
    assert msg["Bcc"] is None and len(msg["To"].addresses) == 2
    assert msg["Subject"] == "Introduction: José Álvarez <> Zoë Müller Bcc: x@evil.example"
    assert "Hi José and Zoë," in msg.get_content()
    assert "\nBcc:" not in both.message.decode("utf-8", "replace").split("\n\n", 1)[0]
