"""Crossbar versions of ``nn.Linear`` and ``nn.Conv2d`` with four forward modes.

Modes (set per model with :func:`mapping.nn.set_mode`):

``"float"``
    The plain float layer.
``"quantized"``
    Inputs and weights in dynamic fixed point (per-tensor exponent from the current tensor's
    max, see :mod:`mapping.nn.functional`), straight-through gradients.
``"noisy"``
    As ``"quantized"``, and every forward draws fresh noise from the layer's
    ``CrossbarConfig.noise`` on the bit-sliced cell levels (programming, physical, read, RTN and
    faults): on CPU one fused Numba pass per layer with the layer's own random streams, on CUDA
    in torch with a generator on that device (the same law, both tested on CPU against a per-cell
    oracle); the float weight stays the noise-free master copy (ReSNA-style noise-aware training).
``"hardware"``
    The forward pass goes through the exact crossbar semantics: the Numba engine on CPU, the
    torch engine (:mod:`mapping.nn.torch_engine`) on CUDA. The matrix is programmed once per
    distinct quantized weight (programming noise fixed, as on a chip) and read noise is fresh
    every forward. The backward pass is straight-through: by default (``hardware_grad="ste"``)
    the gradients of the ``"quantized"`` forward; with ``hardware_grad="adc"``
    (:func:`mapping.nn.set_hardware_grad`) those of
    :func:`mapping.nn.torch_engine.matmul_surrogate`, which sees the ADCs' clipping. Biases are
    added digitally in float.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from crossbar import CrossbarConfig, ProgrammedMatrix, calibrate_adc, program
from crossbar.errors import ConfigError
from mapping.nn import device_noise as dn
from mapping.nn import functional as xf
from mapping.nn.torch_engine import matmul_surrogate, matmul_torch

Mode = Literal["float", "quantized", "noisy", "hardware"]
MODES: tuple[str, ...] = ("float", "quantized", "noisy", "hardware")
HARDWARE_GRADS: tuple[str, ...] = ("ste", "adc")


class _CrossbarState:
    """Per-layer crossbar state: config, mode, random sources and the programmed matrix."""

    def __init__(self, config: CrossbarConfig, seed: np.random.SeedSequence) -> None:
        if not isinstance(config, CrossbarConfig):
            raise ConfigError(f"crossbar layer config must be a CrossbarConfig; got {config!r}.")
        self.config = config
        self.mode: str = "float"
        self.noise_scale: float = 1.0  # multiplies the noise drawn in "noisy" mode (ReSNA per-layer)
        self.hardware_grad: str = "ste"  # backward of "hardware" mode: "ste" or "adc"
        self.probe: list | None = None  # when a list, hardware forwards append (x_int, matrix)
        self.reseed(seed)

    def reseed(self, seed: np.random.SeedSequence) -> None:
        """Fresh random sources from ``seed``; the next hardware forward reprograms."""
        self.seed = seed
        program_seq, read_seq, torch_seq, noise_seq = seed.spawn(4)
        self.program_rng = np.random.default_rng(program_seq)
        self.read_rng = np.random.default_rng(read_seq)
        self.torch_seed = int(torch_seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        self.noise_rngs = dn.noise_streams(noise_seq)
        self.generators: dict[str, torch.Generator] = {}
        self.programmed: tuple[np.ndarray, ProgrammedMatrix] | None = None

    def noise_source(self, device: torch.device) -> torch.Generator | np.ndarray:
        """Random source of ``"noisy"`` mode on ``device``: the random streams of the CPU kernel,
        elsewhere a torch generator on that device (see :func:`mapping.nn.device_noise.weight_perturbation`)."""
        if device.type == "cpu":
            return self.noise_rngs
        key = str(device)
        if key not in self.generators:
            g = torch.Generator(device=device)
            g.manual_seed(self.torch_seed)
            self.generators[key] = g
        return self.generators[key]

    def stored_weight(self, weight: torch.Tensor) -> torch.Tensor:
        """The weight as ``"quantized"`` (quantized) or ``"noisy"`` mode (quantized, plus one fresh
        device draw times the layer's noise scale) stores it, with the quantizer's gradient."""
        if self.mode == "noisy":
            return dn.noisy_weight_ste(weight, self.config, self.noise_source(weight.device), scale=self.noise_scale)
        return xf.fake_quantize_weight_ste(weight, self.config.weight_bits)

    def matrix(self, q_matrix: np.ndarray) -> ProgrammedMatrix:
        """Programmed matrix for integer weights ``q_matrix`` ``(n_in, n_out)`` (cached)."""
        if self.programmed is not None and np.array_equal(self.programmed[0], q_matrix):
            return self.programmed[1]
        m = program(q_matrix, self.config, rng=self.program_rng)
        self.programmed = (q_matrix.copy(), m)
        return m

    def hardware_matmul(self, x_int: torch.Tensor, q_matrix: np.ndarray) -> torch.Tensor:
        """Crossbar product of integer inputs ``(rows, n_in)`` and weights ``(n_in, n_out)``.

        With ``adc_range="calibrated"``, the ADCs of a freshly programmed matrix are calibrated
        (:func:`crossbar.calibrate_adc`, 99.9th percentile) on the first batch it multiplies.
        """
        m = self.matrix(q_matrix)
        if self.config.adc_range == "calibrated" and m.adc_full_scale is None:
            m = calibrate_adc(m, x_int.detach().to(torch.int64).cpu().numpy(), percentile=99.9)
            self.programmed = (self.programmed[0], m)
        if self.probe is not None:
            self.probe.append((x_int.detach().to(torch.int64).cpu().numpy(), m))
        if x_int.device.type == "cpu":
            y = m.matmul(x_int.detach().to(torch.int64).numpy(), rng=self.read_rng)
            return torch.from_numpy(y)
        return matmul_torch(m, x_int.detach(), rng=self.read_rng)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {list(MODES)}; got {mode!r}.")


class CrossbarLinear(nn.Linear):
    """``nn.Linear`` mapped onto crossbars (see the module docstring for the modes).

    The weight ``(out_features, in_features)`` is stored transposed on the arrays: rows are
    inputs. Create with :func:`mapping.nn.convert`.
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool, config: CrossbarConfig,
                 seed: np.random.SeedSequence) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.xbar = _CrossbarState(config, seed)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mode={self.xbar.mode}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mode = self.xbar.mode
        if mode == "float":
            return F.linear(x, self.weight, self.bias)
        cfg = self.xbar.config
        if mode != "hardware":
            return F.linear(xf.fake_quantize_input_ste(x, cfg), self.xbar.stored_weight(self.weight), self.bias)
        xq, dx = xf.quantize_input_ste(x, cfg)
        wq, dw = xf.quantize_weight_ste(self.weight, cfg.weight_bits)
        lead = x.shape[:-1]
        x2 = xq.reshape(-1, self.in_features)
        y_int = self.xbar.hardware_matmul(x2, wq.detach().t().to(torch.int64).cpu().numpy())
        y = (y_int * (dx * dw)).to(device=x.device, dtype=x.dtype).reshape(*lead, self.out_features)
        if self.bias is not None:
            y = y + self.bias.detach()
        if self.xbar.hardware_grad == "adc":
            y_ref = matmul_surrogate(self.xbar.programmed[1], x2, wq.t()).reshape(*lead, self.out_features)
            y_ref = y_ref * (dx * dw) + (self.bias if self.bias is not None else 0.0)
        else:
            y_ref = F.linear(xq * dx, wq * dw, self.bias)
        return y_ref + (y - y_ref).detach()


