"""Typed settings objects built from dicts, with errors that name the bad key."""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Type, TypeVar

from evonas.errors import ConfigError

T = TypeVar("T")


def config_from_dict(cls: Type[T], values: Mapping[str, Any]) -> T:
    """Build dataclass ``cls`` from ``values``; an unknown key is a ConfigError naming it."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        import difflib

        hints = [f"{key!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(key, names, 1))
                 else repr(key) for key in unknown]
        raise ConfigError(f"unknown setting(s) for {cls.__name__}: {', '.join(hints)}")
    return cls(**values)


def check_setting(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless ``condition``."""
    if not condition:
        raise ConfigError(message)


__all__ = ["T", "check_setting", "config_from_dict"]
