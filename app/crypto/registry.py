"""Which mapped classes have sealed columns: filled as the models are defined, read by the sealing hooks and by
the keyring's read-ahead (which loads the keys of every person whose sealed rows a session holds)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_REGISTRY: dict[type, list[Any]] = {}


def register(owner: type, field: Any) -> None:
    _REGISTRY.setdefault(owner, []).append(field)
    sealed_classes.cache_clear()


def fields_of(cls: type) -> list[Any]:
    """The sealed fields a class declares, its bases' included."""
    return [f for klass in cls.__mro__ for f in _REGISTRY.get(klass, [])]


@lru_cache
def sealed_classes() -> frozenset[type]:
    return frozenset(_REGISTRY)
