"""Files: model files (safetensors + JSON), checkpoints, and the atomic writes under both.

Modules, from the bytes up:

- :mod:`~chainrule.io.atomic`: writes that leave either the old file or the new one;
- :mod:`~chainrule.io.safetensors`: a strict reader and writer of the safetensors format;
- :mod:`~chainrule.io.files`: ``save`` and ``load`` of models, and the kinds of model;
- :mod:`~chainrule.io.checkpoint`: everything a training run needs to resume.
"""

from .atomic import atomic_write
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .files import (
    FORMAT,
    FORMAT_VERSION,
    ModelKind,
    expect_arrays,
    load,
    read_container,
    register_kind,
    save,
    write_container,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Checkpoint",
    "ModelKind",
    "atomic_write",
    "expect_arrays",
    "load",
    "load_checkpoint",
    "read_container",
    "register_kind",
    "save",
    "save_checkpoint",
    "write_container",
]
