"""Network: an ordered list of dense layers, with forward, backward and predict.

This module is the network's one class, :class:`Network` (its layers, its parameters by
name, its validated entry points and the engine: ``forward`` and ``backward``), and the
functions that build its layers (from explicit weights, from sizes) and check them.

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

import functools
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from . import checks
from .activations import Activation, get_activation
from .buffers import Buffers
from .checks import Array, as_float_array, check_finite, shape_of
from .initializers import as_generator, initialize
from .layers import Dense, DenseCache, LayerBuffers, check_dropout
from .losses import Loss, batch_error, get_loss, reduce, reduction_scale
from .trace import Tracer

Params = dict[str, Array]


class Network:
    """A feedforward network of :class:`~chainrule.layers.Dense` layers.

    Parameters
    ----------
    layers : sequence of Dense
        Consecutive layers must agree: layer ``k``'s ``n_out`` is layer ``k+1``'s ``n_in``.
    frozen : iterable of str, optional
        Parameter names (e.g. ``{"b1", "b2"}``) that updates leave unchanged. Their
        gradients are still computed and reported.
    """

    def __init__(self, layers: Sequence[Dense], frozen: Iterable[str] = ()) -> None:
        self.layers = check_layers(layers, frozen)
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
        layers = layers_from_weights(weights, biases, activations, dtype, dropout)
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
        layers = layers_from_sizes(sizes, activations, initializer, random_state, dtype, dropout)
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
        return Network(copy_layers(self.layers), frozen=self.frozen)

    def astype(self, dtype: Any) -> Network:
        """A copy of this NumPy network with parameters cast to ``dtype`` (float32 or float64)."""
        return Network(copy_layers(self.layers, dtype), frozen=self.frozen)

    # -- parameters by name -----------------------------------------------------------------
    @property
    def params(self) -> Params:
        """The parameters by name, ``{"W1": ..., "b1": ..., ...}`` (the arrays themselves)."""
        params: Params = {}
        for k, layer in enumerate(self.layers, start=1):
            Wk, bk = param_names(k)
            params[Wk] = layer.W
            params[bk] = layer.b
        return params

    def set_params(self, params: dict[str, Any]) -> None:
        """Replace parameters by name; shapes must match. Checks everything before changing any."""
        for name, array in checks.check_params(params, self.params, self.dtype).items():
            setattr(self.layers[int(name[1:]) - 1], name[0], array)

    @property
    def trainable(self) -> list[str]:
        """Names of the parameters that updates change (all but the frozen ones)."""
        return [name for name in self.params if name not in self.frozen]

    def freeze(self, *names: str) -> None:
        """Exclude parameters (e.g. ``"b1"``) from updates."""
        self.frozen = self.frozen | checks.check_param_names(names, self.params, "freeze")

    def unfreeze(self, *names: str) -> None:
        """Let frozen parameters be updated again."""
        self.frozen = self.frozen - checks.check_param_names(names, self.params, "unfreeze")

    # -- input checks -------------------------------------------------------------------
    def check_X(self, X: Any) -> Array:
        """Validate ``X``: 1-D (one instance) or 2-D ``(n_samples, n_features)``, finite.

        Returns a 2-D array of the network's dtype (NumPy input; arrays of other array
        libraries pass through unconverted).
        """
        return checks.check_X(X, self.dtype, shape_of(self.layers[0].W))

    def check_y(self, y: Any, n_samples: int, single: bool = False) -> Array:
        """Validate ``y`` against ``n_samples`` instances and the output layer's size.

        Accepted: ``(n_samples, n_out)``; ``(n_samples,)`` when ``n_out == 1``; for one
        instance (``single``), ``(n_out,)`` or a scalar when ``n_out == 1``.
        """
        return checks.check_y(y, n_samples, self.dtype, self.n_layers, self.n_outputs, single)

    def check_Xy(self, X: Any, y: Any) -> tuple[Array, Array]:
        """Validate ``X`` and ``y`` together; see :meth:`check_X` and :meth:`check_y`."""
        X = checks.as_input(X, self.dtype)
        single = len(shape_of(X)) == 1
        X = self.check_X(X)
        return X, self.check_y(y, int(X.shape[0]), single)

    # -- validated entry points ------------------------------------------------------------
    def loss_and_grads(
        self,
        X: Any,
        y: Any,
        loss: str | Loss = "half_squared_error",
        reduction: str = "mean",
        tracer: Tracer | None = None,
    ) -> tuple[float, Params]:
        """Validate the input, run forward and backward; return the batch loss and gradients."""
        loss = get_loss(loss)
        reduction_scale(reduction, 1)
        X, y = self.check_Xy(X, y)
        _, caches = self.forward(X, tracer)
        E, grads = self.backward(y, caches, loss, reduction, tracer)
        return float(E), grads

    def loss(
        self, X: Any, y: Any, loss: str | Loss = "half_squared_error", reduction: str = "mean"
    ) -> float:
        """The batch loss of the network on ``(X, y)``, without gradients."""
        loss = get_loss(loss)
        X, y = self.check_Xy(X, y)
        _, caches = self.forward(X)
        return float(reduce(self.instance_errors(y, caches, loss), reduction))

    def predict(self, X: Any) -> Array:
        """The network's output.

        Returns an array of shape ``(n_samples, n_out)`` for a 2-D ``X``, and ``(n_out,)``
        for a 1-D ``x`` (one instance).
        """
        if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[0] > self._chunk_rows():
            return self._predict_in_chunks(X)
        X = checks.as_input(X, self.dtype)
        single = len(shape_of(X)) == 1
        A, _ = self.forward(self.check_X(X))
        return A[0, ...] if single else A  # A[0] alone is NumPy's shorthand, not array-API

    def _chunk_rows(self) -> int:
        # About 4 Mi numbers in the widest layer's activations (32 MiB in float64).
        return max(256, (1 << 22) // max(self.sizes))

    def _predict_in_chunks(self, X: np.ndarray) -> np.ndarray:
        """``predict`` of a large NumPy ``X`` (a memmap too), chunk by chunk: the peak memory
        is the output plus one chunk's activations, not every layer's for every row."""
        if X.shape[1] != self.n_features:
            self.check_X(X[:1])  # the usual message
        rows = self._chunk_rows()
        out = np.empty((X.shape[0], self.n_outputs), dtype=self.dtype)
        for start in range(0, X.shape[0], rows):
            try:
                chunk = self.check_X(X[start : start + rows])
            except ValueError as exc:
                raise ValueError(f"X rows {start}..{start + rows - 1}: {exc}") from None
            out[start : start + rows] = self.forward(chunk)[0]
        return out

    # -- forward and backward -----------------------------------------------------------
    def forward(
        self,
        X: Array,
        tracer: Tracer | None = None,
        *,
        training: bool = False,
        rng: np.random.Generator | None = None,
        buffers: Buffers | None = None,
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
        buffers : Buffers, optional
            Write every layer's ``Z`` and ``A`` into these (see :mod:`chainrule.buffers`);
            the next pass overwrites them. Not with a tracer, which keeps every ``Z``.

        Returns
        -------
        A : array, shape (n_samples, n_out)
            The output of the last layer, the seed's ``outL{L}``.
        caches : list of DenseCache, one per layer
        """
        if tracer is not None:
            _check_no_buffers(buffers)
        # Each layer's buffers for this many rows; None for each without buffers.
        outs: list[Any] = [None] * len(self.layers) if buffers is None else buffers.rows(len(X))
        caches = []
        A = X
        for k, (layer, out) in enumerate(zip(self.layers, outs, strict=True), start=1):
            A, cache = layer.forward(A, training=training, rng=rng, out=out)
            caches.append(cache)
            if tracer is not None:
                tracer.record(f"inL{k}", cache.Z)
                tracer.record(f"outL{k}", cache.A)
        return A, caches

    def instance_errors(
        self, y: Array, caches: list[DenseCache], loss: Loss, out: LayerBuffers | None = None
    ) -> Array:
        """The error of each instance, ``(n_samples,)``, the seed's ``e``.

        A cross-entropy after its matching output activation is computed from the
        logits ``Z``, which stays finite where ``log(A)`` would not. ``out``, the output
        layer's buffers, lets the loss's kernel (:mod:`chainrule.kernels`) write them there.
        """
        top = caches[-1]
        output = self.layers[-1].activation
        kernel = None if out is None else out.loss_kernel(loss, output)
        if kernel is not None:
            return kernel.errors(y, top, out)
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
        buffers: Buffers | None = None,
        scale: float = 1.0,
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
        buffers : Buffers, optional
            The buffers of the :meth:`forward` pass that made ``caches``; the gradients
            are written into ``buffers.grads`` (views of ``buffers.flat``).
        scale : float
            Return the gradients of ``scale * E`` (``E`` itself is not scaled): plain
            SGD passes its learning rate and gets the updates ``lr * g`` for the price of
            the gradients, equal to the gradients times ``lr`` up to rounding.

        Returns
        -------
        E : 0-d array
            The batch loss.
        grads : dict
            ``{"W1": dE/dW1, "b1": dE/db1, ...}``, each the shape of its parameter.
        """
        if tracer is not None:
            _check_no_buffers(buffers)
        n_layers = len(self.layers)
        outs: list[Any] = [None] * n_layers if buffers is None else buffers.rows(len(y))
        top = caches[-1]
        e = self.instance_errors(y, caches, loss, outs[-1])  # the error of each instance
        E, dE_de = batch_error(e, reduction, sample_weight, scale)  # E: their mean or sum
        dZ = self.output_delta(y, caches, loss, dE_de, outs[-1])  # dEdInL{L}
        if tracer is not None:
            tracer.record("e", e)
            tracer.record("E", E)
            dA = loss.instance_gradient(y, top.A) * dE_de  # dEdOutL{L}, shown in the trace
        grads: Params = {}
        for k in range(n_layers, 0, -1):  # layer L down to layer 1
            layer, cache, out = self.layers[k - 1], caches[k - 1], outs[k - 1]
            out_below, (Wk, bk) = outs[k - 2] if k > 1 else None, param_names(k)
            # dEdOutL{k-1} = dEdInLk @ Wk.T, dEdWk = outL{k-1}.T @ dEdInLk, dEdBk = sum(dEdInLk)
            dA_prev, grads[Wk], grads[bk] = layer.backward_affine(
                dZ, cache, need_dA_prev=k > 1, out=out, out_below=out_below
            )
            if tracer is not None:
                tracer.record(f"dEdOutL{k}", dA)
                tracer.record(f"dEdInL{k}", dZ)
                tracer.record(f"dEdW{k}", grads[Wk])
                tracer.record(f"dEdB{k}", grads[bk])
            if k > 1:  # dEdInL{k-1} = dEdOutL{k-1} * f'(inL{k-1})
                below, cache_below = self.layers[k - 2], caches[k - 2]
                dZ = below.backward_activation(dA_prev, cache_below, out_below)
                if tracer is not None:  # dropout: dE/dA of f(Z) is dE/d(output) * mask
                    dA = dA_prev if cache_below.mask is None else dA_prev * cache_below.mask
        if buffers is not None:  # the same arrays, already in the order of self.params
            return E, buffers.grads
        return E, {name: grads[name] for name in self.params}

    def output_delta(
        self,
        y: Array,
        caches: list[DenseCache],
        loss: Loss,
        dE_de: Any,
        out: LayerBuffers | None = None,
    ) -> Array:
        """The output layer's ``dE/dZ``, the seed's ``dEdInL{L}``, handed over by the loss.

        ``dE_de`` is from :func:`~chainrule.losses.batch_error`; see
        :meth:`Loss.output_delta <chainrule.losses.Loss.output_delta>`. ``out``, the
        output layer's buffers, lets the loss's kernel (:mod:`chainrule.kernels`) write it
        into ``out.delta``.
        """
        top, output = caches[-1], self.layers[-1].activation
        kernel = None if out is None else out.loss_kernel(loss, output)
        if kernel is not None:
            return kernel.delta(y, top, dE_de, out, output)
        return loss.output_delta(y, top.Z, top.A, output, dE_de)


@functools.cache
def param_names(k: int) -> tuple[str, str]:
    """``("Wk", "bk")``, the names of layer ``k``'s parameters (made once: every
    mini-batch names them)."""
    return f"W{k}", f"b{k}"


def _check_no_buffers(buffers: Buffers | None) -> None:
    """With a tracer: there must be no buffers."""
    if buffers is not None:
        raise ValueError("a tracer keeps every array, which buffers overwrite: pass one")


# -- building and checking the layers ----------------------------------------------------------


def per_layer(value: Any, n_layers: int, name: str) -> list[Any]:
    """One value for every layer: a single value is repeated, a list must match in length."""
    if isinstance(value, str | Activation) or not isinstance(value, Sequence):
        return [value] * n_layers
    if len(value) != n_layers:
        raise ValueError(f"{name} must name one per layer: {n_layers} expected, got {len(value)}")
    return list(value)


def dropout_rates(dropout: float | Sequence[float], n_layers: int) -> list[float]:
    """One rate per layer: the hidden layers' rates, then 0 for the output layer."""
    if isinstance(dropout, Sequence) and not isinstance(dropout, str):
        if len(dropout) != n_layers - 1:
            raise ValueError(
                f"dropout must give one rate per hidden layer: {n_layers - 1} expected, "
                f"got {len(dropout)}"
            )
        rates = [check_dropout(rate, f"dropout[{i}]") for i, rate in enumerate(dropout)]
    else:
        rates = [check_dropout(dropout)] * (n_layers - 1)
    return [*rates, 0.0]


