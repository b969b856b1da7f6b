"""Network: an ordered list of dense layers, with forward, backward and predict.

Parameters and gradients are flat mappings with the same keys, ``W1, b1, W2, b2, ...``;
layer ``k`` (counting from 1, as in the seed) holds ``Wk`` of shape ``(n_in, n_out)``
and ``bk`` of shape ``(n_out,)``.

Examples
--------
The seed notebook's network, built from its weights:

>>> from chainrule import Network
>>> net = Network.from_weights(
...     weights=[[[0.15, 0.2], [0.24, 0.3]], [[-0.4], [0.5]]],
...     biases=[[1, 1], [1]],
...     activations="sigmoid",
... )
>>> net
Network(2-2-1, activations=sigmoid-sigmoid, dtype=float64)
>>> net.predict([0.5, 0.1]).round(6)
array([0.746095])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import _network_build as build
from ._network_entry import ValidatedEntryPoints
from ._network_params import Parameters
from .activations import Activation
from .checks import Array
from .layers import Dense, DenseCache
from .losses import Loss, batch_error
from .trace import Tracer

Params = dict[str, Array]


class Network(Parameters, ValidatedEntryPoints):
    """A feedforward network of :class:`~chainrule.layers.Dense` layers.

    Parameters
    ----------
    layers : sequence of Dense
        Consecutive layers must agree: layer ``k``'s ``n_out`` is layer ``k+1``'s ``n_in``.
    frozen : iterable of str, optional
        Parameter names (e.g. ``{"b1", "b2"}``) that updates leave unchanged. Their
        gradients are still computed and reported.
    """

    # This class holds the layers, how to build, describe and copy them, and the engine
    # (forward, backward). Inherited: the parameters by name (params, set_params,
    # trainable, freeze, unfreeze) from Parameters in _network_params.py; the input
    # checks (check_X, check_y, check_Xy) and the validated entry points
    # (loss_and_grads, loss, predict) from ValidatedEntryPoints in _network_entry.py.

    def __init__(self, layers: Sequence[Dense], frozen: Iterable[str] = ()) -> None:
        self.layers = build.check_layers(layers, frozen)
        self.frozen: frozenset[str] = frozenset()
        self.freeze(*frozen)

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[Any],
        biases: Sequence[Any],
        activations: str | Activation | Sequence[str | Activation] = "sigmoid",
        *,
        dtype: Any = None,
        frozen: Iterable[str] = (),
        dropout: float | Sequence[float] = 0.0,
    ) -> Network:
        """Build a network from explicit weights, as the seed notebook does.

        Parameters
        ----------
        weights : sequence of array-like, each (n_in, n_out)
        biases : sequence of array-like, each (n_out,); a scalar is accepted when n_out == 1
        activations : str, Activation or a sequence of them, one per layer
        dtype : numpy dtype, optional
            float32 or float64; by default float64 unless every weight is float32.
        frozen : iterable of str
            Parameters to keep fixed during updates.
        dropout : float or sequence of float
            Inverted-dropout rate of every hidden layer, or one rate per hidden layer.
        """
        layers = build.layers_from_weights(weights, biases, activations, dtype, dropout)
        return cls(layers, frozen=frozen)

    @classmethod
    def from_sizes(
        cls,
        sizes: Sequence[int],
        activations: str | Activation | Sequence[str | Activation] = "sigmoid",
        *,
        initializer: str = "glorot_uniform",
        random_state: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
        frozen: Iterable[str] = (),
        dropout: float | Sequence[float] = 0.0,
    ) -> Network:
        """Build a network from layer sizes with seeded random weights and zero biases.

        Parameters
        ----------
        sizes : sequence of int
            ``[n_features, n_hidden_1, ..., n_out]``; at least two entries.
        activations : str, Activation or a sequence of them, one per layer
        initializer : str
            See :mod:`chainrule.initializers`.
        random_state : int, numpy.random.Generator or None
            The same seed gives the same weights.
        dropout : float or sequence of float
            Inverted-dropout rate of every hidden layer, or one rate per hidden layer.
        """
        layers = build.layers_from_sizes(
            sizes, activations, initializer, random_state, dtype, dropout
        )
        return cls(layers, frozen=frozen)

    # -- description --------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of layers."""
        return len(self.layers)

    @property
    def n_features(self) -> int:
        """Inputs per instance (``n_in`` of layer 1)."""
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        """Outputs per instance (``n_out`` of the last layer)."""
        return self.layers[-1].n_out

    @property
    def sizes(self) -> list[int]:
        """``[n_features, n_out of layer 1, ..., n_out of layer L]``."""
        return [self.n_features] + [layer.n_out for layer in self.layers]

    @property
    def dtype(self) -> Any:
        """The floating dtype of the parameters."""
        return self.layers[0].W.dtype

    def __repr__(self) -> str:
        sizes = "-".join(str(n) for n in self.sizes)
        acts = "-".join(layer.activation.name for layer in self.layers)
        frozen = f", frozen={sorted(self.frozen)}" if self.frozen else ""
        rates = [layer.dropout for layer in self.layers[:-1]]
        dropout = f", dropout={rates}" if any(rates) else ""
        return f"Network({sizes}, activations={acts}, dtype={self.dtype}{frozen}{dropout})"

    # -- copies ---------------------------------------------------------------------------
    def copy(self) -> Network:
        """A deep copy: same architecture, copied parameters, same frozen set."""
        return Network(build.copy_layers(self.layers), frozen=self.frozen)

    def astype(self, dtype: Any) -> Network:
        """A copy of this NumPy network with parameters cast to ``dtype`` (float32 or float64)."""
        return Network(build.copy_layers(self.layers, dtype), frozen=self.frozen)

    # -- forward and backward -----------------------------------------------------------
    def forward(
        self,
        X: Array,
        tracer: Tracer | None = None,
        *,
        training: bool = False,
        rng: np.random.Generator | None = None,
    ) -> tuple[Array, list[DenseCache]]:
        """Run every layer. ``X`` must already be 2-D and of the network's dtype.

        Parameters
        ----------
        X : array, shape (n_samples, n_features)
        tracer : Tracer, optional
            Records ``inLk`` and ``outLk`` for every layer.
        training : bool
            Apply the layers' dropout (off by default: inference).
        rng : numpy.random.Generator, optional
            Draws the dropout masks; required when ``training`` and a layer has dropout.

        Returns
        -------
        A : array, shape (n_samples, n_out)
            The output of the last layer, the seed's ``outL{L}``.
        caches : list of DenseCache, one per layer
        """
        caches = []
        A = X
        for k, layer in enumerate(self.layers, start=1):
            A, cache = layer.forward(A, training=training, rng=rng)
            caches.append(cache)
            if tracer is not None:
                tracer.record(f"inL{k}", cache.Z)
                tracer.record(f"outL{k}", cache.A)
        return A, caches

    def instance_errors(self, y: Array, caches: list[DenseCache], loss: Loss) -> Array:
        """The error of each instance, ``(n_samples,)``, the seed's ``e``.

        A cross-entropy after its matching output activation is computed from the
        logits ``Z``, which stays finite where ``log(A)`` would not.
        """
        top = caches[-1]
        if loss.fused(self.layers[-1].activation):
            return loss.per_instance_from_logits(y, top.Z)
        return loss.per_instance(y, top.A)

    def backward(
        self,
        y: Array,
        caches: list[DenseCache],
        loss: Loss,
        reduction: str = "mean",
        tracer: Tracer | None = None,
        *,
        sample_weight: Array | None = None,
    ) -> tuple[Array, Params]:
        """Compute the loss and every gradient, from the last layer down to the first.

        Parameters
        ----------
        y : array, shape (n_samples, n_out)
        caches : list of DenseCache
            From :meth:`forward`.
        loss : Loss
        reduction : {"mean", "sum"}
            The batch loss is the mean (default) or the sum of the per-instance errors.
        tracer : Tracer, optional
            Records ``e``, ``E`` and ``dEdOutLk, dEdInLk, dEdWk, dEdBk`` for k = L..1.
        sample_weight : array, shape (n_samples,), optional
            Non-negative weights ``w`` of the instances: the batch loss becomes
            ``sum(w * e) / sum(w)`` ("mean") or ``sum(w * e)`` ("sum"). Not validated
            here (the fit loop checks it once).

        Returns
        -------
        E : 0-d array
            The batch loss.
        grads : dict
            ``{"W1": dE/dW1, "b1": dE/db1, ...}``, each the shape of its parameter.
        """
        top = caches[-1]
        e = self.instance_errors(y, caches, loss)
        E, scale = batch_error(e, reduction, sample_weight)
        if loss.fused(self.layers[-1].activation):
            dZ = loss.instance_gradient_from_logits(y, top.Z, top.A) * scale
            # dE/dA is shown in a trace, but the fused dZ = A - y never needs it.
            dA = loss.instance_gradient(y, top.A) * scale if tracer is not None else None
        else:
            dA = loss.instance_gradient(y, top.A) * scale
            dZ = None
        if tracer is not None:
            tracer.record("e", e)
            tracer.record("E", E)
        grads: Params = {}
        for k in range(self.n_layers, 0, -1):
            layer, cache = self.layers[k - 1], caches[k - 1]
            if dZ is None:
                if cache.mask is not None:  # dropout: dE/dA of f(Z) is dE/d(output) * mask
                    dA = dA * cache.mask
                dZ = layer.activation.backprop(dA, cache.Z, cache.A)
            dA_prev, layer_grads = layer.backward_from_dZ(dZ, cache, need_dA_prev=k > 1)
            grads[f"W{k}"], grads[f"b{k}"] = layer_grads["W"], layer_grads["b"]
            if tracer is not None:
                tracer.record(f"dEdOutL{k}", dA)
                tracer.record(f"dEdInL{k}", dZ)
                tracer.record(f"dEdW{k}", layer_grads["W"])
                tracer.record(f"dEdB{k}", layer_grads["b"])
            dA, dZ = dA_prev, None
        return E, {name: grads[name] for name in self.params}
