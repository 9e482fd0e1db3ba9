"""Hardware-mode accuracy in a sweep: a trained torch model and its test data (:class:`AccuracySpec`).

The spec holds NumPy arrays (weights, inputs, labels) and a picklable ``build`` function, so it
travels to worker processes; torch is imported inside its methods, not by this module.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError, ShapeError

__all__ = ["AccuracySpec"]


def _callable_id(fn: Callable[..., Any]) -> str:
    func = getattr(fn, "func", None)
    if func is not None:  # functools.partial
        return f"{_callable_id(func)}(*{getattr(fn, 'args', ())!r}, **{getattr(fn, 'keywords', {})!r})"
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccuracySpec:
    """A trained torch model and test data, for hardware-mode accuracy in a sweep.

    Each design's accuracy is ``mapping.nn.train.evaluate(model, x, y, mode="hardware",
    n_repeats=n_repeats, seed=seed)`` on the model built by ``build()``, loaded with ``state`` and
    put on that design (:func:`mapping.nn.convert` for a plain model, :func:`mapping.nn.reconfigure`
    for a converted one, which keeps its float layers, modes and noise scales).

    Example:
        >>> import functools
        >>> from mapping.nn.models import mlp
        >>> build = functools.partial(mlp, (64, 10))
        >>> spec = AccuracySpec.from_model(build(), build=build, x=np.zeros((4, 1, 8, 8), np.float32),
        ...                                y=np.zeros(4, np.int64))
        >>> sorted(spec.state), spec.n_repeats
        (['1.bias', '1.weight'], 1)
    """

    build: Callable[[], Any]
    """Builds the model's architecture (plain or converted ``nn.Module``); must be picklable
    (a top-level function or a ``functools.partial`` of one) to run on worker processes."""
    state: Mapping[str, np.ndarray]
    """Trained ``state_dict`` as NumPy arrays (see :meth:`from_model`)."""
    x: np.ndarray
    """Test inputs, shape ``(n, ...)`` float32 in [0, 1]."""
    y: np.ndarray
    """Test labels, shape ``(n,)`` int64."""
    n_repeats: int = 1
    """Independent device draws (programming and read noise) per design [1]."""
    seed: int = 0
    """Seed of the draws (repeat ``r`` uses ``[seed, r]``)."""

    def __post_init__(self) -> None:
        own = "AccuracySpec"
        if not callable(self.build):
            raise ConfigError(f"{own}.build must be callable (returns the nn.Module); got "
                              f"{self.build!r:.80}.")
        if not isinstance(self.state, Mapping) or not self.state:
            raise ConfigError(f"{own}.state must be a non-empty state_dict mapping; got "
                              f"{type(self.state).__name__}.")
        state = {str(k): np.array(v, copy=True) for k, v in self.state.items()}
        x = np.ascontiguousarray(self.x, dtype=np.float32)
        y = np.ascontiguousarray(self.y)
        if (y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or x.ndim < 2 or len(x) != len(y)
                or not len(y)):
            raise ShapeError(f"{own}: x must be (n, ...) and y (n,) integer labels with n >= 1; got x "
                             f"{x.shape}, y {y.shape} {y.dtype}.")
        for name in ("n_repeats", "seed"):
            v, lo = getattr(self, name), (1 if name == "n_repeats" else 0)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
                raise ConfigError(f"{own}.{name} must be an integer >= {lo}; got {v!r}.")
        for name, value in (("state", state), ("x", x), ("y", y.astype(np.int64))):
            object.__setattr__(self, name, value)
        self._load()  # a state that does not fit the architecture fails here, not in every worker

    @classmethod
    def from_model(cls, model: Any, *, build: Callable[[], Any], x: np.ndarray, y: np.ndarray,
                   n_repeats: int = 1, seed: int = 0) -> AccuracySpec:
        """The spec of a trained ``model`` whose architecture ``build()`` rebuilds."""
        state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        return cls(build=build, state=state, x=x, y=y, n_repeats=n_repeats, seed=seed)

    def digest(self) -> str:
        """SHA-256 of everything that determines the accuracies (weights, data, repeats, seed)."""
        h = hashlib.sha256(_callable_id(self.build).encode())
        for k in sorted(self.state):
            v = self.state[k]
            h.update(f"{k}:{v.dtype}:{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        for arr in (self.x, self.y):
            h.update(f"{arr.dtype}:{arr.shape}".encode())
            h.update(arr.tobytes())
        h.update(f"{self.n_repeats}:{self.seed}".encode())
        return h.hexdigest()

    def _load(self) -> Any:
        import torch

        with torch.random.fork_rng(devices=[]):  # the throw-away initialization touches no global state
            model = self.build()
        if not isinstance(model, torch.nn.Module):
            raise ConfigError(f"AccuracySpec.build must return a torch.nn.Module; got "
                              f"{type(model).__name__}.")
        try:
            model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in self.state.items()})
        except RuntimeError as err:
            raise ConfigError(f"AccuracySpec.state does not fit the model that build() returns: "
                              f"{err}") from err
        return model

    def accuracy(self, config: CrossbarConfig) -> tuple[float, float]:
        """Hardware-mode accuracy ``(mean, std)`` [1] of the model on design ``config``."""
        from mapping.nn import convert, crossbar_layers, reconfigure
        from mapping.nn.train import evaluate

        model = self._load()
        if any(True for _ in crossbar_layers(model)):
            model = reconfigure(model, config)
        else:
            model = convert(model, config, seed=self.seed)
        res = evaluate(model, self.x, self.y, mode="hardware", n_repeats=self.n_repeats, seed=self.seed)
        return res.mean, res.std