def check_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy dtype, if it is float32 or float64; else raise."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def check_layers(layers: Any, frozen: Any) -> list[Dense]:
    """Validate the arguments of ``Network(layers, frozen)``; return the layers as a list."""
    if isinstance(layers, str | bytes) or not isinstance(layers, Iterable):
        raise TypeError(f"layers must be a sequence of Dense layers, got {layers!r:.40}")
    layers = list(layers)
    if not layers:
        raise ValueError("layers must hold at least one Dense layer, got none")
    for k, layer in enumerate(layers, start=1):
        if not isinstance(layer, Dense):
            raise TypeError(f"layers[{k - 1}] must be a Dense layer, got {layer!r:.40}")
    if isinstance(frozen, str) or not isinstance(frozen, Iterable):
        # A string would be read as its letters: "b1" -> {"b", "1"}.
        raise TypeError(f"frozen must be a list of parameter names, got {frozen!r:.40}")
    for k, (below, above) in enumerate(pairwise(layers), start=1):
        if below.n_out != above.n_in:
            raise ValueError(
                f"layer {k + 1}: W{k + 1} has shape {shape_of(above.W)}, so it expects "
                f"{above.n_in} inputs, but layer {k} has {below.n_out} outputs"
            )
    if layers[-1].dropout:
        raise ValueError(
            f"the output layer (layer {len(layers)}) cannot have dropout, got "
            f"dropout={layers[-1].dropout}; dropout applies to hidden layers"
        )
    return layers


