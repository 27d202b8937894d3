"""Intro: one introduction between two contacts, from the first ask to its outcome.

A type of its own, apart from the contacts it joins: the store keeps intros in
a table of their own, and an intro lives on after its drafts are written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

INTRO_OPEN = "asked"  # waiting for answers; every other state is closed
INTRO_STATES = ("asked", "introduced", "declined", "expired")


@dataclass(frozen=True)
class Intro:
    """One introduction between two contacts, from the first ask to its outcome.

    `a` and `b` are the two emails in sorted order. A pair may be introduced
    again after the cooldown, so an intro is known by its pair and the day it
    was asked (`key`).
    """

    a: str
    b: str
    asked_at: str  # ISO-8601 UTC (for a direct introduction: when it was made)
    state: str = INTRO_OPEN  # asked | introduced | declined | expired
    answer_a: str | None = None  # "yes" | "no", once given
    answer_b: str | None = None
    note: str = ""  # the owner's word on why they should meet (goes into the drafts)
    direct: bool = False  # introduced without asking first (trust 3 both, when allowed)
    closed_at: str | None = None  # declined or expired
    introduced_at: str | None = None
    outcome: str | None = None  # "good" | "bad", recorded by the owner afterwards
    outcome_note: str = ""
    outcome_at: str | None = None

    @property
    def key(self) -> str:
        return f"{self.a}|{self.b}|{self.asked_at[:10]}"

    @property
    def is_open(self) -> bool:
        return self.state == INTRO_OPEN

    def answer_of(self, email: str) -> str | None:
        return self.answer_a if email == self.a else self.answer_b if email == self.b else None

    def other(self, email: str) -> str:
        return self.b if email == self.a else self.a

    def to_doc(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "key": self.key}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Intro:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in names})
