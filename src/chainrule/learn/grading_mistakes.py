"""Each quantity of a step recomputed from the ones it is made of, right or with a mistake.

A learner's answer is judged against what follows from *their own* earlier answers, so
this module recomputes one quantity at a time from a mapping of glossary-named values
(``x, y, Wk, bk, inLk, outLk, e, E, dEdOutLk, dEdInLk, dEdWk, dEdBk, Wk_new, bk_new``).
Every recomputation calls the engine's own pieces: :meth:`Dense.forward
<chainrule.layers.Dense.forward>` and :meth:`~chainrule.layers.Dense.backward_affine`,
the activation's ``value`` and ``backprop``, the loss's ``per_instance`` and
``instance_gradient``, :func:`~chainrule.losses.reduce` and the :class:`~chainrule.SGD`
update. A :class:`Mistake` changes exactly one chain-rule factor of the quantities it
applies to, e.g. ``doutLk/dinLk = f'(inLk)`` left out.

Running :func:`recompute` over a step's quantities in order with a mistake gives the
step a learner who makes that mistake everywhere would write down.

Examples
--------
>>> import numpy as np
>>> from chainrule import Trace, seed_example, train_step
>>> from chainrule.learn.grading_mistakes import MISTAKES, recompute
>>> seed, trace = seed_example(), Trace()
>>> _ = train_step(seed.network, seed.x, seed.y, lr=seed.lr, tracer=trace)
>>> values = dict(trace.items())
>>> recompute("dEdInL2", values, trace.info).round(6)
array([[-0.029155]])
>>> recompute("dEdInL2", values, trace.info, MISTAKES["fprime_forgotten"]).round(6)
array([[-0.153905]])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import Identity
from ..layers import Dense, DenseCache
from ..losses import reduce
from ..optimizers import SGD
from ..trace import Trace

Values = Mapping[str, np.ndarray]

_NAME = re.compile(r"^(inL|outL|dEdOutL|dEdInL|dEdW|dEdB|W|b)(\d+)(_new)?$")


@dataclass(frozen=True)
class Mistake:
    """A common mistake: one chain-rule factor taken wrongly.

    Attributes
    ----------
    key : str
        Its short name, e.g. ``"fprime_forgotten"``.
    title : str
        What the learner did, in words.
    kinds : tuple of str
        The quantities whose own factor it changes: ``"dEdInL"``, ``"W_new"``, ...
    factor : str
        The factor that differs, with ``{k}`` (the layer), ``{a}`` (the layer above,
        k + 1), ``{below}`` (the layer's input), ``{n}`` (instances) and ``{L}`` (the last
        layer) to fill in.
    """

    key: str
    title: str
    kinds: tuple[str, ...]
    factor: str

    def explain(self, name: str, info: Mapping[str, Any], n_samples: int) -> str:
        """The differing factor, spelled out for quantity ``name``."""
        _, k = split(name)
        return self.factor.format(
            k=k, a=k + 1, below=_below(k), n=n_samples, L=int(info["n_layers"])
        )


MISTAKES: dict[str, Mistake] = {
    m.key: m
    for m in (
        Mistake(
            "updated_weights",
            "the layer below used the weights after the update",
            ("dEdOutL",),
            "dEdOutL{k} = dEdInL{a} @ W{a}.T takes W{a} as it was before the update, not W{a}_new",
        ),
        Mistake(
            "fprime_forgotten",
            "f'(inL) forgotten",
            ("dEdInL",),
            "dEdInL{k} = dEdOutL{k} * doutL{k}/dinL{k}: the factor doutL{k}/dinL{k} = "
            "f'(inL{k}) is missing",
        ),
        Mistake(
            "fprime_at_out",
            "f' taken at outL instead of inL",
            ("dEdInL",),
            "the factor doutL{k}/dinL{k} is f'(inL{k}), the derivative at the layer's input, "
            "not f'(outL{k})",
        ),
        Mistake(
            "mean_forgotten",
            "the 1/n of the batch mean forgotten",
            ("dEdOutL_top",),
            "dEdOutL{L} = dE/de * de/doutL{L}, and for the mean of {n} errors dE/de = 1/{n}",
        ),
        Mistake(
            "mean_twice",
            "the 1/n of the batch mean applied twice",
            ("dEdW", "dEdB"),
            "the 1/{n} of the mean is already inside dEdInL{k}; the sum over the instances "
            "that gives dEdW{k} and dEdB{k} is not divided by {n} again",
        ),
        Mistake(
            "wrong_sign",
            "the wrong sign in the update",
            ("W_new", "b_new"),
            "gradient descent steps against the gradient: p_new = p - lr * dE/dp, a minus",
        ),
        Mistake(
            "W_not_transposed",
            "W not transposed",
            ("dEdOutL",),
            "dEdOutL{k} = dEdInL{a} @ W{a}.T: the factor dinL{a}/doutL{k} is W{a} transposed",
        ),
        Mistake(
            "dEdW_transposed",
            "the weight gradient transposed",
            ("dEdW",),
            "dEdW{k} = {below}.T @ dEdInL{k} has the shape of W{k}, (inputs, outputs), "
            "not dEdInL{k}.T @ {below}",
        ),
        Mistake(
            "sum_for_mean",
            "a sum where a mean belongs",
            ("e", "E"),
            "the loss takes a mean here (over the outputs in e, over the {n} instances in E), "
            "not a sum",
        ),
        Mistake(
            "bias_not_summed",
            "the bias gradient not summed over the batch",
            ("dEdB", "b_new"),
            "dEdB{k} = the sum of dEdInL{k} over the {n} instances, one number per neuron",
        ),
    )
}
"""Every mistake the grader can name, by key."""


def split(name: str) -> tuple[str, int]:
    """``"dEdW2" -> ("dEdW", 2)``, ``"W1_new" -> ("W_new", 1)``, ``"e" -> ("e", 0)``."""
    if name in ("e", "E"):
        return name, 0
    match = _NAME.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not a quantity of a training step")
    kind, k, new = match.groups()
    return kind + (new or ""), int(k)


def _below(k: int) -> str:
    return "x" if k == 1 else f"outL{k - 1}"


def _layer(V: Values, info: Mapping[str, Any], k: int, W: np.ndarray | None = None) -> Dense:
    W = np.asarray(V[f"W{k}"]) if W is None else W
    return Dense(W, np.asarray(V[f"b{k}"]), info["activations"][k - 1])


def _cache(V: Values, k: int) -> DenseCache:
    return DenseCache(np.asarray(V[_below(k)]), np.asarray(V[f"inL{k}"]), np.asarray(V[f"outL{k}"]))


def _update(param: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """One plain gradient-descent step through the optimizer (a copy; shapes may broadcast)."""
    shape = np.broadcast_shapes(np.shape(param), np.shape(grad))
    params = {"p": np.array(np.broadcast_to(param, shape), dtype=float)}
    grads = {"p": np.array(np.broadcast_to(grad, shape), dtype=float)}
    optimizer = SGD(lr=lr)
    return optimizer.update(params, grads, optimizer.init(params))[0]["p"]


def applies(mistake: Mistake, name: str, info: Mapping[str, Any], V: Values) -> bool:
    """Whether ``mistake`` can be made in quantity ``name`` of this step at all."""
    kind, k = split(name)
    L, n = int(info["n_layers"]), int(np.shape(V["x"])[0])
    mean_batch = info["reduction"] == "mean" and n > 1
    key = mistake.key
    if key == "mean_forgotten":
        return kind == "dEdOutL" and k == L and mean_batch
    if key == "mean_twice":
        return kind in mistake.kinds and mean_batch
    if key == "bias_not_summed":
        return kind in mistake.kinds and n > 1
    if key in ("updated_weights", "W_not_transposed"):
        return kind == "dEdOutL" and k < L
    if key == "sum_for_mean":
        return (kind == "E" and mean_batch) or (
            kind == "e" and info["loss"].name == "mean_squared_error"
        )
    if key == "wrong_sign":
        return kind in mistake.kinds and name[:-4] not in info["frozen"]
    return kind in mistake.kinds


def recompute(
    name: str, V: Values, info: Mapping[str, Any], mistake: Mistake | None = None
) -> np.ndarray | None:
    """Quantity ``name`` from the values it is made of, as the engine computes it.

    Parameters
    ----------
    name : str
        A glossary name, e.g. ``"dEdInL2"`` or ``"W1_new"``.
    V : mapping of str to array
        The values it depends on, under their glossary names (a trace's, a learner's).
    info : mapping
        A trace's ``info``: ``activations``, ``loss``, ``reduction``, ``lr``,
        ``n_layers``, ``frozen``.
    mistake : Mistake, optional
        Take this factor wrongly.

    Returns
    -------
    array or None
        The value, in the trace's shape (``(n_samples, n_out)`` for per-instance values);
        None when ``mistake`` cannot be made in this quantity (or would need a shape
        that does not fit, such as a non-square W used untransposed).
    """
    if mistake is not None and not applies(mistake, name, info, V):
        return None
    key = mistake.key if mistake is not None else None
    kind, k = split(name)
    acts, loss = info["activations"], info["loss"]
    L, lr = int(info["n_layers"]), float(info["lr"])
    y = np.asarray(V["y"])
    n = int(np.shape(V["x"])[0])
    scale = 1.0 / n if info["reduction"] == "mean" else 1.0
    if kind == "inL":
        return _layer(V, info, k).forward(np.asarray(V[_below(k)]))[1].Z
    if kind == "outL":
        return acts[k - 1].value(np.asarray(V[f"inL{k}"]))
    if kind == "e":
        e = loss.per_instance(y, np.asarray(V[f"outL{L}"]))
        return e * np.shape(y)[1] if key == "sum_for_mean" else e
    if kind == "E":
        reduction = "sum" if key == "sum_for_mean" else info["reduction"]
        return np.asarray(reduce(np.asarray(V["e"]), reduction))
    if kind == "dEdOutL" and k == L:
        factor = 1.0 if key == "mean_forgotten" else scale  # dE/de
        return loss.instance_gradient(y, np.asarray(V[f"outL{L}"])) * factor
    if kind == "dEdInL":
        dA, Z, A = np.asarray(V[f"dEdOutL{k}"]), np.asarray(V[f"inL{k}"]), np.asarray(V[f"outL{k}"])
        if key == "fprime_forgotten":
            return Identity().backprop(dA, Z, A)
        if key == "fprime_at_out":
            return acts[k - 1].backprop(dA, A, acts[k - 1].value(A))
        return acts[k - 1].backprop(dA, Z, A)
    if kind in ("dEdW", "dEdB"):
        dZ = np.asarray(V[f"dEdInL{k}"])
        if key == "bias_not_summed":
            return dZ
        _, dW, db = _layer(V, info, k).backward_affine(dZ, _cache(V, k), need_dA_prev=False)
        grad = dW if kind == "dEdW" else db
        if key == "mean_twice":
            return grad / n
        return grad.T if key == "dEdW_transposed" else grad
    if kind == "dEdOutL":  # k < L: back through W(k+1)
        above, W = k + 1, np.asarray(V[f"W{k + 1}"])
        if key == "updated_weights":
            W = np.asarray(recompute(f"W{above}_new", V, info))
        elif key == "W_not_transposed":
            if W.shape[0] != W.shape[1]:
                return None
            W = W.T
        dZ = np.asarray(V[f"dEdInL{above}"])
        return _layer(V, info, above, W).backward_affine(dZ, _cache(V, above))[0]
    # W_new, b_new
    param = name[:-4]
    if param in info["frozen"]:
        return np.array(V[param], dtype=float)
    grad_name = ("dEdW" if kind == "W_new" else "dEdB") + str(k)
    grad = np.asarray(V[f"dEdInL{k}"] if key == "bias_not_summed" else V[grad_name])
    if grad.ndim == 2 and grad.shape != np.shape(V[param]) and grad.T.shape == np.shape(V[param]):
        grad = grad.T  # a transposed gradient cannot be subtracted until it is turned back
    return _update(np.asarray(V[param]), -grad if key == "wrong_sign" else grad, lr)


def simulate(
    trace: Trace,
    quantities: Iterable[str],
    mistake: Mistake | None = None,
    slips: Mapping[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """The step as a learner who makes ``mistake`` wherever it can be made would work it.

    Each quantity is recomputed, in order, from the learner's own earlier values.

    Parameters
    ----------
    trace : Trace
        The exact step; its ``x``, ``y`` and parameters are the givens.
    quantities : iterable of str
        The step's quantities in the order it computes them.
    mistake : Mistake, optional
        None: the exact step.
    slips : mapping, optional
        Values the learner got wrong by a slip (a misread number, an arithmetic
        error), used as they are; what follows is worked from them.

    Returns
    -------
    dict
        Every quantity's value, by name.
    """
    quantities = list(quantities)
    slips = dict(slips or {})
    values: dict[str, np.ndarray] = {
        name: np.asarray(v) for name, v in trace.items() if name not in quantities
    }
    out = {}
    for name in quantities:
        if name in slips:
            value = np.asarray(slips[name], dtype=float)
        else:
            value = recompute(name, values, trace.info, mistake) if mistake is not None else None
            if value is None:
                value = recompute(name, values, trace.info)
        values[name] = out[name] = np.asarray(value)
    return out


def formula(name: str, info: Mapping[str, Any], n_samples: int) -> str:
    """How quantity ``name`` is made from the ones before it, as the chain rule says."""
    kind, k = split(name)
    L = int(info["n_layers"])
    scale = f"1/{n_samples}" if info["reduction"] == "mean" and n_samples > 1 else "1"
    return {
        "inL": f"inL{k} = {_below(k)} @ W{k} + b{k}",
        "outL": f"outL{k} = f(inL{k}), f = {info['activations'][max(k, 1) - 1].name}",
        "e": f"e = {info['loss'].error_formula} (for each instance)",
        "E": f"E = the {info['reduction']} of e over the instances",
        "dEdInL": f"dEdInL{k} = dEdOutL{k} * doutL{k}/dinL{k} = dEdOutL{k} * f'(inL{k})",
        "dEdW": f"dEdW{k} = dinL{k}/dW{k} . dEdInL{k} = {_below(k)}.T @ dEdInL{k}",
        "dEdB": f"dEdB{k} = the sum over the instances of dEdInL{k}",
        "W_new": f"W{k}_new = W{k} - lr * dEdW{k}",
        "b_new": f"b{k}_new = b{k} - lr * dEdB{k}",
        "dEdOutL": (
            f"dEdOutL{L} = dE/de * de/doutL{L} = {scale} * ({info['loss'].gradient_formula})"
            if k == L
            else f"dEdOutL{k} = dEdInL{k + 1} . dinL{k + 1}/doutL{k} = dEdInL{k + 1} @ W{k + 1}.T"
        ),
    }[kind]
