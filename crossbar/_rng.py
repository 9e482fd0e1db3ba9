"""Inline random numbers for Numba kernels: xoshiro256** words, uniforms and ziggurat normals.

Why not ``numpy.random.Generator`` inside the kernels: Numba calls its bit generator through a
function pointer, 4.2-4.5 ns per normal or uniform here (measured once, by hand), which made the
random numbers most of the ``"noisy"`` training step's cost. Inlined: 2.2-3.5 ns per normal and
0.9-1.5 ns per uniform (``python -m experiments.bench_bridge``).

- Words: xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number generators",
  2021). A stream's state is four ``uint64``, stored as a row of a ``(n_streams, 4)`` array
  between kernel calls and carried in scalars inside a kernel. Tested word for word against a
  pure-Python implementation of the published algorithm.
- Uniforms: the top 53 bits of a word times ``2**-53`` (in ``[0, 1)``).
- Normals: the 256-layer ziggurat of Marsaglia and Tsang (2000) in the form NumPy uses (layer
  from the low 8 bits, sign from the next, 52-bit value; exact tail by Marsaglia's method), with
  tables built by :func:`ziggurat_tables`. Tested against ``N(0, 1)`` (KS, tails, moments).

Streams are seeded from a ``numpy.random.SeedSequence`` (:func:`seed_streams`), so draws are
reproducible and independent of thread counts when each stream is used by one thread.
"""

from __future__ import annotations

import math

import numba
import numpy as np

ZIGGURAT_R = 3.6541528853610088
"""Start of the tail of the 256-layer normal ziggurat."""
ZIGGURAT_V = 0.00492867323399
"""Area of each layer (and of the base strip with the tail)."""


def ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(k, w, f)`` of the 256-layer ziggurat for a 52-bit uniform integer ``u``.

    Layer ``i`` accepts ``u < k[i]`` at once with ``x = u * w[i]``; ``f[i] = exp(-x_i**2 / 2)`` at
    the layer's edge ``x_i`` (Marsaglia and Tsang's ``zigset``, 256 layers, 52 bits).
    """
    m = 2.0**52
    k = np.zeros(256, dtype=np.uint64)
    w = np.zeros(256)
    f = np.zeros(256)
    dn = tn = ZIGGURAT_R
    q = ZIGGURAT_V / math.exp(-0.5 * dn * dn)
    k[0] = np.uint64((dn / q) * m)
    w[0] = q / m
    w[255] = dn / m
    f[0] = 1.0
    f[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(ZIGGURAT_V / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = np.uint64((dn / tn) * m)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m
    return k, w, f


ZIG_K, ZIG_W, ZIG_F = ziggurat_tables()


def seed_streams(seed: np.random.SeedSequence, n_streams: int) -> np.ndarray:
    """``(n_streams, 4)`` ``uint64`` xoshiro256** states from ``seed`` (never all zero)."""
    state = seed.generate_state(4 * n_streams, dtype=np.uint64).reshape(n_streams, 4)
    state[(state == 0).all(axis=1), 0] = np.uint64(1)
    return state


@numba.njit(inline="always", cache=True)
def _rotl(x, k):  # pragma: no cover - compiled
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(inline="always", cache=True)
def next_word(s0, s1, s2, s3):  # pragma: no cover - compiled
    """Next xoshiro256** word: ``(word, s0, s1, s2, s3)`` with the new state.

    The state travels in scalars, not an array, so a kernel keeps it in registers (0.9 ns per
    uniform here, 2.4 ns through an array row). Load it from a :func:`seed_streams` row at the
    start of a kernel and store it back at the end.
    """
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@numba.njit(inline="always", cache=True)
def next_uniform(s0, s1, s2, s3):  # pragma: no cover - compiled
    """Uniform float64 in ``[0, 1)`` from the top 53 bits of a word: ``(u, s0, s1, s2, s3)``."""
    r, s0, s1, s2, s3 = next_word(s0, s1, s2, s3)
    return float(r >> np.uint64(11)) * (1.0 / 9007199254740992.0), s0, s1, s2, s3


@numba.njit(cache=True)
def _normal_rare(s0, s1, s2, s3, idx, x):  # pragma: no cover - compiled
    """The ziggurat's rare cases (about 0.7 % of draws) for a word of layer ``idx`` whose
    magnitude ``x`` fell outside the layer's rectangle: ``(accepted, |value|, s0, s1, s2, s3)``.
    Layer 0 draws from the tail beyond R (Marsaglia 1964; always accepted), the others test the
    wedge with one uniform."""
    if idx == 0:
        while True:
            u, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
            v, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
            xx = -math.log1p(-u) / ZIGGURAT_R
            yy = -math.log1p(-v)
            if yy + yy > xx * xx:
                return True, ZIGGURAT_R + xx, s0, s1, s2, s3
    u, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
    return (ZIG_F[idx - 1] - ZIG_F[idx]) * u + ZIG_F[idx] < math.exp(-0.5 * x * x), x, s0, s1, s2, s3


@numba.njit(inline="always", cache=True)
def _split(r):  # pragma: no cover - compiled
    """A word's ziggurat try: layer (low 8 bits), sign (next bit), 52-bit magnitude and its value."""
    idx = np.int64(r & np.uint64(0xFF))
    rabs = (r >> np.uint64(9)) & np.uint64(0x000FFFFFFFFFFFFF)
    return idx, (r >> np.uint64(8)) & np.uint64(1) == np.uint64(1), rabs, float(rabs) * ZIG_W[idx]


@numba.njit(cache=True)
def _normal_slow(s0, s1, s2, s3, idx, neg, x):  # pragma: no cover - compiled
    """After a try outside its layer's rectangle: rare cases, then fresh words until accepted."""
    while True:
        accepted, x, s0, s1, s2, s3 = _normal_rare(s0, s1, s2, s3, idx, x)
        if accepted:
            return (-x if neg else x), s0, s1, s2, s3
        r, s0, s1, s2, s3 = next_word(s0, s1, s2, s3)
        idx, neg, rabs, x = _split(r)
        if rabs < ZIG_K[idx]:
            return (-x if neg else x), s0, s1, s2, s3


@numba.njit(inline="always", cache=True)
def next_normal(s0, s1, s2, s3):  # pragma: no cover - compiled
    """Standard normal by the ziggurat (:func:`ziggurat_tables`): ``(x, s0, s1, s2, s3)``.

    The tables are module globals, which Numba freezes into the compiled code: passed as array
    arguments instead, a draw took 15 ns instead of 2 ns here."""
    r, s0, s1, s2, s3 = next_word(s0, s1, s2, s3)
    idx, neg, rabs, x = _split(r)
    if rabs < ZIG_K[idx]:
        return (-x if neg else x), s0, s1, s2, s3
    return _normal_slow(s0, s1, s2, s3, idx, neg, x)


@numba.njit(cache=True)
def draw_words(state, n):  # pragma: no cover - compiled
    """``n`` xoshiro256** words from stream row ``state`` (updated). For tests and tools."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i], s0, s1, s2, s3 = next_word(s0, s1, s2, s3)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return out


@numba.njit(cache=True)
def draw(state, n, normal):  # pragma: no cover - compiled
    """``n`` uniforms (``normal`` False) or standard normals from stream row ``state``
    (updated). For tests and tools; kernels call the inline functions."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    out = np.empty(n)
    for i in range(n):
        if normal:
            out[i], s0, s1, s2, s3 = next_normal(s0, s1, s2, s3)
        else:
            out[i], s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return out
