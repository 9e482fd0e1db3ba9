"""Dynamic fixed-point quantization of weights and activations (per tensor, numpy only).

This is the ``FIX_AUTO`` quantizer of the bit-slice reference (``nics_fix_pt/quant.py`` of
zjysteven/bitslice_sparsity, see ``reference/algorithms.md`` §1.2), generalized to ``bits``
magnitude bits and made overflow-free. For a tensor ``w``::

    s     = ceil(log2(max(max|w|, 1e-5)))          # scale exponent (RANGE_MAX)
    delta = 2**(s - bits)                           # step, a power of two
    q     = clip(rint(w / delta), q_lo, q_hi)       # rint: round half to even

Because ``max|w| <= 2**s``, ``|w| / delta <= 2**bits`` before the clamp. The reference clamps
the *dequantized* value to ``[-2**s, 2**s]``, so the integer ``2**bits`` (256 for its 8-bit
magnitude) is reachable and overflows the most significant 2-bit slice (its "x = 256"
pitfall). Here the integer is clamped to the crossbar's range instead, so only values within
one step of ``2**s`` are affected, by at most ``delta``; every other element is within
``delta / 2`` of its dequantized value.

Bit widths (``Wb = weight_bits``, ``Ab = input_bits``):

* weights, signed symmetric: ``bits = Wb - 1``, ``q`` in ``[-(2**(Wb-1) - 1), 2**(Wb-1) - 1]``
  (``CrossbarConfig.q_max``). The reference's "sign + 8-bit magnitude" is ``Wb = 9``.
* activations, unsigned: ``bits = Ab``, ``q`` in ``[0, 2**Ab - 1]``.
* activations, signed (two's complement): ``bits = Ab - 1``,
  ``q`` in ``[-2**(Ab-1), 2**(Ab-1) - 1]`` (``CrossbarConfig.x_min``/``x_max``).

``s`` is computed exactly from the binary exponent (``np.frexp``), not from a rounded
``log2``, so an exact power of two ``max|w| = 2**k`` gives ``s = k``. ``w / delta`` is an exact
power-of-two rescaling (``np.ldexp``) in float64.

References:
    Bit-slice L1: Zhang, Yang, Chen, Wang, Li, arXiv 1909.08496 (EMC2 @ NeurIPS 2019); code
    zjysteven/bitslice_sparsity (commit adcfbce), ``*/nics_fix_pt/quant.py`` (a fork of
    walkerning/nics_fix_pytorch).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError, InputError

MIN_RANGE = 1e-5
"""Floor of ``max|w|`` when computing the scale exponent (the reference's ``EPS``) [1]."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Quantized:
    """A per-tensor dynamic fixed-point tensor: ``w ~= q * scale`` with ``scale = 2**(s - bits)``.

    Example:
        >>> t = Quantized(q=np.array([3, -1]), scale=0.25, exponent=1)
        >>> t.dequantize().tolist()
        [0.75, -0.25]
    """

    q: np.ndarray
    """Integers, same shape as the quantized tensor, int64 (read-only)."""
    scale: float
    """Step ``delta`` between adjacent integers, a power of two [units of the tensor]."""
    exponent: int
    """Scale exponent ``s``: the quantized range is ``[-2**s, 2**s]`` [1]."""

    def __post_init__(self) -> None:
        """Validate and normalize the fields (raises ConfigError/InputError)."""
        q = np.asarray(self.q)
        if q.dtype == np.bool_ or not np.issubdtype(q.dtype, np.integer):
            raise InputError(f"Quantized.q must be an integer array; got dtype {q.dtype}.")
        q = q.astype(np.int64)  # always a private copy, so freezing it cannot affect the caller
        q.setflags(write=False)
        object.__setattr__(self, "q", q)
        if not isinstance(self.scale, numbers.Real) or not (math.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"Quantized.scale must be a finite positive number; got {self.scale!r}.")
        object.__setattr__(self, "scale", float(self.scale))
        if not isinstance(self.exponent, numbers.Integral) or isinstance(self.exponent, bool):
            raise ConfigError(f"Quantized.exponent must be an integer; got {self.exponent!r}.")
        object.__setattr__(self, "exponent", int(self.exponent))

    def dequantize(self) -> np.ndarray:
        """Return ``q * scale``.

        Returns:
            The dequantized tensor, shape of ``q``, float64 [units of the tensor].

        Example:
            >>> quantize_weights(np.array([0.5, -0.1]), weight_bits=4).dequantize().tolist()
            [0.4375, -0.125]
        """
        return self.q.astype(np.float64) * self.scale


def _check_bits(owner: str, name: str, value, *, signed_inputs: bool = False) -> None:
    """Raise ConfigError unless ``CrossbarConfig`` accepts ``value`` for ``name``."""
    try:
        CrossbarConfig(**{name: value, "signed_inputs": signed_inputs})
    except ConfigError as exc:
        raise ConfigError(
            f"{owner}: {name} must be a bit width that CrossbarConfig accepts; got {value!r} "
            f"({exc})"
        ) from None


def _as_finite_real(a, owner: str, name: str) -> np.ndarray:
    """Return ``a`` as a float64 array, or raise InputError for non-real or non-finite values."""
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{owner}: {name} must be a real-valued array; could not convert: {exc}") from exc
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise InputError(
            f"{owner}: {name} must have an integer or floating dtype; got dtype {arr.dtype}."
        )
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        n_nan = int(np.isnan(arr).sum())
        raise InputError(
            f"{owner}: {name} must be finite; got {n_nan} NaN and {int(bad.sum()) - n_nan} inf "
            f"among {arr.size} values. Check the layer for overflow or a diverged training run."
        )
    return arr


def scale_exponent(w) -> int:
    """Per-tensor scale exponent ``s = ceil(log2(max(max|w|, 1e-5)))``, computed exactly.

    Args:
        w: Any real array (empty is allowed and gives the floor's exponent).

    Returns:
        ``s``, the smallest integer with ``max|w| <= 2**s`` (and ``2**s >= 1e-5``).

    Raises:
        InputError: ``w`` is not real-valued or holds NaN/inf.

    Example:
        >>> scale_exponent(np.array([0.5, -0.3])), scale_exponent(np.array([0.51])), scale_exponent([0.0])
        (-1, 0, -16)
    """
    arr = _as_finite_real(w, "scale_exponent", "w")
    m = max(float(np.max(np.abs(arr), initial=0.0)), MIN_RANGE)
    mantissa, e = math.frexp(m)  # m = mantissa * 2**e, mantissa in [0.5, 1)
    return e - 1 if mantissa == 0.5 else e


def _quantize(arr: np.ndarray, *, bits: int, lo: int, hi: int, exponent: int) -> Quantized:
    """Quantize a validated float64 array with ``delta = 2**(exponent - bits)`` and clamp."""
    with np.errstate(over="ignore", under="ignore"):  # a fixed exponent may saturate: clipped below
        scaled = np.ldexp(arr, bits - exponent)  # exact: arr / delta
    q = np.clip(np.rint(scaled), lo, hi).astype(np.int64)
    return Quantized(q=q, scale=math.ldexp(1.0, exponent - bits), exponent=exponent)


def quantize_weights(w, *, weight_bits: int) -> Quantized:
    """Quantize weights to signed symmetric ``weight_bits``-bit integers (dynamic fixed point).

    Uses ``bits = weight_bits - 1`` magnitude bits, ``delta = 2**(s - (weight_bits - 1))`` and
    clamps to ``[-q_max, q_max]``, ``q_max = 2**(weight_bits-1) - 1`` (see the module docstring).

    Args:
        w: Real weights, any shape (e.g. the ``(n_in, n_out)`` matrix of
            :func:`mapping.layers.weight_matrix`).
        weight_bits: Signed precision ``Wb`` as in ``CrossbarConfig.weight_bits`` [bit].

    Returns:
        ``Quantized`` with ``q`` of the shape of ``w`` in ``[-q_max, q_max]`` (int64), ready for
        :func:`crossbar.program` with a config of the same ``weight_bits``.

    Raises:
        ConfigError: ``weight_bits`` is outside the range ``CrossbarConfig`` accepts.
        InputError: ``w`` is not real-valued or holds NaN/inf.

    Example:
        >>> t = quantize_weights(np.array([0.5, -0.25, 0.1]), weight_bits=8)
        >>> t.q.tolist(), t.scale, t.exponent   # 0.5 / 2**-8 = 128 is clamped to 127
        ([127, -64, 26], 0.00390625, -1)
    """
    _check_bits("quantize_weights", "weight_bits", weight_bits)
    arr = _as_finite_real(w, "quantize_weights", "w")
    q_max = 2 ** (weight_bits - 1) - 1
    return _quantize(arr, bits=weight_bits - 1, lo=-q_max, hi=q_max, exponent=scale_exponent(arr))


def quantize_activations(a, *, input_bits: int, signed: bool = False, exponent: int | None = None
                         ) -> Quantized:
    """Quantize activations to ``input_bits``-bit integers (dynamic fixed point).

    Unsigned: ``delta = 2**(s - Ab)``, ``q`` in ``[0, 2**Ab - 1]``. Signed (two's complement):
    ``delta = 2**(s - (Ab - 1))``, ``q`` in ``[-2**(Ab-1), 2**(Ab-1) - 1]``. Values beyond the
    range saturate at its ends.

    Args:
        a: Real activations, any shape, e.g. ``(batch, n_in)`` or ``(batch, C, H, W)``.
        input_bits: Precision ``Ab`` as in ``CrossbarConfig.input_bits`` [bit].
        signed: Two's complement inputs (use with ``CrossbarConfig(signed_inputs=True)``).
        exponent: A fixed scale exponent ``s`` to reuse (the reference's ``FIX_FIXED`` eval
            mode, e.g. calibrated on training data); ``None`` computes it from ``a``.

    Returns:
        ``Quantized`` with ``q`` of the shape of ``a`` in ``[x_min, x_max]`` of the matching
        ``CrossbarConfig`` (int64).

    Raises:
        ConfigError: ``input_bits`` outside what ``CrossbarConfig`` accepts (for ``signed``),
            a non-bool ``signed``, or an ``exponent`` whose step is not a normal float64.
        InputError: ``a`` holds NaN/inf, or negative values while ``signed=False``.

    Example:
        >>> quantize_activations(np.array([0.0, 0.3, 1.0]), input_bits=4).q.tolist()
        [0, 5, 15]
        >>> quantize_activations(np.array([-1.0, 0.3, 1.0]), input_bits=4, signed=True).q.tolist()
        [-8, 2, 7]
        >>> quantize_activations(np.array([0.3, 3.0]), input_bits=4, exponent=0).q.tolist()
        [5, 15]
    """
    if not isinstance(signed, bool):
        raise ConfigError(f"quantize_activations: signed must be True or False; got {signed!r}.")
    _check_bits("quantize_activations", "input_bits", input_bits, signed_inputs=signed)
    bits = input_bits - 1 if signed else input_bits
    if exponent is not None:
        ok = isinstance(exponent, numbers.Integral) and not isinstance(exponent, bool)
        lo_e, hi_e = -1022 + bits, 1023 + bits  # keep delta = 2**(s - bits) a normal float64
        if not ok or not lo_e <= exponent <= hi_e:
            raise ConfigError(
                f"quantize_activations: exponent must be an integer in [{lo_e}, {hi_e}] (so the "
                f"step 2**(exponent - {bits}) is a normal float64) or None; got {exponent!r}. "
                f"Pass the Quantized.exponent of a calibration run."
            )
    arr = _as_finite_real(a, "quantize_activations", "a")
    if not signed:
        n_neg = int(np.count_nonzero(arr < 0))
        if n_neg:
            raise InputError(
                f"quantize_activations: a must be >= 0 for unsigned inputs; got {n_neg} negative "
                f"values (min {float(arr.min())!r}). Pass signed=True (and use "
                f"CrossbarConfig(signed_inputs=True)), or apply the ReLU first."
            )
        lo, hi = 0, 2**input_bits - 1
    else:
        lo, hi = -(2 ** (input_bits - 1)), 2 ** (input_bits - 1) - 1
    s = scale_exponent(arr) if exponent is None else int(exponent)
    return _quantize(arr, bits=bits, lo=lo, hi=hi, exponent=s)
