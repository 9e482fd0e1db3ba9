"""The design-space container: :class:`DesignSpace` (variables, unit-cube encoding, configs).

:mod:`search.space` is the public face (it re-exports this class with the variables of
:mod:`search.variables` and adds :func:`~search.space.default_reram_space`); see its docstring
for the encoding.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError, InputError, ShapeError
from search.variables import (
    _CONFIG_FIELDS,
    _CUBE_TOL,
    _VARIABLE_TYPES,
    ConfigFn,
    Variable,
    _bin_centre,
    _bin_index,
    _canonical,
    variable_from_dict,
)

__all__ = ["DesignSpace"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignSpace:
    """Named design variables, their unit-cube encoding and their mapping to a ``CrossbarConfig``.

    Variable ``j`` is column ``j`` of every ``X`` array of shape ``(n, d)``.

    Example:
        >>> from search.space import Choice, FloatRange
        >>> space = DesignSpace(
        ...     (Choice("cell_bits", values=(1, 2, 4)), FloatRange("temperature", low=300.0, high=400.0)),
        ... )
        >>> X = space.encode({"cell_bits": 4, "temperature": 350.0})
        >>> X.tolist(), space.decode(X)
        ([0.8333333333333334, 0.5], {'cell_bits': 4, 'temperature': 350.0})
        >>> cfg = space.to_config({"cell_bits": 4, "temperature": 350.0})
        >>> cfg.cell_bits, cfg.temperature, cfg.rows
        (4, 350.0, 128)
    """

    variables: tuple[Variable, ...] = field(kw_only=False)
    """The variables, in column order; names must be distinct."""
    base: CrossbarConfig = field(default_factory=CrossbarConfig)
    """Configuration the designs modify; every field not named by a variable comes from here."""
    config_fn: ConfigFn | None = None
    """Applies custom variables: ``config_fn(config, design) -> CrossbarConfig``, called with the
    base config already updated by the variables that are ``CrossbarConfig`` fields and with the
    whole design. Required when a variable is not a ``CrossbarConfig`` field."""

    def __post_init__(self) -> None:
        variables = self.variables
        if isinstance(variables, Sequence) and not isinstance(variables, str):
            variables = tuple(variables)
        else:
            raise ConfigError(f"DesignSpace.variables must be a sequence of variables; got {variables!r}.")
        if not variables:
            raise ConfigError("DesignSpace.variables must hold at least one variable; got none.")
        for v in variables:
            if not isinstance(v, tuple(_VARIABLE_TYPES.values())):
                raise ConfigError(
                    f"DesignSpace.variables must be {sorted(_VARIABLE_TYPES)} instances; got {v!r}."
                )
        names = [v.name for v in variables]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"DesignSpace.variables must have distinct names; {dupes} repeat.")
        if not isinstance(self.base, CrossbarConfig):
            raise ConfigError(f"DesignSpace.base must be a CrossbarConfig; got {self.base!r}.")
        if self.config_fn is not None and not callable(self.config_fn):
            raise ConfigError(
                f"DesignSpace.config_fn must be callable (config, design) -> CrossbarConfig or None; "
                f"got {self.config_fn!r}."
            )
        custom = [n for n in names if n not in _CONFIG_FIELDS]
        if custom and self.config_fn is None:
            raise ConfigError(
                f"DesignSpace: variables {custom} are not CrossbarConfig fields and no config_fn maps "
                f"them; fields are {sorted(_CONFIG_FIELDS)}. Rename the variable or pass "
                f"config_fn=lambda config, design: config.replace(...)."
            )
        object.__setattr__(self, "variables", variables)

    # ---- structure ------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Variable names in column order."""
        return tuple(v.name for v in self.variables)

    @property
    def n_var(self) -> int:
        """Number of variables ``d`` (columns of ``X``)."""
        return len(self.variables)

    @property
    def is_discrete(self) -> bool:
        """True when every variable is discrete."""
        return all(v.is_discrete for v in self.variables)

    @property
    def size(self) -> int | float:
        """Number of distinct designs: the product of the level counts, or ``math.inf``.

        Example:
            >>> from search.space import IntegerRange, default_reram_space
            >>> DesignSpace((IntegerRange("adc_bits", low=3, high=10),)).size
            8
            >>> default_reram_space().size
            inf
        """
        if not self.is_discrete:
            return math.inf
        return math.prod(v.n_levels for v in self.variables)

    # ---- encoding -------------------------------------------------------------------------
    def encode(self, designs: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Encode one design (a dict) or a sequence of designs to the unit cube.

        Args:
            designs: A dict name -> value, or a sequence of ``n`` such dicts; each must name every
                variable and nothing else.

        Returns:
            ``X`` of shape ``(d,)`` for one design, ``(n, d)`` for a sequence.

        Raises:
            ConfigError: Missing or unknown names, or an illegal value.

        Example:
            >>> from search.space import IntegerRange
            >>> space = DesignSpace((IntegerRange("adc_bits", low=3, high=4),))
            >>> space.encode([{"adc_bits": 3}, {"adc_bits": 4}]).tolist()
            [[0.25], [0.75]]
        """
        if isinstance(designs, Mapping):
            self._check_keys(designs)
            return np.array([v.encode(designs[v.name]).item() for v in self.variables])
        if not isinstance(designs, Sequence) or isinstance(designs, str):
            raise ConfigError(
                f"DesignSpace.encode needs a dict or a sequence of dicts; got {type(designs).__name__}."
            )
        for d in designs:
            if not isinstance(d, Mapping):
                raise ConfigError(f"DesignSpace.encode: every design must be a dict; got {d!r}.")
            self._check_keys(d)
        columns = {name: [d[name] for d in designs] for name in self.names}
        return self.encode_columns(columns)

    def encode_columns(self, columns: Mapping[str, Any]) -> np.ndarray:
        """Encode designs given column-wise (name -> array of ``n`` values).

        Args:
            columns: One array-like of shape ``(n,)`` per variable.

        Returns:
            ``X`` of shape ``(n, d)``.

        Raises:
            ConfigError: Missing or unknown names, or an illegal value.
            ShapeError: The columns differ in length or are not 1-D.

        Example:
            >>> from search.space import IntegerRange
            >>> space = DesignSpace((IntegerRange("adc_bits", low=3, high=4),))
            >>> space.encode_columns({"adc_bits": [4, 3]}).tolist()
            [[0.75], [0.25]]
        """
        self._check_keys(columns)
        cols = []
        for v in self.variables:
            arr = np.asarray(columns[v.name], dtype=object)
            if arr.ndim != 1:
                raise ShapeError(f"DesignSpace column {v.name!r} must be 1-D (n,); got shape {arr.shape}.")
            cols.append(v.encode(arr))
        lengths = {c.shape[0] for c in cols}
        if len(lengths) > 1:
            raise ShapeError(f"DesignSpace columns must have equal lengths; got {sorted(lengths)}.")
        return np.stack(cols, axis=1).reshape(cols[0].shape[0], self.n_var)

    def decode(self, X: Any) -> dict[str, Any] | list[dict[str, Any]]:
        """Decode points of the unit cube to designs (Python ints, floats and strings).

        Args:
            X: Shape ``(d,)`` for one design or ``(n, d)``; values in ``[0, 1]``.

        Returns:
            One dict for ``(d,)`` input, a list of ``n`` dicts for ``(n, d)`` input.

        Raises:
            ShapeError: Wrong shape.
            InputError: Values outside ``[0, 1]`` or not finite.

        Example:
            >>> from search.space import IntegerRange
            >>> space = DesignSpace((IntegerRange("adc_bits", low=3, high=10),))
            >>> space.decode([[0.0], [1.0]])
            [{'adc_bits': 3}, {'adc_bits': 10}]
        """
        X = np.asarray(X, dtype=np.float64)
        single = X.ndim == 1
        columns = self.decode_columns(X[None, :] if single else X)
        lists = {name: col.tolist() for name, col in columns.items()}
        n = X.shape[0] if not single else 1
        designs = [{name: lists[name][i] for name in self.names} for i in range(n)]
        return designs[0] if single else designs

    def decode_columns(self, X: Any) -> dict[str, np.ndarray]:
        """Decode ``X`` column-wise, for vectorized objectives.

        Args:
            X: Shape ``(n, d)``; values in ``[0, 1]``.

        Returns:
            name -> values of shape ``(n,)`` (int64, float64, or object for strings).

        Raises:
            ShapeError: Wrong shape.
            InputError: Values outside ``[0, 1]`` or not finite.

        Example:
            >>> from search.space import FloatRange
            >>> space = DesignSpace((FloatRange("temperature", low=300.0, high=400.0),))
            >>> space.decode_columns([[0.0], [0.25]])["temperature"].tolist()
            [300.0, 325.0]
        """
        X = self._check_X(X)
        return {v.name: v.decode(X[:, j]) for j, v in enumerate(self.variables)}

    def snap(self, X: Any) -> np.ndarray:
        """Canonical encoding: discrete columns moved to their bin centres, all clipped to ``[0, 1]``.

        ``snap(X)`` decodes to the same designs as ``X``; use it (or :func:`search.problem.SnapRepair`)
        so that one design has one ``X``.

        Args:
            X: Shape ``(n, d)``.

        Returns:
            Shape ``(n, d)``, float64.

        Example:
            >>> from search.space import IntegerRange
            >>> DesignSpace((IntegerRange("adc_bits", low=3, high=4),)).snap([[0.1], [0.6]]).tolist()
            [[0.25], [0.75]]
        """
        X = self._check_X(X).copy()
        for j, v in enumerate(self.variables):
            if v.is_discrete:
                X[:, j] = _bin_centre(_bin_index(X[:, j], v.n_levels), v.n_levels)
        return X

    # ---- sampling -------------------------------------------------------------------------
    def sample_unit(
        self, n: int, *, rng: np.random.Generator, method: Literal["uniform", "sobol"] = "uniform"
    ) -> np.ndarray:
        """Draw ``n`` points of the cube, snapped (see :meth:`snap`).

        ``"uniform"`` draws i.i.d. uniform points; ``"sobol"`` takes the first ``n`` points of a
        scrambled Sobol' sequence (:class:`scipy.stats.qmc.Sobol`, ``2**ceil(log2 n)`` drawn so
        that SciPy's balance warning does not apply) seeded from ``rng``.

        Args:
            n: Number of points, >= 0.
            rng: Source of randomness.
            method: ``"uniform"`` or ``"sobol"``.

        Returns:
            ``X`` of shape ``(n, d)``.

        Raises:
            ConfigError: Bad ``n`` or ``method``.

        Example:
            >>> from search.space import default_reram_space
            >>> space = default_reram_space()
            >>> space.sample_unit(4, rng=np.random.default_rng(0), method="sobol").shape
            (4, 6)
        """
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
            raise ConfigError(f"DesignSpace.sample: n must be an integer >= 0; got {n!r}.")
        if not isinstance(rng, np.random.Generator):
            raise ConfigError(
                f"DesignSpace.sample: rng must be a numpy.random.Generator; got {type(rng).__name__}. "
                f"Use np.random.default_rng(seed)."
            )
        if method == "uniform":
            U = rng.random((int(n), self.n_var))
        elif method == "sobol":
            U = _sobol(int(n), self.n_var, rng)
        else:
            raise ConfigError(f"DesignSpace.sample: method must be 'uniform' or 'sobol'; got {method!r}.")
        return self.snap(U)

    def sample(
        self, n: int, *, rng: np.random.Generator, method: Literal["uniform", "sobol"] = "uniform"
    ) -> list[dict[str, Any]]:
        """Draw ``n`` designs: :meth:`sample_unit`, then :meth:`decode`.

        Args:
            n: Number of designs, >= 0.
            rng: Source of randomness.
            method: ``"uniform"`` or ``"sobol"``.

        Returns:
            A list of ``n`` designs.

        Raises:
            ConfigError: Bad ``n`` or ``method``.

        Example:
            >>> from search.space import Choice
            >>> space = DesignSpace((Choice("weight_bits", values=(4, 8)),))
            >>> space.sample(3, rng=np.random.default_rng(0))
            [{'weight_bits': 8}, {'weight_bits': 4}, {'weight_bits': 4}]
        """
        return self.decode(self.sample_unit(n, rng=rng, method=method).reshape(-1, self.n_var))

    # ---- configs --------------------------------------------------------------------------
    def to_config(self, design: Mapping[str, Any]) -> CrossbarConfig:
        """Apply a design to :attr:`base`.

        Variables named after ``CrossbarConfig`` fields are set directly; then :attr:`config_fn`
        (if any) applies the rest.

        Args:
            design: name -> value for every variable.

        Returns:
            The validated configuration.

        Raises:
            ConfigError: Illegal design, or the resulting configuration is invalid (the message
                names the design and the underlying error).

        Example:
            >>> from search.space import default_reram_space
            >>> cfg = default_reram_space().to_config({"crossbar_size": 64, "cell_bits": 2,
            ...     "adc_bits": 6, "frequency": 1e8, "temperature": 350.0, "weight_bits": 8})
            >>> cfg.rows, cfg.cols, cfg.adc_bits, cfg.frequency
            (64, 64, 6, 100000000.0)
        """
        if not isinstance(design, Mapping):
            raise ConfigError(f"DesignSpace.to_config needs a dict; got {type(design).__name__}.")
        self.encode(design)  # validates names and values
        clean = {v.name: _canonical(v, design[v.name]) for v in self.variables}
        direct = {k: val for k, val in clean.items() if k in _CONFIG_FIELDS}
        try:
            config = self.base.replace(**direct)
            if self.config_fn is not None:
                config = self.config_fn(config, dict(clean))
        except ConfigError as err:
            raise ConfigError(
                f"DesignSpace.to_config: design {clean!r} is not a valid crossbar: {err}"
            ) from err
        if not isinstance(config, CrossbarConfig):
            raise ConfigError(
                f"DesignSpace.config_fn must return a CrossbarConfig; got {type(config).__name__} "
                f"for design {clean!r}."
            )
        return config

    # ---- serialization --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible description (``config_fn`` is recorded by its qualified name).

        Example:
            >>> from search.space import default_reram_space
            >>> default_reram_space().to_dict()["config_fn"]
            'search.space.square_crossbar'
        """
        fn = self.config_fn
        fn_name = None
        if fn is not None:
            fn_name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
        return {
            "variables": [v.to_dict() for v in self.variables],
            "base": self.base.to_dict(),
            "config_fn": fn_name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, config_fn: ConfigFn | None = None) -> DesignSpace:
        """Build from :meth:`to_dict` output.

        Args:
            data: ``{"variables": [...], "base": {...} (optional), "config_fn": name (optional)}``.
            config_fn: The custom mapping, needed when ``data`` names one other than
                :func:`~search.space.square_crossbar` (functions are not serialized).

        Returns:
            The design space.

        Raises:
            ConfigError: Unknown keys, bad variables, or a named ``config_fn`` that is not given.

        Example:
            >>> from search.space import default_reram_space
            >>> s = default_reram_space()
            >>> DesignSpace.from_dict(s.to_dict()) == s
            True
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"DesignSpace.from_dict needs a mapping; got {type(data).__name__}.")
        unknown = sorted(set(data) - {"variables", "base", "config_fn"})
        if unknown:
            raise ConfigError(
                f"DesignSpace.from_dict: unknown keys {unknown}; allowed: ['base', 'config_fn', 'variables']."
            )
        base = CrossbarConfig.from_dict(dict(data["base"])) if "base" in data else CrossbarConfig()
        named = data.get("config_fn")
        if config_fn is None and named is not None:
            from search.space import square_crossbar  # here: search.space imports this module

            if named != f"{square_crossbar.__module__}.square_crossbar":
                raise ConfigError(
                    f"DesignSpace.from_dict: the space used config_fn {named!r}; pass it as config_fn=."
                )
            config_fn = square_crossbar
        variables = tuple(variable_from_dict(v) for v in data.get("variables", ()))
        return cls(variables, base=base, config_fn=config_fn)

    # ---- helpers --------------------------------------------------------------------------
    def _check_keys(self, design: Mapping[str, Any]) -> None:
        missing = [n for n in self.names if n not in design]
        unknown = sorted(set(design) - set(self.names))
        if missing or unknown:
            raise ConfigError(
                f"DesignSpace: a design must name exactly {list(self.names)}; missing {missing}, "
                f"unknown {unknown}."
            )

    def _check_X(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_var:
            raise ShapeError(f"X must have shape (n, {self.n_var}) (one column per variable); got {X.shape}.")
        if not np.all(np.isfinite(X)):
            raise InputError("X must be finite; got NaN or inf.")
        if X.size and (X.min() < -_CUBE_TOL or X.max() > 1.0 + _CUBE_TOL):
            raise InputError(
                f"X must lie in the unit cube [0, 1]^{self.n_var}; got values in [{X.min()!r}, {X.max()!r}]. "
                f"Encode designs with DesignSpace.encode."
            )
        return np.clip(X, 0.0, 1.0)


def _sobol(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.stats import qmc

    if n == 0:
        return np.empty((0, d))
    try:
        engine = qmc.Sobol(d, scramble=True, rng=rng)
    except TypeError:  # SciPy < 1.15 names the argument ``seed``
        engine = qmc.Sobol(d, scramble=True, seed=rng)
    return engine.random_base2(max(0, math.ceil(math.log2(n))))[:n]

