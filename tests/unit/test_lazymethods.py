"""mailer.lazymethods: dataclass methods compiled on first call behave as the decorator's own."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from mailer import lazymethods

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 13), reason="Python 3.13 has no _create_fn: nothing is patched"
)
KINDS = ("frozen, slots", "frozen", "mutable, eq=False")


def _classes() -> dict[str, type]:
    """Three record classes, made anew by whichever `_create_fn` is in place."""

    @dataclass(frozen=True, slots=True)
    class Slotted:
        a: int
        b: tuple[str, ...] = ()
        c: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @dataclass(frozen=True)
    class Plain:
        a: int
        b: tuple[str, ...] = ()
        c: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @dataclass(eq=False)
    class Mutable:
        a: int
        b: tuple[str, ...] = ()
        c: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    return dict(zip(KINDS, (Slotted, Plain, Mutable), strict=True))


@pytest.fixture
def compiled_at_once() -> Iterator[None]:
    """The decorator's own `_create_fn` while the test makes its classes."""
    lazy = dataclasses._create_fn  # type: ignore[attr-defined]
    dataclasses._create_fn = lazy.original  # type: ignore[attr-defined]
    yield
    dataclasses._create_fn = lazy  # type: ignore[attr-defined]


def _compiled(cls: type, name: str) -> bool:
    """Whether `cls`'s own `name` is the generated method, not the stand-in."""
    return bool(cls.__dict__[name].__code__.co_filename != lazymethods.__file__)


def test_installed_once_when_mailer_is_imported() -> None:
    assert hasattr(dataclasses._create_fn, "original")  # type: ignore[attr-defined]
    assert lazymethods.install() is False


@pytest.mark.parametrize("kind", KINDS)
def test_compiled_on_first_call_then_called_directly(kind: str) -> None:
    cls = _classes()[kind]
    assert not _compiled(cls, "__init__")
    one = cls(1, ("x",))
    assert _compiled(cls, "__init__")
    if "__eq__" in cls.__dict__:
        assert not _compiled(cls, "__eq__")
        assert one == cls(1, ("x",), {"not compared": 1}) and one != cls(2)
        assert _compiled(cls, "__eq__")


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_behaviour_as_methods_compiled_at_once(
    kind: str, request: pytest.FixtureRequest
) -> None:
    lazy = _classes()[kind]
    request.getfixturevalue("compiled_at_once")
    twin = _classes()[kind]
    assert _compiled(twin, "__init__") and not _compiled(lazy, "__init__")
    params = lazy.__dataclass_params__  # type: ignore[attr-defined]
    for make in (lazy, twin):
        one = make(1, ("x",))
        assert repr(one).endswith(".<locals>." + make.__name__ + "(a=1, b=('x',))")
        assert one.c == {} and make(2).c is not one.c
        assert dataclasses.replace(one, a=3) == make(3, ("x",)) or not params.eq
        assert (one == make(1, ("x",))) is params.eq
        if params.frozen:
            assert hash(one) == hash(make(1, ("x",)))
            with pytest.raises(dataclasses.FrozenInstanceError):
                one.a = 2
            with pytest.raises(dataclasses.FrozenInstanceError):
                del one.a
        else:
            one.a = 2
            assert one.a == 2


def test_a_subclass_inherits_the_method_compiled_in_its_base() -> None:
    @dataclass(frozen=True)
    class Base:
        a: int

    class Child(Base):
        pass

    assert Child(1).a == 1 and _compiled(Base, "__init__") and "__init__" not in Child.__dict__
    assert Base(1) == Base(1) and Child(1) != Base(1)