class CrossbarConv2d(nn.Conv2d):
    """``nn.Conv2d`` (groups = 1, dilation = 1) mapped onto crossbars via im2col.

    The weight ``(out, in, kh, kw)`` becomes the ``(in*kh*kw, out)`` array matrix whose row order
    matches ``torch.nn.functional.unfold``. Create with :func:`mapping.nn.convert`.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, stride, padding,
                 bias: bool, config: CrossbarConfig, seed: np.random.SeedSequence) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         bias=bias)
        self.xbar = _CrossbarState(config, seed)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mode={self.xbar.mode}"

    def _conv(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, w, self.bias, self.stride, self.padding)

    def _from_columns(self, y: torch.Tensor, batch: int, h_out: int, w_out: int) -> torch.Tensor:
        """``(batch * h_out * w_out, out)`` array outputs to ``(batch, out, h_out, w_out)``, plus
        the bias."""
        y = y.reshape(batch, h_out * w_out, self.out_channels).transpose(1, 2)
        y = y.reshape(batch, self.out_channels, h_out, w_out)
        return y if self.bias is None else y + self.bias[None, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mode = self.xbar.mode
        if mode == "float":
            return self._conv(x, self.weight)
        cfg = self.xbar.config
        if mode != "hardware":
            return self._conv(xf.fake_quantize_input_ste(x, cfg), self.xbar.stored_weight(self.weight))
        xq, dx = xf.quantize_input_ste(x, cfg)
        wq, dw = xf.quantize_weight_ste(self.weight, cfg.weight_bits)
        y_ref = self._conv(xq * dx, wq * dw)
        batch, _, h_out, w_out = y_ref.shape
        cols = F.unfold(xq, self.kernel_size, padding=self.padding, stride=self.stride)
        cols = cols.transpose(1, 2).reshape(batch * h_out * w_out, -1)  # (B*L, in*kh*kw)
        q_matrix = wq.reshape(self.out_channels, -1).t()
        y_int = self.xbar.hardware_matmul(cols.detach(), q_matrix.detach().to(torch.int64).cpu().numpy())
        y = self._from_columns((y_int * (dx * dw)).to(device=x.device, dtype=x.dtype), batch, h_out, w_out)
        if self.xbar.hardware_grad == "adc":
            y_ref = self._from_columns(matmul_surrogate(self.xbar.programmed[1], cols, q_matrix) * (dx * dw),
                                       batch, h_out, w_out)
        return y_ref + (y - y_ref).detach()


CrossbarLayer = CrossbarLinear | CrossbarConv2d