def layers_from_weights(
    weights: Sequence[Any],
    biases: Sequence[Any],
    activations: str | Activation | Sequence[str | Activation],
    dtype: Any,
    dropout: float | Sequence[float],
) -> list[Dense]:
    """The layers of :meth:`Network.from_weights <chainrule.network.Network.from_weights>`."""
    for name, value in (("weights", weights), ("biases", biases)):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
            raise TypeError(f"{name} must be a list with one array per layer, got {value!r:.40}")
    if len(weights) != len(biases):
        raise ValueError(
            f"weights and biases must have one entry per layer: got {len(weights)} "
            f"weight matrices and {len(biases)} bias vectors"
        )
    arrays = [as_float_array(w, f"W{k}") for k, w in enumerate(weights, start=1)]
    if dtype is None:
        float32 = all(getattr(w, "dtype", None) == np.float32 for w in arrays)
        dtype = np.float32 if float32 else np.float64
    dtype = check_dtype(dtype)
    acts = per_layer(activations, len(weights), "activations")
    rates = dropout_rates(dropout, len(weights))
    layers = []
    for k, (W, b, act) in enumerate(zip(arrays, biases, acts, strict=True), start=1):
        W = np.array(W, dtype=dtype, copy=True)
        if W.ndim != 2 or 0 in W.shape:
            raise ValueError(
                f"layer {k}: W{k} must be 2-D (n_in, n_out) with n_in, n_out >= 1, "
                f"got shape {W.shape}"
            )
        check_finite(W, f"W{k}")
        b = np.array(as_float_array(b, f"b{k}"), dtype=dtype, copy=True)
        if b.ndim == 0 and W.shape[1] == 1:
            b = b.reshape(1)
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"layer {k}: b{k} must have shape ({W.shape[1]},), one bias per column "
                f"of W{k} {W.shape}, got shape {b.shape}"
            )
        check_finite(b, f"b{k}")
        act = get_activation(act, f"layer {k} activation")
        layers.append(Dense(W, b, act, dropout=rates[k - 1]))
    return layers


