"""Reference networks: MLP, LeNet-5, ResNet-20 and VGG-11 (CIFAR variants).

Inputs are images in ``[0, 1]`` (not mean-normalized) so that every crossbar layer sees
non-negative activations and unsigned inputs suffice.
"""

from __future__ import annotations

import torch
from torch import nn


def mlp(sizes: tuple[int, ...] = (64, 100, 10)) -> nn.Sequential:
    """Fully connected ReLU network, e.g. 64-100-10 (digits) or 784-100-10 (MNIST).

    Example:
        >>> mlp((64, 100, 10))(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def lenet5(in_channels: int = 1, image_size: int = 8, n_classes: int = 10) -> nn.Sequential:
    """LeNet-5 (LeCun et al. 1998) with ReLU and max pooling; 5x5 convs padded by 2.

    Example:
        >>> lenet5(1, 8)(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """
    feats = nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=2 if image_size < 16 else 0), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
    )
    with torch.no_grad():
        n_flat = feats(torch.zeros(1, in_channels, image_size, image_size)).shape[1]
    return nn.Sequential(*feats, nn.Linear(n_flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, n_classes))


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


def resnet20(n_classes: int = 10, in_channels: int = 3) -> nn.Sequential:
    """ResNet-20 for 32x32 images (He et al. 2016): 3 stages x 3 basic blocks, 16/32/64 channels,
    1x1-conv shortcuts when the shape changes (as in the bit-slice reference's ``--arch resnet``).

    Example:
        >>> resnet20()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    layers: list[nn.Module] = [nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                               nn.ReLU()]
    c_in = 16
    for c_out, stride in ((16, 1), (32, 2), (64, 2)):
        for b in range(3):
            layers.append(_BasicBlock(c_in, c_out, stride if b == 0 else 1))
            c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, n_classes)]
    return nn.Sequential(*layers)


def vgg11(n_classes: int = 10, in_channels: int = 3) -> nn.Sequential:
    """VGG-11 for 32x32 images with FC 512-512-n and dropout (the bit-slice reference's
    ``vgg11_ugly``), BatchNorm after each conv.

    Example:
        >>> vgg11()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    layers: list[nn.Module] = []
    c_in = in_channels
    for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
            c_in = v
    layers += [nn.Flatten(), nn.Dropout(0.5), nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.5),
               nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, n_classes)]
    return nn.Sequential(*layers)


def build_model(name: str, *, in_channels: int, image_size: int, n_classes: int) -> nn.Module:
    """Model by name: ``"mlp"``, ``"lenet5"``, ``"resnet20"``, ``"vgg11"``."""
    if name == "mlp":
        return mlp((in_channels * image_size * image_size, 100, n_classes))
    if name == "lenet5":
        return lenet5(in_channels, image_size, n_classes)
    if name == "resnet20":
        return resnet20(n_classes, in_channels)
    if name == "vgg11":
        return vgg11(n_classes, in_channels)
    from crossbar.errors import ConfigError

    raise ConfigError(f"model name must be one of ['mlp', 'lenet5', 'resnet20', 'vgg11']; got {name!r}.")
