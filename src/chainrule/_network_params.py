"""Network's parameters by name: reading, replacing, freezing and unfreezing them.

:class:`~chainrule.network.Network` inherits these methods from :class:`Parameters`.
Layer ``k`` (counting from 1) holds ``Wk`` and ``bk``; the frozen names are those
that updates leave unchanged. Names and arrays are checked (see
:mod:`chainrule._network_checks`) before anything changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _network_checks as checks

if TYPE_CHECKING:
    from .network import Params


class Parameters:
    """Methods of :class:`~chainrule.network.Network` on its parameters by name.

    They use the network's ``layers``, ``frozen`` set and ``dtype``.
    """

    @property
    def params(self) -> Params:
        """The parameters by name, ``{"W1": ..., "b1": ..., ...}`` (the arrays themselves)."""
        params: Params = {}
        for k, layer in enumerate(self.layers, start=1):
            params[f"W{k}"] = layer.W
            params[f"b{k}"] = layer.b
        return params

    def set_params(self, params: dict[str, Any]) -> None:
        """Replace parameters by name; shapes must match. Checks everything before changing any."""
        for name, array in checks.check_params(self, params).items():
            setattr(self.layers[int(name[1:]) - 1], name[0], array)

    @property
    def trainable(self) -> list[str]:
        """Names of the parameters that updates change (all but the frozen ones)."""
        return [name for name in self.params if name not in self.frozen]

    def freeze(self, *names: str) -> None:
        """Exclude parameters (e.g. ``"b1"``) from updates."""
        self.frozen = self.frozen | checks.check_param_names(self, names, "freeze")

    def unfreeze(self, *names: str) -> None:
        """Let frozen parameters be updated again."""
        self.frozen = self.frozen - checks.check_param_names(self, names, "unfreeze")