def layers_from_sizes(
    sizes: Sequence[int],
    activations: str | Activation | Sequence[str | Activation],
    initializer: str,
    random_state: int | np.random.Generator | None,
    dtype: Any,
    dropout: float | Sequence[float],
) -> list[Dense]:
    """The layers of :meth:`Network.from_sizes <chainrule.network.Network.from_sizes>`."""
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence | np.ndarray):
        raise TypeError(f"sizes must be a list of layer sizes, got {sizes!r:.40}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list n_features and at least one layer, got {sizes}")
    for i, n in enumerate(sizes):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"sizes[{i}] must be a positive integer, got {n!r}")
    dtype = check_dtype(dtype)
    rng = as_generator(random_state)
    acts = per_layer(activations, len(sizes) - 1, "activations")
    rates = dropout_rates(dropout, len(sizes) - 1)
    return [
        Dense(
            initialize(initializer, n_in, n_out, rng, dtype),
            np.zeros(n_out, dtype=dtype),
            get_activation(act, f"layer {k} activation"),
            dropout=rate,
        )
        for k, (n_in, n_out, act, rate) in enumerate(
            zip(sizes, sizes[1:], acts, rates, strict=False), start=1
        )
    ]


def copy_layers(layers: Sequence[Dense], dtype: Any = None) -> list[Dense]:
    """Copies of ``layers`` with copied parameters, cast to ``dtype`` (NumPy only) if given."""
    if dtype is not None:
        dtype = check_dtype(dtype)
        return [
            Dense(
                np.array(layer.W, dtype=dtype),
                np.array(layer.b, dtype=dtype),
                layer.activation,
                dropout=layer.dropout,
            )
            for layer in layers
        ]
    xp = array_namespace(layers[0].W)
    return [
        Dense(
            xp.asarray(layer.W, copy=True),
            xp.asarray(layer.b, copy=True),
            layer.activation,
            dropout=layer.dropout,
        )
        for layer in layers
    ]
