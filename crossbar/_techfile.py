"""Private reader of technology files: units, schema, and the walk that converts to SI.

:mod:`crossbar.tech` builds its dataclasses from what :func:`read_technology_file` returns. The
schema below is the single definition of which keys a file may hold and the dimension of each
number; units are exact :class:`~fractions.Fraction` factors so that ``100 ns`` becomes exactly
``1e-07`` s.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from crossbar.errors import ConfigError

SCHEMA = "xbarsim-tech/1"
KINDS = ("published", "derived", "model_default", "secondary")


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """Where one number of a technology file comes from."""

    source: str
    """Full citation (the file's references entry)."""
    kind: str
    """One of ``published``, ``derived``, ``model_default``, ``secondary``."""
    value: float
    """The value as written in the file, in ``unit``."""
    unit: str
    """The unit as written in the file."""
    formula: str | None = None
    """How a derived number was computed."""
    note: str | None = None
    """Caveat attached to the number."""


# ---- units and schema ------------------------------------------------------------------------
_BASE: dict[str, dict[str, Fraction]] = {
    "energy": {"J": Fraction(1), "mJ": Fraction(1, 10**3), "uJ": Fraction(1, 10**6),
               "nJ": Fraction(1, 10**9), "pJ": Fraction(1, 10**12), "fJ": Fraction(1, 10**15)},
    "power": {"W": Fraction(1), "mW": Fraction(1, 10**3), "uW": Fraction(1, 10**6),
              "nW": Fraction(1, 10**9)},
    "area": {"m^2": Fraction(1), "mm^2": Fraction(1, 10**6), "um^2": Fraction(1, 10**12),
             "nm^2": Fraction(1, 10**18)},
    "time": {"s": Fraction(1), "ms": Fraction(1, 10**3), "us": Fraction(1, 10**6),
             "ns": Fraction(1, 10**9), "ps": Fraction(1, 10**12)},
    "frequency": {"Hz": Fraction(1), "kHz": Fraction(10**3), "MHz": Fraction(10**6),
                  "GHz": Fraction(10**9), "S/s": Fraction(1), "MS/s": Fraction(10**6),
                  "GS/s": Fraction(10**9)},
    "length": {"m": Fraction(1), "mm": Fraction(1, 10**3), "um": Fraction(1, 10**6),
               "nm": Fraction(1, 10**9)},
    "resistance": {"ohm": Fraction(1), "kohm": Fraction(10**3), "Mohm": Fraction(10**6)},
    "voltage": {"V": Fraction(1), "mV": Fraction(1, 10**3)},
    "count": {"1": Fraction(1)},
    "ratio": {"1": Fraction(1)},
    "bits": {"bit": Fraction(1)},
    "bytes": {"B": Fraction(1), "KiB": Fraction(1024), "MiB": Fraction(1024**2)},
}
UNITS: dict[str, dict[str, Fraction]] = {
    **_BASE,
    **{f"{d}/{s}": {f"{u}/{s}": k for u, k in _BASE[d].items()}
       for d in ("energy", "area") for s in ("bit", "bit^2")},
    "energy/B": {f"{u}/B": k for u, k in _BASE["energy"].items()},
}
"""Dimension -> {unit as written: exact factor to SI}; values convert as ``v * num / den``."""


class _Num(NamedTuple):
    dim: str
    required: bool = True
    integer: bool = False


class _Text(NamedTuple):
    required: bool = True
    choices: tuple[str, ...] = ()


class _Flag(NamedTuple):
    required: bool = False


class _Obj(NamedTuple):
    fields: dict[str, Any]
    required: bool = True


class _Each(NamedTuple):  # free keys (component names), every value following ``item``
    item: Any
    required: bool = True


def _law(dim: str, required: bool = True) -> _Obj:
    terms = {"constant": dim, "per_bit": f"{dim}/bit", "per_bit_squared": f"{dim}/bit^2",
             "per_2n": dim}
    return _Obj({k: _Num(d, required=False) for k, d in terms.items()}, required)


_INT = _Num("count", integer=True)
_BITS = _Num("bits", integer=True)
_OPT_INT = _Num("count", required=False, integer=True)
_COMPONENT = _Obj({"spec": _Text(False), "static": _Flag(), "count": _INT, "power": _Num("power"),
                   "area": _Num("area"), "shared_by": _OPT_INT})
_SCHEMA = _Obj({
    "schema": _Text(choices=(SCHEMA,)),
    "name": _Text(),
    "description": _Text(),
    "references": _Each(_Text()),
    "technology_node": _Num("length"),
    "timing": _Obj({"read_cycle": _Num("time"), "digital_clock": _Num("frequency", False)}),
    "structure": _Obj({
        "rows": _INT, "cols": _INT, "cell_bits": _BITS, "dac_bits": _BITS, "adc_bits": _BITS,
        "weight_bits": _BITS, "input_bits": _BITS, "columns_per_adc": _INT,
        "arrays_per_ima": _OPT_INT, "adcs_per_ima": _OPT_INT, "imas_per_tile": _OPT_INT,
        "tiles_per_chip": _OPT_INT}),
    "device": _Obj({"r_on": _Num("resistance"), "r_off": _Num("resistance"),
                    "read_voltage": _Num("voltage")}, required=False),
    "components": _Obj({lvl: _Each(_COMPONENT, False) for lvl in ("ima", "tile", "chip")}, False),
    "models": _Obj({
        "adc": _Obj({
            "default": _Text(choices=("sar", "flash")),
            "sample_rate": _Num("frequency", False),
            "sar": _Obj({"energy": _law("energy"), "area": _law("area", False)}, False),
            "flash": _Obj({"energy_per_comparator": _Num("energy"),
                           "area_per_comparator": _Num("area", False)}, False)}),
        "dac": _Obj({"energy_1bit": _Num("energy"), "area_1bit": _Num("area"),
                     "scale_per_bit": _Num("ratio")}, False),
        "crossbar": _Obj({"read_energy_per_cell": _Num("energy", False),
                          "area_per_cell": _Num("area", False)}),
        "sample_hold": _Obj({"energy": _Num("energy"), "area": _Num("area")}, False),
        "shift_add": _Obj({"energy": _Num("energy"), "area": _Num("area")}, False),
        "buffer": _Obj({"energy_per_byte": _Num("energy/B"), "area": _Num("area"),
                        "capacity": _Num("bytes", integer=True)}, False)}),
})
_Q_KEYS = ("value", "unit", "source", "kind", "formula", "note")
_Q_EXAMPLE = '{"value": 0.3, "unit": "mW", "source": "<references key>", "kind": "published"}'


def _did_you_mean(word: Any, choices: Any) -> str:
    """`` Did you mean 'mW'?`` for a near miss (case-insensitive), else an empty string."""
    if not isinstance(word, str):
        return ""
    lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lower), n=1, cutoff=0.75)
    return f" Did you mean {lower[close[0]]!r}?" if close else ""


