"""Draft text from Jinja2 templates: the user's folder first, then the built-in ones.

Templates are code the user edits, and the values put into them come from
other people's mail. So the environment is sandboxed (no reaching Python
internals), undefined names are errors (a typo fails at preview, not in a
mail), contexts hold plain mappings rather than our dataclasses (no methods to
call), and every failure becomes one `TemplateError` line naming the template
file and line, which the CLI prints with exit code 2.

A template sets its subject with `{% set subject = ... %}` at top level; the
rest of its output is the body. The built-in templates live in the top-level
`templates/` folder, installed as the package `mailer.templates`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    Undefined,
    nodes,
)
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

from mailer.core.compose import one_line
from mailer.errors import UsageError
from mailer.model import Contact, parse_iso

__all__ = ["Record", "Rendered", "Renderer", "TemplateError", "ago", "first_name", "format_date"]

BUILTIN_PACKAGE = "mailer.templates"
SUFFIX = ".j2"


class TemplateError(UsageError):
    """A template is missing, malformed or failed; the message names file and line."""

    def __init__(
        self,
        message: str,
        *,
        template: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.template = template
        self.line = line


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


class Record(Mapping[str, Any]):
    """A read-only mapping that knows its variable name, for error messages.

    Templates see `contact.name` as a key lookup; `_label` and `_data` start
    with an underscore, which the sandbox never lets a template reach.
    """

    __slots__ = ("_data", "_label")

    def __init__(self, label: str, data: Mapping[str, Any]) -> None:
        self._label = label
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Record({self._label!r}, {self._data!r})"


class _Undefined(StrictUndefined):
    """StrictUndefined that says `'contact' has no attribute 'nme'`, not `'dict object' ...`."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if self._undefined_hint is None and isinstance(obj, Record) and isinstance(name, str):
            return f"{obj._label!r} has no attribute {name!r}"
        return str(super()._undefined_message)


class BuiltinLoader(BaseLoader):
    """The templates shipped inside the package, read with importlib.resources."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        resource = files(BUILTIN_PACKAGE).joinpath(*split_template_path(template))
        if not resource.is_file():
            raise TemplateNotFound(template)
        return resource.read_text(encoding="utf-8"), str(resource), lambda: True

    def list_templates(self) -> list[str]:
        return sorted(p.name for p in files(BUILTIN_PACKAGE).iterdir() if p.name.endswith(SUFFIX))


class Renderer:
    """Renders named templates into a subject and a body."""

    def __init__(self, templates_dir: Path | None, owner_name: str, owner_address: str) -> None:
        if templates_dir is not None and not templates_dir.is_dir():
            raise TemplateError(
                f"templates folder {templates_dir} does not exist",
                hint="create it or fix drafts.templates_dir in the config",
            )
        self.templates_dir = templates_dir
        loaders: list[BaseLoader] = [BuiltinLoader()]
        if templates_dir is not None:
            loaders.insert(0, FileSystemLoader(templates_dir))
        self.me = Record("me", {"name": owner_name, "address": owner_address})
        self.env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=_Undefined,
            autoescape=False,  # plain-text mail: nothing to escape
            keep_trailing_newline=True,
            trim_blocks=True,  # a line holding only a {% tag %} leaves no blank line
            lstrip_blocks=True,
            finalize=_finalize,
        )
        self.env.filters.update(first_name=first_name, ago=ago, date=format_date)
        self.env.globals["me"] = self.me  # for signature.j2, whatever the context

    def render(self, name: str, **context: Any) -> Rendered:
        """Render template `name` (`reconnect` or `reconnect.j2`). Raises TemplateError."""
        if not name.endswith(SUFFIX):
            name += SUFFIX
        try:
            template = self.env.get_template(name)
        except TemplateNotFound:
            raise TemplateError(self._not_found(name), template=name) from None
        except TemplateSyntaxError as e:
            raise _syntax_error(e, name) from None
        try:
            module = template.make_module(context)
            subject = getattr(module, "subject", None)
            if isinstance(subject, Undefined):
                self._fail_subject(template, subject)
            body = str(module)
        except TemplateError:
            raise
        except TemplateSyntaxError as e:  # in an included template, loaded while rendering
            raise _syntax_error(e, name) from None
        except Exception as e:
            raise self._runtime_error(name, e) from None
        if subject is None:
            raise TemplateError(
                f'template {name} line 1: no subject; start it with {{% set subject = "..." %}}',
                template=name,
                line=1,
            )
        subject_line = one_line(str(subject))
        if not subject_line:
            line = _subject_line(template)
            raise TemplateError(
                f"template {name} line {line}: the subject is empty", template=name, line=line
            )
        return Rendered(subject_line, _tidy_body(body))

    def reconnect_context(self, contact: Contact, now: datetime, **extra: Any) -> dict[str, Any]:
        """What reconnect.j2 (and the user's version of it) can use."""
        last = parse_iso(contact.last_contact)
        return {
            "contact": Record("contact", contact.to_json()),
            "first_name": first_name(contact.name),
            "since": now - last if last else None,
            "last_subject": topic(contact.last_subject),
            # their message was the last one (an answer never given, or given outside mail)
            "they_wrote_last": (contact.last_inbound or "")
            > max(contact.last_outbound or "", contact.last_logged or ""),
            "tags": list(contact.tags),
            "notes": contact.notes,
            "me": self.me,
            "now": now,
            **extra,
        }

    def _not_found(self, missing: object) -> str:
        where = f"in {self.templates_dir} or the built-in templates"
        if self.templates_dir is None:
            where = "among the built-in templates"
        return f"no template {missing!r} {where}"

    def _fail_subject(self, template: Template, subject: Undefined) -> None:
        line = _subject_line(template)
        try:
            subject._fail_with_undefined_error()
        except Exception as e:
            raise TemplateError(
                f"template {template.name} line {line}: {_flat(str(e))}",
                template=template.name,
                line=line,
            ) from None

    def _runtime_error(self, name: str, e: Exception) -> TemplateError:
        where_name, line = _template_frame(e.__traceback__)
        where_name = where_name or name
        if isinstance(e, TemplateNotFound):
            cause = self._not_found(e.name)
        elif isinstance(e, JinjaError):
            cause = str(e)
        else:
            cause = f"{type(e).__name__}: {e}"
        where = f"template {where_name}" + (f" line {line}" if line else "")
        hint = (
            "templates can use only the values they are given"
            if isinstance(e, SecurityError)
            else None
        )
        cause = _flat(cause).rstrip(".")
        return TemplateError(f"{where}: {cause}", template=where_name, line=line, hint=hint)


def _template_frame(tb: TracebackType | None) -> tuple[str | None, int | None]:
    """The innermost template frame of a traceback: (template name, template line).

    `make_module` runs the compiled template without Jinja2's traceback
    rewriting, so the frames are the compiled code; its globals carry the
    Template, which maps a Python line back to a template line.
    """
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if isinstance(template, Template):
            found = (template.name, template.get_corresponding_lineno(tb.tb_lineno))
        tb = tb.tb_next
    return found


def _subject_line(template: Template) -> int:
    """The line of the top-level `set subject`, or 1 when there is none."""
    env, loader = template.environment, template.environment.loader
    if template.name is None or loader is None:
        return 1
    try:
        source = loader.get_source(env, template.name)[0]
        tree = env.parse(source)
    except JinjaError:
        return 1
    for node in tree.body:
        if isinstance(node, nodes.Assign | nodes.AssignBlock):
            target = node.target
            if isinstance(target, nodes.Name) and target.name == "subject":
                return node.lineno
    return 1


def _syntax_error(e: TemplateSyntaxError, name: str) -> TemplateError:
    where = e.name or name
    return TemplateError(
        f"template {where} line {e.lineno}: syntax error: {_flat(e.message or '')}",
        template=where,
        line=e.lineno,
    )


def _finalize(value: Any) -> Any:
    return "" if value is None else value  # never "Hi None," in a draft


def _flat(text: str) -> str:
    return " ".join(text.split())


def _tidy_body(body: str) -> str:
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines) + "\n"


