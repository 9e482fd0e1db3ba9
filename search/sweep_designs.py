"""The designs of a sweep: canonical configs, stable design keys and grids of design variables.

A design's key is :func:`design_key`: a hash of its canonical JSON (:func:`canonical_config`), so
the same design gets the same key in every run. :func:`expand_grid` turns ``{field: [values]}``
into the list of designs a :func:`search.sweep.sweep` evaluates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from crossbar.config import CrossbarConfig, NoiseConfig
from crossbar.errors import ConfigError

__all__ = ["canonical_config", "design_key", "expand_grid"]


def _floats(obj: Any) -> dict[str, float]:
    """Integer values of float-typed fields (``frequency=10**7``) as floats."""
    return {f.name: float(getattr(obj, f.name)) for f in dataclasses.fields(obj)
            if "float" in str(f.type) and isinstance(getattr(obj, f.name), numbers.Integral)
            and not isinstance(getattr(obj, f.name), bool)}


def canonical_config(config: CrossbarConfig) -> CrossbarConfig:
    """``config`` with integer values of float fields stored as floats (so ``1e7 == 10**7``
    gives one JSON text and one :func:`design_key`).

    Example:
        >>> a, b = CrossbarConfig(frequency=10**7), CrossbarConfig(frequency=1e7)
        >>> a.to_json() == b.to_json(), canonical_config(a).to_json() == b.to_json()
        (False, True)
    """
    if not isinstance(config, CrossbarConfig):
        raise ConfigError(f"canonical_config: expected a CrossbarConfig; got {config!r:.80}.")
    changes: dict[str, Any] = _floats(config)
    noise = _floats(config.noise)
    if noise:
        changes["noise"] = dataclasses.replace(config.noise, **noise)
    return config.replace(**changes) if changes else config


def design_key(config: CrossbarConfig) -> str:
    """Stable key of a design: the first 16 hex digits of the SHA-256 of its canonical JSON.

    Example:
        >>> design_key(CrossbarConfig(adc_bits=6)) == design_key(CrossbarConfig(adc_bits=6))
        True
        >>> len(design_key(CrossbarConfig()))
        16
    """
    return hashlib.sha256(canonical_config(config).to_json().encode()).hexdigest()[:16]


def expand_grid(variables: Mapping[str, Sequence[Any]], *,
                base: CrossbarConfig | None = None) -> list[CrossbarConfig]:
    """The Cartesian product of design variables, each applied to ``base`` with ``replace``.

    Args:
        variables: ``{field of CrossbarConfig: [values]}``; the last variable varies fastest.
            ``noise`` values may be :class:`~crossbar.config.NoiseConfig` or dicts of its fields;
            per-slice ``adc_bits`` are lists.
        base: The design the variables modify (default ``CrossbarConfig()``).

    Returns:
        ``prod(len(values))`` configs.

    Raises:
        ConfigError: An unknown field, an empty value list, or a combination that is not a valid
            design (the message names the combination).

    Example:
        >>> designs = expand_grid({"rows": [64, 128], "adc_bits": [4, 6, 8]})
        >>> len(designs), designs[1].rows, designs[1].adc_bits
        (6, 64, 6)
    """
    base = CrossbarConfig() if base is None else base
    if not isinstance(base, CrossbarConfig):
        raise ConfigError(f"expand_grid: base must be a CrossbarConfig; got {base!r:.80}.")
    if not isinstance(variables, Mapping) or not variables:
        raise ConfigError(f"expand_grid: variables must be a non-empty mapping field -> list of values; got "
                          f"{variables!r:.80}.")
    allowed = [f.name for f in dataclasses.fields(CrossbarConfig)]
    names = list(variables)
    for name in names:
        if name not in allowed:
            raise ConfigError(f"expand_grid: unknown design variable {name!r}; allowed: {allowed}.")
        values = variables[name]
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ConfigError(f"expand_grid: variable {name!r} needs a non-empty list of values; got "
                              f"{values!r:.80}.")
    out = []
    for combo in itertools.product(*(variables[n] for n in names)):
        changes = dict(zip(names, combo, strict=True))
        if isinstance(changes.get("noise"), Mapping):
            changes["noise"] = NoiseConfig(**changes["noise"])
        try:
            out.append(base.replace(**changes))
        except (ConfigError, TypeError) as err:
            raise ConfigError(f"expand_grid: the combination {changes} is not a valid design: {err}") from err
    return out


def _design_list(designs: Any) -> list[CrossbarConfig]:
    if isinstance(designs, Mapping):
        configs = expand_grid(designs)
    elif isinstance(designs, CrossbarConfig):
        configs = [designs]
    elif isinstance(designs, Sequence) and not isinstance(designs, (str, bytes)):
        configs = list(designs)
    else:
        raise ConfigError(f"sweep: designs must be a list of CrossbarConfig or a grid {{field: [values]}}; "
                          f"got {designs!r:.80}.")
    if not configs:
        raise ConfigError("sweep: designs is empty; give at least one CrossbarConfig.")
    out: dict[str, CrossbarConfig] = {}
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, CrossbarConfig):
            raise ConfigError(f"sweep: designs[{i}] must be a CrossbarConfig; got {cfg!r:.80}.")
        cfg = canonical_config(cfg)
        out.setdefault(design_key(cfg), cfg)  # duplicates: the first occurrence
    return list(out.values())

