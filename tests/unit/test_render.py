"""Templates: the built-in reconnect draft, user overrides, and one-line errors.

A broken or hostile user template must end as a TemplateError naming the file
and line (exit code 2), never as a traceback or as text in a draft.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path

import pytest

from mailer.errors import UsageError
from mailer.model import Contact
from mailer.render import (
    Record,
    Rendered,
    Renderer,
    TemplateError,
    ago,
    first_name,
    format_date,
)

NOW = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
JANE = Contact(
    email="jane.smith@example.com",
    name="Jane Smith",
    status="active",
    tier="network",
    tags=("python", "berlin"),
    notes="Met at PyCon 2025; building a bike-sharing startup.",
    first_seen="2024-05-10T09:00:00Z",
    last_inbound="2025-10-28T16:12:00Z",
    last_outbound="2025-11-01T10:00:00Z",
    messages_in=7,
    messages_out=9,
    last_subject="Q3 plans",
)
SIGNATURE = "Best,\nPat Doe\n"


@pytest.fixture
def renderer() -> Renderer:
    return Renderer(None, "Pat Doe", "pat@example.org")


def user_renderer(tmp_path: Path, **templates: str) -> Renderer:
    for name, source in templates.items():
        (tmp_path / f"{name}.j2").write_text(source, encoding="utf-8")
    return Renderer(tmp_path, "Pat Doe", "pat@example.org")


# --- the built-in reconnect template --------------------------------------------------------


def test_builtin_templates_ship_as_package_data() -> None:
    names = {p.name for p in files("mailer.templates").iterdir()}
    assert {"reconnect.j2", "signature.j2"} <= names


def test_reconnect_for_a_realistic_contact(renderer: Renderer) -> None:
    out = renderer.render("reconnect.j2", **renderer.reconnect_context(JANE, NOW))
    assert out.subject == "Catching up"
    assert "Hi Jane," in out.body
    assert "about 4 months" in out.body
    assert "“Q3 plans”" in out.body
    # the owner's notes and tags are theirs: one send without editing must not show them
    assert "bike-sharing" not in out.body and "python" not in out.body
    assert out.body.endswith("\n\n" + SIGNATURE)
    assert not out.body.endswith("\n\n\n")
    assert "None" not in out.body and "{" not in out.body


def test_reconnect_with_little_known(renderer: Renderer) -> None:
    bare = Contact(email="x@example.com")
    out = renderer.render("reconnect", **renderer.reconnect_context(bare, NOW))
    assert out.body.startswith("Hi there,\n")
    assert "It's been a while since we were last in touch" in out.body
    assert "delete before sending" not in out.body
    assert out.body.endswith(SIGNATURE)


def test_a_hostile_subject_is_data_not_template(renderer: Renderer) -> None:
    evil = Contact(email="e@example.com", name="{{ 7*7 }}", last_subject="{{ cycler.__init__ }}")
    out = renderer.render("reconnect", **renderer.reconnect_context(evil, NOW))
    assert "“{{ cycler.__init__ }}”" in out.body
    assert "49" not in out.body


def test_signature_falls_back_to_the_address() -> None:
    r = Renderer(None, "", "pat@example.org")
    out = r.render("reconnect", **r.reconnect_context(JANE, NOW))
    assert out.body.endswith("Best,\npat@example.org\n")


def test_context_holds_mappings_not_dataclasses(renderer: Renderer) -> None:
    ctx = renderer.reconnect_context(JANE, NOW, extra_value=1)
    assert isinstance(ctx["contact"], Record) and not isinstance(ctx["contact"], Contact)
    assert ctx["contact"]["email"] == "jane.smith@example.com"
    assert ctx["since"] == NOW - datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
    assert ctx["first_name"] == "Jane"
    assert dict(ctx["me"]) == {"name": "Pat Doe", "address": "pat@example.org"}
    assert ctx["extra_value"] == 1


# --- the user's folder ------------------------------------------------------------------------


def test_user_template_wins_and_missing_ones_come_from_builtin(tmp_path: Path) -> None:
    r = user_renderer(
        tmp_path,
        reconnect='{% set subject = "Hello " ~ first_name %}\nYo {{ first_name }}!\n\n'
        '{% include "signature.j2" %}\n',
    )
    out = r.render("reconnect", **r.reconnect_context(JANE, NOW))
    assert out == Rendered("Hello Jane", "Yo Jane!\n\n" + SIGNATURE)


def test_builtin_template_uses_the_users_signature(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, signature="Cheers,\n{{ me.name | first_name }}\n-- \nPat's Bikes\n")
    out = r.render("reconnect", **r.reconnect_context(JANE, NOW))
    assert out.body.endswith("Cheers,\nPat\n-- \nPat's Bikes\n")  # "-- " keeps its space


def test_subject_and_body_are_tidied(tmp_path: Path) -> None:
    r = user_renderer(
        tmp_path,
        t="{% set subject %}\n  Two\n  lines\t{% endset %}\r\n\r\nBody\r\nmore\r\n\r\n  \n\n",
    )
    assert r.render("t") == Rendered("Two lines", "Body\nmore\n")


def test_none_prints_as_nothing(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, t='{% set subject = "s" %}[{{ contact.tier }}]\n')
    bare = Contact(email="x@example.com")
    assert r.render("t", **r.reconnect_context(bare, NOW)).body == "[]\n"


# --- errors: one line, naming template and line -----------------------------------------------


def error_of(r: Renderer, name: str, **context: object) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        r.render(name, **context)
    err = info.value
    assert "\n" not in str(err)
    assert isinstance(err, UsageError) and err.exit_code == 2
    return err


CASES = [
    ("undefined", '{% set subject = "s" %}\nHi\n{{ foo }}\n', 3, "'foo' is undefined"),
    (
        "attribute",
        '{% set subject = "s" %}\n\nHi {{ contact.nme }}\n',
        3,
        "'contact' has no attribute 'nme'",
    ),
    ("syntax", '{% set subject = "s" %}\n\n\n\n{% if %}\n', 5, "syntax error: "),
    ("unclosed", '{% set subject = "s" %}\n{% if x %}\nA\n', 3, "syntax error: "),
    ("filter", '{% set subject = "s" %}\n{{ "soon" | ago }}\n', 2, "ago expects"),
    ("call", '{% set subject = "s" %}\n\n{{ 1 / 0 }}\n', 3, "ZeroDivisionError"),
    ("no_subject", "Hello there\n", 1, "no subject"),
    ("empty_subject", '\n{% set subject = "  " %}Hi\n', 2, "the subject is empty"),
    ("bad_subject", "\n\n{% set subject = contact.nme %}Hi\n", 3, "'contact' has no attribute"),
    (
        "include",
        '{% set subject = "s" %}\n\n\n{% include "nope.j2" %}\n',
        4,
        "no template 'nope.j2'",
    ),
]


@pytest.mark.parametrize(("name", "source", "line", "cause"), CASES, ids=[c[0] for c in CASES])
def test_errors_name_template_and_line(
    tmp_path: Path, name: str, source: str, line: int, cause: str
) -> None:
    r = user_renderer(tmp_path, **{name: source})
    err = error_of(r, name, **r.reconnect_context(JANE, NOW))
    assert str(err).startswith(f"template {name}.j2 line {line}: ")
    assert cause in str(err)
    assert (err.template, err.line) == (f"{name}.j2", line)


def test_error_inside_an_included_template_names_that_template(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, signature="Best,\n{{ me.nmae }}\n")
    err = error_of(r, "reconnect", **r.reconnect_context(JANE, NOW))
    assert str(err) == "template signature.j2 line 2: 'me' has no attribute 'nmae'"


def test_syntax_error_in_an_included_template_names_that_template(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, signature="Best,\n{% if %}\n")
    err = error_of(r, "reconnect", **r.reconnect_context(JANE, NOW))
    assert str(err).startswith("template signature.j2 line 2: syntax error: ")


def test_exact_message_for_a_sandbox_probe(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, p='{% set subject = "s" %}\n{{ contact.__class__.__mro__ }}\n')
    err = error_of(r, "p", **r.reconnect_context(JANE, NOW))
    assert str(err) == (
        "template p.j2 line 2: access to attribute '__class__' of 'Record' object is unsafe"
        " (templates can use only the values they are given)"
    )


def test_exact_message_for_an_unknown_attribute(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, reconnect='{% set subject = "s" %}\n\nHi {{ contact.nme }}\n')
    err = error_of(r, "reconnect.j2", **r.reconnect_context(JANE, NOW))
    assert str(err) == "template reconnect.j2 line 3: 'contact' has no attribute 'nme'"


def test_missing_template(tmp_path: Path, renderer: Renderer) -> None:
    r = user_renderer(tmp_path)
    err = error_of(r, "nope")
    assert str(err) == f"no template 'nope.j2' in {tmp_path} or the built-in templates"
    assert (
        str(error_of(renderer, "nope.j2")) == "no template 'nope.j2' among the built-in templates"
    )
    assert "no template" in str(error_of(r, "../../etc/passwd"))


def test_missing_templates_folder(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist"):
        Renderer(tmp_path / "missing", "Pat", "pat@example.org")


PROBES = [
    "{{ contact.__class__.__mro__ }}",
    "{{ ''.__class__.__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ contact._data }}",
    "{{ contact.get.__self__ }}",
    "{{ now.__class__ }}",
    "{% if ''.__class__ %}leak{% endif %}",
    "{{ me._label }}",
]


@pytest.mark.parametrize("probe", PROBES)
def test_sandbox_blocks_python_internals(tmp_path: Path, probe: str) -> None:
    r = user_renderer(tmp_path, probe='{% set subject = "s" %}\nHi\n' + probe + "\n")
    err = error_of(r, "probe", **r.reconnect_context(JANE, NOW))
    assert str(err).startswith("template probe.j2 line 3: ")
    assert "unsafe" in str(err) or "undefined" in str(err) or "no attribute" in str(err)


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jane Smith", "Jane"),
        ("  Smith, Jane ", "Jane"),
        ("Dr. Jane Smith", "Jane"),
        ('"Zoë Müller"', "Zoë"),
        ("王小明", "王小明"),
        ("jane@example.com", "there"),
        ("", "there"),
        (None, "there"),
        ({"name": "José Álvarez"}, "José"),
    ],
)
def test_first_name(value: object, expected: str) -> None:
    assert first_name(value) == expected


def test_first_name_fallback() -> None:
    assert first_name(None, "friend") == "friend"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "a while"),
        (timedelta(hours=3), "less than a day"),
        (timedelta(days=-2), "less than a day"),
        (1, "a day"),
        (3, "3 days"),
        (8, "about a week"),
        (20, "about 3 weeks"),
        (timedelta(days=121), "about 4 months"),
        (75, "about 2 months"),
        (330, "about 11 months"),
        (400, "about a year"),
        (550, "about a year and a half"),
        (365 * 3 + 20, "about 3 years"),
    ],
)
def test_ago(value: object, expected: str) -> None:
    assert ago(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T08:30:00Z", "2 March 2026"),
        ("2026-12-31", "31 December 2026"),
        (datetime(2026, 3, 2, tzinfo=UTC), "2 March 2026"),
        (date(2025, 1, 9), "9 January 2025"),
    ],
)
def test_date(value: object, expected: str) -> None:
    assert format_date(value) == expected


@pytest.mark.parametrize("bad", [None, "", "yesterday", 5, True])
def test_date_refuses_what_is_not_a_date(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        format_date(bad)


@pytest.mark.parametrize("bad", ["soon", True, [3]])
def test_ago_refuses_what_is_not_a_duration(bad: object) -> None:
    with pytest.raises(TypeError):
        ago(bad)


def test_filters_in_a_template(tmp_path: Path) -> None:
    r = user_renderer(
        tmp_path,
        t="{% set subject = contact | first_name %}"
        "{{ contact.last_inbound | date }}, {{ 45 | ago }}, {{ none | first_name('you') }}\n",
    )
    out = r.render("t", **r.reconnect_context(JANE, NOW))
    assert out == Rendered("Jane", "28 October 2025, about 6 weeks, you\n")


@pytest.mark.parametrize(
    ("subject", "topic_"),
    [
        ("Re: Q3 plans", "Q3 plans"),
        ("RE: Fwd: AW: Lunch", "Lunch"),
        ("Re[2]: x", "x"),
        ("Rebooting the team", "Rebooting the team"),
        ("Re: ", None),
        (None, None),
    ],
)
def test_last_subject_reads_as_a_topic(subject: str | None, topic_: str | None) -> None:
    from mailer.render import topic

    assert topic(subject) == topic_
