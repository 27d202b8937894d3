"""The methods `dataclass` writes, compiled when first called instead of at import.

Python 3.11 and 3.12 compile each method the decorator generates (`__init__`,
`__repr__`, `__eq__`, `__hash__`, a frozen class's `__setattr__` and
`__delattr__`) from source text, one `exec` at a time, as each class is
defined. mailer defines about 100 record classes; making the 34 that every
command needs was 200 compilations, 181 M of the 497 M instructions of
`mailer --version`. Most of those methods are never called in a command's
life (a listing calls some `__init__`s and no `__repr__` at all), so each is
compiled on its first call and then put in its class's place: the same
function as before, from then on called directly.

Installed by `mailer/__init__.py`, before any of mailer's classes is made.
Python 3.13 makes all of a class's methods in one compilation and has no
`_create_fn`; there, and wherever that private function is not the one this
was written for, nothing is changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

_EXPECTED = ("name", "args", "body", "globals", "locals", "return_type")


def install() -> bool:
    """Make `dataclasses` compile generated methods lazily; False where it cannot."""
    real = getattr(dataclasses, "_create_fn", None)
    code = getattr(real, "__code__", None)
    if real is None or code is None or hasattr(real, "original"):
        return False
    if code.co_varnames[: len(_EXPECTED)] != _EXPECTED:
        return False
    dataclasses._create_fn = _lazy(real)  # type: ignore[attr-defined]
    return True


def _lazy(real: Callable[..., Any]) -> Callable[..., Any]:
    def create_fn(
        name: str,
        args: list[str],
        body: list[str],
        *,
        globals: dict[str, Any] | None = None,  # the decorator's own names
        locals: dict[str, Any] | None = None,
        return_type: Any = dataclasses.MISSING,
    ) -> Callable[..., Any]:
        made: Callable[..., Any] | None = None

        def method(*a: Any, **k: Any) -> Any:
            nonlocal made
            if made is None:
                made = real(
                    name, args, body, globals=globals, locals=locals, return_type=return_type
                )
                # Put it in the class that holds this stand-in (a[0] is the instance), so
                # later calls cost what they did. Wrapped (a __repr__), it stays behind.
                if a:
                    for klass in type(a[0]).__mro__:
                        if klass.__dict__.get(name) is method:
                            type.__setattr__(klass, name, made)
                            break
            return made(*a, **k)

        method.__name__ = name
        method.__qualname__ = name
        return method

    create_fn.original = real  # type: ignore[attr-defined]
    return create_fn
