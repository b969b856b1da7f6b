"""How far two float64 implementations of one training step may differ: a running error
bound (Wilkinson's running error analysis) of the play page's arithmetic.

Each quantity is carried as a value and a bound on its distance from the exact result:
inputs are exact; each operation adds what the rounding of its own result may cost and
passes on its inputs' bounds through the operation (to first order plus the product of
bounds, which keeps every step an upper bound). A sum or dot product of ``n`` terms
costs ``gamma(n) * sum(|term|)`` (Higham, *Accuracy and Stability of Numerical
Algorithms*, section 3.1): that is what makes the bound sound where terms cancel, and
tight where they do not. ``exp``, ``log``, ``log1p`` and ``tanh`` are taken as correct
to ``FN_ULPS`` units in the last place (V8's fdlibm and glibc/NumPy's loops are within
one or two).

The operations are those of ``chainrule/learn/play.js``'s ``trainStep`` in its order, so
the bound is one of the page's error. chainrule's engine computes the same formulas
(the page mirrors it name for name), so both lie within the bound of the exact values
and their difference within twice the bound; ``step`` also returns the values computed
here, which the tests compare with the engine's to check this mirror itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

U = 2.0**-53  # the unit roundoff of float64
FN_ULPS = 4
FN = FN_ULPS * 2 * U  # one ulp is at most 2u relative


def gamma(n: int) -> float:
    return n * U / (1 - n * U)


@dataclass
class B:
    """A float64 array ``v`` and a bound ``r`` (same shape) on ``|v - exact|``."""

    v: np.ndarray
    r: np.ndarray

    @staticmethod
    def exact(a: Any) -> B:
        v = np.asarray(a, dtype=np.float64)
        return B(v, np.zeros_like(v))

    def __add__(self, o: B) -> B:
        v = self.v + o.v
        return B(v, self.r + o.r + U * np.abs(v))

    def __sub__(self, o: B) -> B:
        v = self.v - o.v
        return B(v, self.r + o.r + U * np.abs(v))

    def __mul__(self, o: B) -> B:
        v = self.v * o.v
        r = np.abs(self.v) * o.r + self.r * np.abs(o.v) + self.r * o.r
        return B(v, r + U * np.abs(v))

    def __truediv__(self, o: B) -> B:
        v = self.v / o.v
        low = np.abs(o.v) - o.r
        assert np.all(low > 0), "a divisor within its bound of 0"
        return B(v, (self.r + np.abs(v) * o.r) / low + U * np.abs(v))

    def __neg__(self) -> B:
        return B(-self.v, self.r)

    def __getitem__(self, index: Any) -> B:
        return B(self.v[index], self.r[index])

    @property
    def T(self) -> B:
        return B(self.v.T, self.r.T)


def const(c: float, like: B) -> B:
    return B(np.full_like(like.v, c), np.zeros_like(like.v))


def matmul(a: B, b: B) -> B:
    """``a @ b`` accumulated term by term: gamma(n) of the sum of |terms| for its rounding."""
    n = a.v.shape[-1]
    v = a.v @ b.v
    moved = a.r @ np.abs(b.v) + np.abs(a.v) @ b.r + a.r @ b.r
    return B(v, moved + gamma(n) * (np.abs(a.v) @ np.abs(b.v)))


def total(a: B, axis: int) -> B:
    """The sum along ``axis``, accumulated left to right."""
    n = a.v.shape[axis]
    return B(
        a.v.sum(axis=axis),
        a.r.sum(axis=axis) + gamma(max(n - 1, 0)) * np.abs(a.v).sum(axis=axis),
    )


def _fn(v: np.ndarray, moved: np.ndarray) -> B:
    return B(v, moved + FN * np.abs(v))


def exp(a: B) -> B:
    v = np.exp(a.v)
    return _fn(v, v * np.expm1(a.r))


def log(a: B) -> B:
    low = a.v - a.r
    assert np.all(low > 0), "log of a value within its bound of 0"
    return _fn(np.log(a.v), np.log1p(a.r / low))


def log1p(a: B) -> B:
    low = 1 + a.v - a.r
    assert np.all(low > 0)
    return _fn(np.log1p(a.v), np.log1p(a.r / low))


def _nearest_zero(a: B) -> np.ndarray:
    """The |z| nearest 0 within ``a``'s bound: where a derivative falling with |z| peaks."""
    return np.maximum(np.abs(a.v) - a.r, 0.0)


def tanh(a: B) -> B:
    v = np.tanh(a.v)
    slope = 1 - np.tanh(_nearest_zero(a)) ** 2
    return _fn(v, slope * a.r)


def absolute(a: B) -> B:
    return B(np.abs(a.v), a.r)


def relu(a: B) -> B:
    return B(np.maximum(a.v, 0.0), a.r)  # exact, 1-Lipschitz


def where_positive(a: B, pos: B, neg: B) -> B:
    """``pos`` where ``a > 0`` else ``neg``, for a function continuous at 0 (the bounds of
    both sides are taken where ``a`` is within its bound of 0)."""
    near = np.abs(a.v) <= a.r
    v = np.where(a.v > 0, pos.v, neg.v)
    r = np.where(a.v > 0, pos.r, neg.r)
    return B(v, np.where(near, np.maximum(pos.r, neg.r) + np.abs(pos.v - neg.v), r))


