"""Typed design variables and their exact encoding to the unit cube ``[0, 1]``.

* discrete variables (:class:`IntegerRange`, :class:`Choice`) split ``[0, 1]`` into ``n_levels``
  equal bins; level ``i`` encodes to the bin centre ``(i + 0.5) / n_levels`` and a point decodes
  to the level of the bin it falls in (round to nearest), so ``decode(encode(v)) == v`` exactly
  and uniform points of the cube hit every level with equal probability;
* :class:`FloatRange` maps ``[low, high]`` linearly and :class:`LogFloatRange` maps
  ``[log low, log high]`` linearly (log-uniform).

:mod:`search.space` combines them into a :class:`~search.space.DesignSpace`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError

__all__ = ["Choice", "FloatRange", "IntegerRange", "LogFloatRange", "Variable", "variable_from_dict"]


_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(CrossbarConfig)) - {"noise"}
# Points of the cube may overshoot [0, 1] by rounding in an optimizer; beyond this they are an error.
_CUBE_TOL = 1e-9


def _check_name(owner: str, name: Any) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError(
            f"{owner}.name must be a non-empty Python identifier (it becomes a keyword of "
            f"CrossbarConfig.replace); got {name!r}."
        )


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_bounds(owner: str, name: str, low: Any, high: Any, *, integer: bool, positive: bool) -> None:
    kind = "an integer" if integer else "a finite number"
    for label, v in (("low", low), ("high", high)):
        ok = isinstance(v, numbers.Integral) and not isinstance(v, bool) if integer else _is_real(v)
        if ok and not integer:
            ok = math.isfinite(float(v))
        if not ok:
            raise ConfigError(f"{owner}({name!r}).{label} must be {kind}; got {v!r}.")
    if positive and not low > 0:
        raise ConfigError(
            f"{owner}({name!r}).low must be > 0 (the range is log-uniform); got {low!r}. "
            f"Use FloatRange for ranges that include zero."
        )
    if not low < high:
        raise ConfigError(
            f"{owner}({name!r}) needs low < high; got low={low!r}, high={high!r}. "
            f"Fix a variable at one value through DesignSpace.base instead."
        )


def _as_unit(u: Any) -> np.ndarray:
    return np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)


def _bin_index(u: np.ndarray, n_levels: int) -> np.ndarray:
    """Level index of each point: bin ``floor(u * n)``, with ``u = 1`` in the last bin."""
    return np.minimum(np.floor(_as_unit(u) * n_levels).astype(np.int64), n_levels - 1)


def _bin_centre(index: np.ndarray, n_levels: int) -> np.ndarray:
    return (np.asarray(index, dtype=np.float64) + 0.5) / n_levels


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegerRange:
    """Integers ``low, low + 1, ..., high`` (both ends included), equal bins of the unit interval.

    Example:
        >>> v = IntegerRange("adc_bits", low=3, high=10)
        >>> v.n_levels, v.encode([3, 10]).tolist(), v.decode([0.0, 0.5, 1.0]).tolist()
        (8, [0.0625, 0.9375], [3, 7, 10])
    """

    name: str = field(kw_only=False)
    """Variable name; a ``CrossbarConfig`` field or a custom name handled by ``config_fn``."""
    low: int
    """Smallest value (included)."""
    high: int
    """Largest value (included); must exceed ``low``."""

    def __post_init__(self) -> None:
        _check_name("IntegerRange", self.name)
        _check_bounds("IntegerRange", self.name, self.low, self.high, integer=True, positive=False)
        object.__setattr__(self, "low", int(self.low))
        object.__setattr__(self, "high", int(self.high))

    @property
    def n_levels(self) -> int:
        """Number of distinct values."""
        return self.high - self.low + 1

    @property
    def is_discrete(self) -> bool:
        """Always ``True``."""
        return True

    def encode(self, values: Any) -> np.ndarray:
        """Map integers to their bin centres.

        Args:
            values: Integers in ``[low, high]``, any shape (integral floats are accepted).

        Returns:
            Points of ``[0, 1]``, same shape, float64.

        Raises:
            ConfigError: A value is not an integer in ``[low, high]``.
        """
        arr = _numeric_values(self, values)
        bad = ~((arr == np.round(arr)) & (arr >= self.low) & (arr <= self.high))
        if np.any(bad):
            raise ConfigError(
                f"IntegerRange({self.name!r}) accepts integers in [{self.low}, {self.high}]; "
                f"got {_first_bad(values, bad)!r}."
            )
        return _bin_centre(arr - self.low, self.n_levels)

    def decode(self, u: Any) -> np.ndarray:
        """Map points of ``[0, 1]`` to the integer of their bin.

        Args:
            u: Points, any shape (clipped to ``[0, 1]``).

        Returns:
            int64 values in ``[low, high]``, same shape.
        """
        return self.low + _bin_index(u, self.n_levels)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible description; :func:`variable_from_dict` inverts it."""
        return {"type": "IntegerRange", "name": self.name, "low": self.low, "high": self.high}


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """One of an ordered tuple of numbers or strings; level ``i`` owns bin ``i`` of the unit interval.

    The order is the order given (put numeric levels in increasing order so that neighbouring bins
    hold similar designs, which helps surrogate models).

    Example:
        >>> v = Choice("cell_bits", values=(1, 2, 4, 8))
        >>> v.encode([1, 8]).tolist(), v.decode([0.3, 0.99]).tolist()
        ([0.125, 0.875], [2, 8])
        >>> Choice("encoding", values=("differential", "offset")).decode(0.9).item()
        'offset'
    """

    name: str = field(kw_only=False)
    """Variable name; a ``CrossbarConfig`` field or a custom name handled by ``config_fn``."""
    values: tuple[Any, ...]
    """Distinct levels, all numbers (bools excluded) or all strings."""

    def __post_init__(self) -> None:
        _check_name("Choice", self.name)
        vals = self.values
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence | np.ndarray):
            raise ConfigError(f"Choice({self.name!r}).values must be a sequence of levels; got {vals!r}.")
        vals = tuple(v.item() if isinstance(v, np.generic) else v for v in vals)
        if not vals:
            raise ConfigError(
                f"Choice({self.name!r}).values must hold at least one level; got an empty sequence."
            )
        all_str = all(isinstance(v, str) for v in vals)
        all_num = all(_is_real(v) and math.isfinite(float(v)) for v in vals)
        if not (all_str or all_num):
            raise ConfigError(
                f"Choice({self.name!r}).values must be all finite numbers (no bools) or all strings; "
                f"got {vals!r}."
            )
        if len(set(vals)) != len(vals):
            raise ConfigError(f"Choice({self.name!r}).values must be distinct; got {vals!r}.")
        object.__setattr__(self, "values", vals)

    @property
    def n_levels(self) -> int:
        """Number of levels."""
        return len(self.values)

    @property
    def is_discrete(self) -> bool:
        """Always ``True``."""
        return True

    def encode(self, values: Any) -> np.ndarray:
        """Map levels to their bin centres.

        Args:
            values: Levels of ``values``, any shape.

        Returns:
            Points of ``[0, 1]``, same shape, float64.

        Raises:
            ConfigError: A value is not one of the levels.
        """
        arr = np.asarray(values, dtype=object)
        lookup = {v: i for i, v in enumerate(self.values)}
        flat = arr.ravel()
        index = np.empty(flat.shape, dtype=np.int64)
        for k, v in enumerate(flat):
            key = v.item() if isinstance(v, np.generic) else v
            i = lookup.get(key) if not isinstance(key, bool) else None
            if i is None:
                raise ConfigError(
                    f"Choice({self.name!r}) must be one of {list(self.values)}; got {key!r}."
                )
            index[k] = i
        return _bin_centre(index.reshape(arr.shape), self.n_levels)

    def decode(self, u: Any) -> np.ndarray:
        """Map points of ``[0, 1]`` to the level of their bin.

        Args:
            u: Points, any shape (clipped to ``[0, 1]``).

        Returns:
            Levels, same shape (a numeric array, or an object array for strings).
        """
        # Object arrays keep each level's own type (1 and 2.5 in one Choice) and every string
        # intact (NumPy's fixed-width strings drop trailing NUL characters).
        as_object = len({type(v) for v in self.values}) > 1 or isinstance(self.values[0], str)
        levels = np.array(self.values, dtype=object) if as_object else np.asarray(self.values)
        return np.asarray(levels[_bin_index(u, self.n_levels)], dtype=levels.dtype)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible description; :func:`variable_from_dict` inverts it."""
        return {"type": "Choice", "name": self.name, "values": list(self.values)}


@dataclass(frozen=True, slots=True, kw_only=True)
class _ContinuousRange:
    """Shared part of :class:`FloatRange` and :class:`LogFloatRange`: bounds, checks, no levels.

    Subclasses map values to the unit interval with ``_to_unit`` and back with ``_from_unit``.
    """

    name: str = field(kw_only=False)
    """Variable name; a ``CrossbarConfig`` field or a custom name handled by ``config_fn``."""
    low: float
    """Lower bound (included), in the unit of the field it sets (> 0 for ``LogFloatRange``)."""
    high: float
    """Upper bound (included); must exceed ``low``."""

    _positive: ClassVar[bool] = False

    def __post_init__(self) -> None:
        kind = type(self).__name__
        _check_name(kind, self.name)
        _check_bounds(kind, self.name, self.low, self.high, integer=False, positive=self._positive)
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))

    @property
    def n_levels(self) -> None:
        """``None``: a continuous variable has no levels."""
        return None

    @property
    def is_discrete(self) -> bool:
        """Always ``False``."""
        return False

    def encode(self, values: Any) -> np.ndarray:
        """Map ``[low, high]`` onto ``[0, 1]`` (linearly, or linearly in ``log v``).

        Args:
            values: Numbers in ``[low, high]``, any shape.

        Returns:
            Points of ``[0, 1]``, same shape, float64.

        Raises:
            ConfigError: A value is outside ``[low, high]`` or not finite.
        """
        arr = _numeric_values(self, values)
        _check_inside(self, arr, values)
        return np.clip(self._to_unit(arr), 0.0, 1.0)

    def decode(self, u: Any) -> np.ndarray:
        """Map ``[0, 1]`` onto ``[low, high]``; the end points map exactly.

        Args:
            u: Points, any shape (clipped to ``[0, 1]``).

        Returns:
            float64 values in ``[low, high]``, same shape.
        """
        return self._from_unit(_as_unit(u))

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible description; :func:`variable_from_dict` inverts it."""
        return {"type": type(self).__name__, "name": self.name, "low": self.low, "high": self.high}

    def _to_unit(self, arr: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _from_unit(self, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class FloatRange(_ContinuousRange):
    """Real numbers in ``[low, high]``, mapped linearly to the unit interval.

    Example:
        >>> v = FloatRange("temperature", low=300.0, high=400.0)
        >>> v.encode(350.0).item(), v.decode([0.0, 1.0]).tolist()
        (0.5, [300.0, 400.0])
    """

    def _to_unit(self, arr: np.ndarray) -> np.ndarray:
        return (arr - self.low) / (self.high - self.low)

    def _from_unit(self, u: np.ndarray) -> np.ndarray:
        return np.clip(self.low + u * (self.high - self.low), self.low, self.high)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogFloatRange(_ContinuousRange):
    """Positive reals in ``[low, high]``, log-uniform: ``log v`` is mapped linearly to ``[0, 1]``.

    Example:
        >>> v = LogFloatRange("frequency", low=1e8, high=1e9)
        >>> v.decode([0.0, 1.0]).tolist(), round(float(v.decode(0.5)), 1)
        ([100000000.0, 1000000000.0], 316227766.0)
    """

    _positive: ClassVar[bool] = True

    def _to_unit(self, arr: np.ndarray) -> np.ndarray:
        lo, hi = math.log(self.low), math.log(self.high)
        return (np.log(arr) - lo) / (hi - lo)

    def _from_unit(self, u: np.ndarray) -> np.ndarray:
        lo, hi = math.log(self.low), math.log(self.high)
        out = np.clip(np.exp(lo + u * (hi - lo)), self.low, self.high)
        return np.where(u >= 1.0, self.high, np.where(u <= 0.0, self.low, out))


Variable = IntegerRange | Choice | FloatRange | LogFloatRange
_VARIABLE_TYPES = {cls.__name__: cls for cls in (IntegerRange, Choice, FloatRange, LogFloatRange)}


def _numeric_values(var: Variable, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{type(var).__name__}({var.name!r}) needs numbers; got {values!r}."
        ) from None
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{type(var).__name__}({var.name!r}) needs finite numbers; got {values!r}.")
    return arr


def _canonical(var: Variable, value: Any) -> Any:
    """A legal value as a plain Python object: the level itself for discrete variables."""
    if var.is_discrete:
        return var.decode(var.encode(value)).item()
    return float(value)


def _check_inside(var: FloatRange | LogFloatRange, arr: np.ndarray, values: Any) -> None:
    bad = (arr < var.low) | (arr > var.high)
    if np.any(bad):
        raise ConfigError(
            f"{type(var).__name__}({var.name!r}) accepts values in [{var.low!r}, {var.high!r}]; "
            f"got {_first_bad(values, bad)!r}."
        )


def _first_bad(values: Any, bad: np.ndarray) -> Any:
    """The first offending value as the caller wrote it (not as a NumPy float)."""
    return np.asarray(values, dtype=object).reshape(bad.shape)[bad].ravel()[0]


def variable_from_dict(data: Mapping[str, Any]) -> Variable:
    """Build a variable from its :meth:`to_dict` description (also the form used in TOML files).

    Args:
        data: ``{"type": "IntegerRange" | "Choice" | "FloatRange" | "LogFloatRange", "name": ...,
            ...}`` with the fields of that type.

    Returns:
        The variable.

    Raises:
        ConfigError: Unknown type or unknown or missing keys.

    Example:
        >>> variable_from_dict({"type": "Choice", "name": "weight_bits", "values": [4, 8]})
        Choice(name='weight_bits', values=(4, 8))
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"variable_from_dict needs a mapping; got {type(data).__name__}.")
    kind = data.get("type")
    cls = _VARIABLE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ConfigError(f"variable type must be one of {sorted(_VARIABLE_TYPES)}; got {kind!r}.")
    allowed = {f.name for f in dataclasses.fields(cls)}
    kw = {k: v for k, v in data.items() if k != "type"}
    unknown, missing = sorted(set(kw) - allowed), sorted(allowed - set(kw))
    if unknown or missing:
        raise ConfigError(
            f"{kind}: unknown keys {unknown}, missing keys {missing}; a {kind} has {sorted(allowed)}."
        )
    if cls is Choice:
        kw["values"] = tuple(kw["values"]) if isinstance(kw["values"], list) else kw["values"]
    return cls(**kw)


ConfigFn = Callable[[CrossbarConfig, Mapping[str, Any]], CrossbarConfig]
