"""Small validation helpers that build error messages naming owner, parameter, rule and value."""

from __future__ import annotations

import math
import numbers

from crossbar.errors import ConfigError


def check_int(owner: str, name: str, value, lo: int | None, hi: int | None, *, hint: str = "") -> None:
    """Raise ConfigError unless ``value`` is an int (not bool) in ``[lo, hi]``."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok:
        ok = (lo is None or value >= lo) and (hi is None or value <= hi)
    if not ok:
        lo_s = "-inf" if lo is None else str(lo)
        hi_s = "inf" if hi is None else str(hi)
        raise ConfigError(
            f"{owner}.{name} must be an integer in [{lo_s}, {hi_s}]; got {value!r}."
            + (f" {hint}" if hint else "")
        )


def check_float(
    owner: str,
    name: str,
    value,
    lo: float | None,
    hi: float | None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    hint: str = "",
) -> None:
    """Raise ConfigError unless ``value`` is a finite real number in the given interval."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = math.isfinite(v)
        if ok and lo is not None:
            ok = v > lo if lo_open else v >= lo
        if ok and hi is not None:
            ok = v < hi if hi_open else v <= hi
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        lo_s = "-inf" if lo is None else repr(lo)
        hi_s = "inf" if hi is None else repr(hi)
        raise ConfigError(
            f"{owner}.{name} must be a finite number in {left}{lo_s}, {hi_s}{right}; "
            f"got {value!r}." + (f" {hint}" if hint else "")
        )


def check_choice(owner: str, name: str, value, choices: tuple) -> None:
    """Raise ConfigError unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{owner}.{name} must be one of {list(choices)}; got {value!r}.")


def check_bool(owner: str, name: str, value) -> None:
    """Raise ConfigError unless ``value`` is a bool."""
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}.{name} must be True or False; got {value!r}.")