def row_max(a: B) -> B:
    i = np.argmax(a.v, axis=1)
    rows = np.arange(a.v.shape[0])
    return B(a.v[rows, i][:, None], a.r.max(axis=1)[:, None])  # max is 1-Lipschitz


def sigmoid(z: B) -> B:
    e = exp(-absolute(z))
    one = const(1.0, e)
    return where_positive(z, one / (one + e), e / (one + e))


def softplus(z: B) -> B:
    return relu(z) + log1p(exp(-absolute(z)))


def softmax(Z: B) -> B:
    top = row_max(Z)
    e = exp(Z - B(np.broadcast_to(top.v, Z.v.shape), np.broadcast_to(top.r, Z.v.shape)))
    s = total(e, 1)
    return e / B(np.broadcast_to(s.v[:, None], Z.v.shape), np.broadcast_to(s.r[:, None], Z.v.shape))


def _rows(a: B, shape: tuple[int, ...]) -> B:
    """A per-row column ``a`` (n,) broadcast to ``shape`` (n, k)."""
    return B(np.broadcast_to(a.v[:, None], shape), np.broadcast_to(a.r[:, None], shape))


def _bias(b: B, shape: tuple[int, ...]) -> B:
    return B(np.broadcast_to(b.v, shape), np.broadcast_to(b.r, shape))


def clip_p(p: B) -> B:
    low, high = np.finfo(np.float64).smallest_normal, 1 - np.finfo(np.float64).eps / 2
    return B(np.clip(p.v, low, high), p.r)  # clipping is 1-Lipschitz


def activation_value(act: Any, Z: B) -> B:
    name, alpha = (act["name"], act["alpha"]) if isinstance(act, dict) else (act, None)
    if name == "sigmoid":
        return sigmoid(Z)
    if name == "tanh":
        return tanh(Z)
    if name == "relu":
        return relu(Z)
    if name == "leaky_relu":
        return where_positive(Z, Z, const(alpha, Z) * Z)
    if name == "softplus":
        return softplus(Z)
    if name == "identity":
        return Z
    assert name == "softmax", name
    return softmax(Z)


def activation_backprop(act: Any, dA: B, Z: B, A: B) -> B:
    name, alpha = (act["name"], act["alpha"]) if isinstance(act, dict) else (act, None)
    one = const(1.0, A)
    if name == "sigmoid":
        return dA * (A * (one - A))
    if name == "tanh":
        return dA * (one - A * A)
    if name in ("relu", "leaky_relu"):
        # f' jumps at 0: the bound holds while no Z is within its bound of the kink.
        assert not np.any(np.abs(Z.v) <= Z.r), "Z within its bound of the kink"
        if name == "relu":
            return dA * B.exact(np.where(Z.v > 0, 1.0, 0.0))
        a = const(alpha, Z)
        one_side = (const(1.0, Z) - a) + a  # the page's (1 - alpha) + alpha, rounded
        return dA * B(np.where(Z.v > 0, one_side.v, alpha), np.where(Z.v > 0, one_side.r, 0.0))
    if name == "softplus":
        return dA * sigmoid(Z)
    if name == "identity":
        return dA
    assert name == "softmax", name
    dot = total(dA * A, 1)
    return A * (dA - _rows(dot, A.v.shape))


def bce_logits(y: B, Z: B) -> B:
    terms = relu(Z) - y * Z + log1p(exp(-absolute(Z)))
    return total(terms, 1)


def ce_logits(y: B, Z: B) -> B:
    top = row_max(Z)
    shape = Z.v.shape
    lse = top[:, 0] + log(total(exp(Z - _rows(top[:, 0], shape)), 1))
    return total(y, 1) * lse - total(y * Z, 1)


def per_instance(loss: str, logits: bool, y: B, yhat: B) -> B:
    if loss in ("half_squared_error", "mean_squared_error"):
        d = y - yhat
        s = total(d * d, 1)
        return s * B.exact(0.5) if loss == "half_squared_error" else s / const(yhat.v.shape[1], s)
    if loss == "binary_cross_entropy":
        if logits:
            return bce_logits(y, yhat)
        P = clip_p(yhat)
        one = const(1.0, P)
        return -total(y * log(P) + (one - y) * log(one - P), 1)
    assert loss == "cross_entropy", loss
    if logits:
        return ce_logits(y, yhat)
    return -total(y * log(clip_p(yhat)), 1)


def gradient(loss: str, logits: bool, y: B, yhat: B) -> B:
    if loss == "half_squared_error":
        return yhat - y
    if loss == "mean_squared_error":
        return (yhat - y) * const(2.0 / yhat.v.shape[1], y)
    if loss == "binary_cross_entropy":
        if logits:
            return sigmoid(yhat) - y
        P = clip_p(yhat)
        return (P - y) / (P * (const(1.0, P) - P))
    if logits:
        return ce_from_logits_gradient(y, softmax(yhat))
    return -(y / clip_p(yhat))