class _Reader:
    """Walks a parsed file against ``_SCHEMA``; converts to SI and records provenance."""

    def __init__(self, origin: str, references: Any) -> None:
        self.origin = origin
        self.references = references if isinstance(references, dict) else {}
        self.provenance: dict[str, Provenance] = {}

    def fail(self, path: str, message: str) -> None:
        raise ConfigError(f"Technology file {self.origin}: {path or '<top level>'} {message}")

    def read(self, node: Any, spec: Any, path: str) -> Any:
        if isinstance(spec, _Num):
            return self.quantity(node, spec, path)
        if isinstance(spec, _Flag):
            if not isinstance(node, bool):
                self.fail(path, f"must be true or false; got {node!r}.")
            return node
        if isinstance(spec, _Text):
            if not isinstance(node, str) or not node.strip():
                self.fail(path, f"must be a non-empty string; got {node!r}.")
            if spec.choices and node not in spec.choices:
                self.fail(path, f"must be one of {list(spec.choices)}; got {node!r}.")
            return node
        if not isinstance(node, dict):
            self.fail(path, f"must be a JSON object; got {node!r}.")
        if isinstance(spec, _Each):
            return {k: self.read(v, spec.item, f"{path}.{k}") for k, v in node.items()}
        unknown = sorted(set(node) - set(spec.fields))
        if unknown:
            self.fail(path, f"has unknown key(s) {unknown}; allowed keys: {sorted(spec.fields)}."
                            + _did_you_mean(unknown[0], spec.fields))
        out = {}
        for key, sub in spec.fields.items():
            sub_path = f"{path}.{key}" if path else key
            if key in node:
                out[key] = self.read(node[key], sub, sub_path)
            elif sub.required:
                self.fail(sub_path, "is missing (required).")
        return out

    def quantity(self, node: Any, spec: _Num, path: str) -> float | int:
        if not isinstance(node, dict):
            self.fail(path, f"must be a quantity object like {_Q_EXAMPLE}; got {node!r}. "
                            "Every number needs a unit and a source.")
        unknown = sorted(set(node) - set(_Q_KEYS))
        if unknown:
            self.fail(path, f"has unknown key(s) {unknown}; a quantity allows {list(_Q_KEYS)}."
                            + _did_you_mean(unknown[0], _Q_KEYS))
        for key in ("value", "unit", "source", "kind"):
            if key not in node:
                self.fail(path, f"is missing {key!r}; a quantity needs value, unit, source and "
                                f"kind, e.g. {_Q_EXAMPLE}.")
        value, unit, source, kind = (node[k] for k in ("value", "unit", "source", "kind"))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"{path}.value", f"must be a JSON number; got {value!r} "
                                       f"({type(value).__name__}).")
        if not math.isfinite(value) or value < 0:
            self.fail(f"{path}.value", f"must be a finite number >= 0; got {value!r}. Costs, "
                                       "counts and sizes are never negative.")
        if spec.integer and (not isinstance(value, int) or value < 1):
            self.fail(f"{path}.value", f"must be a positive integer; got {value!r}.")
        allowed = UNITS[spec.dim]
        if not isinstance(unit, str) or unit not in allowed:
            self.fail(f"{path}.unit", f"{unit!r} is not a unit of {spec.dim}; allowed: "
                                      f"{list(allowed)}." + _did_you_mean(unit, allowed))
        if not isinstance(source, str) or source not in self.references:
            self.fail(f"{path}.source", f"{source!r} is not a key of the file's 'references' "
                                        f"table; known: {sorted(self.references)}."
                                        + _did_you_mean(source, self.references))
        if kind not in KINDS:
            self.fail(f"{path}.kind", f"must be one of {list(KINDS)}; got {kind!r}.")
        formula, note = node.get("formula"), node.get("note")
        if kind == "derived" and not (isinstance(formula, str) and formula.strip()):
            self.fail(f"{path}.formula", f"is required for a derived number; got {formula!r}.")
        for key, text in (("formula", formula), ("note", note)):
            if text is not None and not isinstance(text, str):
                self.fail(f"{path}.{key}", f"must be a string; got {text!r}.")
        self.provenance[path] = Provenance(source=self.references[source], kind=kind,
                                           value=value, unit=unit, formula=formula, note=note)
        factor = allowed[unit]  # multiply, then divide: 100 ns -> 100 / 10**9 = 1e-07 exactly
        si = value * factor.numerator / factor.denominator
        return int(value * factor) if spec.integer else float(si)



def read_technology_file(path: Path) -> tuple[dict[str, Any], dict[str, Provenance]]:
    """Parse and validate one file.

    Args:
        path: The JSON file.

    Returns:
        The file's content with every quantity replaced by its SI value (float, or int for
        counts, bits and bytes), and the provenance of each quantity keyed by dotted path.

    Raises:
        ConfigError: Unreadable file, invalid JSON, or any schema violation.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"load_technology: cannot read {str(path)!r}: {err}.") from err
    except json.JSONDecodeError as err:
        raise ConfigError(f"Technology file {path.name}: invalid JSON ({err}).") from err
    reader = _Reader(path.name, data.get("references") if isinstance(data, dict) else None)
    return reader.read(data, _SCHEMA, ""), reader.provenance