# --- filters ---------------------------------------------------------------------------------

_TITLES = frozenset({"dr", "prof", "mr", "mrs", "ms", "mx", "sir", "dame", "herr", "frau"})


_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|tr|rif|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE
)


def topic(subject: str | None) -> str | None:
    """A subject as a topic: "Re: Fwd: Q3 plans" -> "Q3 plans" (None when nothing is left)."""
    if not subject:
        return None
    return _REPLY_PREFIX.sub("", subject).strip() or None


def first_name(value: Any, fallback: str = "there") -> str:
    """`Jane Smith` -> `Jane`; `Smith, Jane` -> `Jane`; no usable name -> `fallback`.

    Also takes a contact mapping (its `name`). A "name" that is an address
    (`jane@example.com`) is no name.
    """
    if isinstance(value, Mapping):
        value = value.get("name")
    if not isinstance(value, str):
        return fallback
    name = value.strip().strip("'\"")
    if "," in name:  # "Smith, Jane"
        name = name.split(",", 1)[1]
    words = [w for w in name.split() if w.lower().rstrip(".") not in _TITLES]
    if not words or "@" in words[0]:
        return fallback
    return words[0]


def ago(value: Any) -> str:
    """A timedelta, or a number of days, as people say it: `about 4 months`.

    None is `a while`, so a contact with no known last exchange still reads well.
    """
    if value is None:
        return "a while"
    if isinstance(value, timedelta):
        days = value.total_seconds() / 86400
    elif isinstance(value, int | float) and not isinstance(value, bool):
        days = float(value)
    else:
        raise TypeError(f"ago expects a timedelta or a number of days, got {value!r}")
    if days < 1:
        return "less than a day"
    if days < 7:
        n = int(days)
        return "a day" if n == 1 else f"{n} days"
    if days < 60:
        n = round(days / 7)
        return "about a week" if n == 1 else f"about {n} weeks"
    if days < 350:
        return f"about {max(2, round(days / 30.44))} months"
    if days < 365 * 1.25:
        return "about a year"
    if days < 365 * 1.75:
        return "about a year and a half"
    return f"about {max(2, round(days / 365.25))} years"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_date(value: Any) -> str:
    """An ISO string, datetime or date as `2 March 2026` (English, whatever the locale)."""
    if isinstance(value, str):
        try:
            value = parse_iso(value)
        except ValueError:
            raise ValueError(f"date expects an ISO date, got {value!r}") from None
    if not isinstance(value, datetime | Date):
        raise TypeError(f"date expects an ISO string, datetime or date, got {value!r}")
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