def ce_from_logits_gradient(y: B, A: B) -> B:
    return A * _rows(total(y, 1), A.v.shape) - y


FUSES = {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax"}


def _name(act: Any) -> str:
    return act["name"] if isinstance(act, dict) else act


def forward(acts: list[Any], Ws: list[B], bs: list[B], x: B) -> list[tuple[B, B, B]]:
    caches, A = [], x
    for act, W, b in zip(acts, Ws, bs, strict=True):
        Z0 = matmul(A, W)
        Z = Z0 + _bias(b, Z0.v.shape)
        out = activation_value(act, Z)
        caches.append((A, Z, out))
        A = out
    return caches


def step(
    case: dict[str, Any], Ws: list[B], bs: list[B], lr: float
) -> tuple[dict[str, B], list[B], list[B]]:
    """One training step of ``case`` (``tests/test_learn_play_browser.random_case``'s
    settings) from weights ``Ws``, ``bs``: each traced quantity's value and bound, and the
    new weights. Chained over several steps the bound compounds far past any real
    difference (the tests use it for one step)."""
    acts, loss, logits = case["acts"], case["loss"], case["from_logits"]
    x, y = B.exact(case["x"]), B.exact(case["y"])
    n, L, l2 = x.v.shape[0], len(acts), case["l2"]
    fused = not logits and FUSES.get(loss) == _name(acts[-1])
    out: dict[str, B] = {"x": x, "y": y}
    for k, (W, b) in enumerate(zip(Ws, bs, strict=True), start=1):
        out[f"W{k}"], out[f"b{k}"] = W, b
    caches = forward(acts, Ws, bs, x)
    for k, (_, Z, A) in enumerate(caches, start=1):
        out[f"inL{k}"], out[f"outL{k}"] = Z, A
    _, Z_top, A_top = caches[-1]

    def errors(Z: B, A: B) -> B:
        return per_instance(loss, True, y, Z) if fused else per_instance(loss, logits, y, A)

    def batch(e: B) -> B:
        s = total(e[:, None].T, 1)[0]
        return s / B.exact(float(n)) if case["reduction"] == "mean" else s

    e = errors(Z_top, A_top)
    E = batch(e)
    scale = B.exact(1.0 / n if case["reduction"] == "mean" else 1.0)
    dA = gradient(loss, logits, y, A_top) * _full(scale, A_top)
    dZ = None
    if fused:
        delta = A_top - y if loss == "binary_cross_entropy" else ce_from_logits_gradient(y, A_top)
        dZ = delta * _full(scale, A_top)
    out["e"], out["E"] = e, E
    grads = {}
    for k in range(L, 0, -1):
        A_prev, Z, A = caches[k - 1]
        if dZ is None:
            dZ = activation_backprop(acts[k - 1], dA, Z, A)
        grads[f"W{k}"] = matmul(A_prev.T, dZ)
        grads[f"b{k}"] = total(dZ, 0)
        out[f"dEdOutL{k}"], out[f"dEdInL{k}"] = dA, dZ
        out[f"dEdW{k}"], out[f"dEdB{k}"] = grads[f"W{k}"], grads[f"b{k}"]
        dA = matmul(dZ, Ws[k - 1].T) if k > 1 else None
        dZ = None
    if l2:
        whole = E + penalty(Ws, l2)
        out["E_data"], out["penalty"], out["E"] = E, whole - E, whole
        for k in range(1, L + 1):
            out[f"dEdW{k}_data"] = grads[f"W{k}"]
            grads[f"W{k}"] = grads[f"W{k}"] + _full(B.exact(l2), Ws[k - 1]) * Ws[k - 1]
            out[f"dEdW{k}"] = grads[f"W{k}"]
    rate = B.exact(lr)
    new_Ws, new_bs = [], []
    for k in range(1, L + 1):
        W, b = Ws[k - 1], bs[k - 1]
        if f"W{k}" not in case["frozen"]:
            W = W - _full(rate, W) * grads[f"W{k}"]
        if f"b{k}" not in case["frozen"]:
            b = b - _full(rate, b) * grads[f"b{k}"]
        out[f"W{k}_new"], out[f"b{k}_new"] = W, b
        new_Ws.append(W)
        new_bs.append(b)
    _, Z_new, A_new = forward(acts, new_Ws, new_bs, x)[-1]
    out["e_new"] = errors(Z_new, A_new)
    E_new = batch(out["e_new"])
    out["E_new"] = E_new + penalty(new_Ws, l2) if l2 else E_new
    return out, new_Ws, new_bs


def _full(c: B, like: B) -> B:
    return B(np.full_like(like.v, c.v), np.full_like(like.v, c.r))


def penalty(Ws: list[B], l2: float) -> B:
    """``0.5 * l2 * sum_k sum(Wk * Wk)``, each layer's sum taken first."""
    acc = None
    for W in Ws:
        squares = W * W
        layer = total(B(squares.v.reshape(1, -1), squares.r.reshape(1, -1)), 1)[0]
        acc = layer if acc is None else acc + layer
    return B.exact(0.5) * B.exact(l2) * acc
