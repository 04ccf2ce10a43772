"""The pose2rot network (needs torch and the other packages of ``LEARNED_PACKAGES``).

Importing this package does not import torch; the torch-backed names
(``Pose2RotMemoryRestModel``, ``batch_to_torch``) load on first access and raise
:class:`MissingDependencyError` when torch is missing. ``params`` (configuration checks,
parameter counts) never needs torch.
"""
from __future__ import annotations

import shlex
import sys
from typing import Any

from ..errors import MissingDependencyError
from .params import DEFAULT_PARAMS, RELEASED_PARAMS, cross_layer_count, parameter_count, resolve_params

#: what the learned model needs on top of numpy (the ``learned`` extra of pose2rot-core)
LEARNED_PACKAGES = ("torch", "transformers", "safetensors", "pyyaml", "tokenizers", "sentencepiece")


def pip_install_command(python: str) -> str:
    """The command that installs the learned model's dependencies into ``python``."""
    return f"{python} -m pip install {' '.join(LEARNED_PACKAGES)}"


#: the install advice of every missing-package error: the packages themselves, into this interpreter,
#: which works however the core was installed (a wheel, Blender's extension, a checkout)
INSTALL_HINT = f"install the learned model's packages into this Python with: {pip_install_command(shlex.quote(sys.executable))}"
_TORCH_NAMES = ("Pose2RotMemoryRestModel", "batch_to_torch")


def require_torch():
    """Import and return torch, or raise MissingDependencyError naming the install command."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(f"the learned model needs PyTorch: {INSTALL_HINT}") from None
    return torch


def __getattr__(name: str) -> Any:
    if name in _TORCH_NAMES:
        require_torch()
        from . import network
        return getattr(network, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Pose2RotMemoryRestModel", "batch_to_torch", "DEFAULT_PARAMS", "RELEASED_PARAMS", "resolve_params",
           "cross_layer_count", "parameter_count", "require_torch", "INSTALL_HINT", "LEARNED_PACKAGES",
           "pip_install_command"]
