"""Exercises: one training step with chosen quantities left blank, to work out and check.

An :class:`Exercise` is a problem (a network, one batch, the step's settings, the same
fields as a spec file; see :mod:`chainrule.datasets.spec`), the quantities left blank
and the tolerance answers are held to. It renders a worksheet and an answer key
(:mod:`.exercise_render`) and grades answers (:mod:`.grading`), naming the common
mistake behind a wrong one.

The blanks are chosen by group or by name. The groups, in the order a step computes them:

===========  ===========================================
group        quantities
===========  ===========================================
forward      ``inLk``, ``outLk`` for every layer
error        ``e`` (and ``E``, the batch error, for a batch)
deltas       ``dEdOutLk``, ``dEdInLk``
gradients    ``dEdWk``, ``dEdBk``
update       ``Wk_new``, ``bk_new``
===========  ===========================================

Examples
--------
>>> from chainrule.learn import Exercise
>>> ex = Exercise.seed(blank="gradients")
>>> ex.blanks
['dEdW2', 'dEdB2', 'dEdW1', 'dEdB1']
>>> ex.check("dEdW1", [[0.001093, -0.001345], [0.000219, -0.000269]]).status
'right'
>>> Exercise.random(seed=7, difficulty=2).worksheet() == Exercise.random(7, 2).worksheet()
True
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..activations import get_activation
from ..checks import as_float_array, check_positive, check_reduction
from ..datasets.catalog import SEED_SPEC
from ..datasets.spec import Example, load_spec, spec_from_dict
from ..losses import Loss, get_loss
from ..network import Network
from ..step import train_step
from ..trace import Trace
from . import exercise_render as render
from .grading import Mark, Report, Tolerance, grade
from .grading_mistakes import MISTAKES, simulate

GROUPS = ("forward", "error", "deltas", "gradients", "update")
"""The groups of quantities ``blank`` accepts, in the order a step computes them."""
DIFFICULTIES = (1, 2, 3)
FORMAT_VERSION = 1


def step_quantities(n_layers: int, n_samples: int) -> list[str]:
    """Every quantity a learner can work out, in the order a step computes them."""
    layers = range(1, n_layers + 1)
    names = [name for k in layers for name in (f"inL{k}", f"outL{k}")]
    names += ["e", "E"] if n_samples > 1 else ["e"]
    names += [
        name
        for k in reversed(layers)
        for name in (f"dEdOutL{k}", f"dEdInL{k}", f"dEdW{k}", f"dEdB{k}")
    ]
    return names + [name for k in layers for name in (f"W{k}_new", f"b{k}_new")]


def group_of(name: str) -> str:
    """The group (``forward``, ``error``, ...) a quantity belongs to."""
    if name in ("e", "E"):
        return "error"
    if name.endswith("_new"):
        return "update"
    if name.startswith(("dEdOutL", "dEdInL")):
        return "deltas"
    if name.startswith(("dEdW", "dEdB")):
        return "gradients"
    return "forward"


def parse_blank(blank: str | Iterable[str], quantities: list[str]) -> list[str]:
    """The quantities ``blank`` names (groups and names, a list or comma-separated), in order."""
    items = blank.split(",") if isinstance(blank, str) else list(blank)
    if not all(isinstance(item, str) for item in items):
        raise TypeError(f"blank must be a string or a list of strings, got {blank!r}")
    chosen: set[str] = set()
    for item in (i.strip() for i in items):
        if item in GROUPS:
            chosen.update(q for q in quantities if group_of(q) == item)
        elif item in quantities:
            chosen.add(item)
        else:
            raise ValueError(
                f"blank: {item!r} is neither a group ({', '.join(GROUPS)}) nor a quantity of "
                f"this step ({', '.join(quantities)})"
            )
    if not chosen:
        raise ValueError(f"blank must name at least one quantity or group, got {blank!r}")
    return [q for q in quantities if q in chosen]


def spec_of(
    network: Network, x: Any, y: Any, lr: float, loss: str | Loss, reduction: str
) -> dict[str, Any]:
    """A problem as a spec mapping (:mod:`chainrule.datasets.spec`), which rebuilds it exactly.

    Only what a spec can state is accepted: activations and losses with their default
    settings, no dropout.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, got {type(network).__name__}")
    check_positive(lr, "lr")
    check_reduction(reduction)
    loss = get_loss(loss)
    if repr(loss) != repr(get_loss(loss.name)):
        raise ValueError(f"loss must have its default settings in an exercise, got {loss!r}")
    layers = []
    for k, layer in enumerate(network.layers, start=1):
        if layer.activation != get_activation(layer.activation.name):
            raise ValueError(
                f"layer {k} activation must have its default settings in an exercise, "
                f"got {layer.activation!r}"
            )
        if layer.dropout:
            raise ValueError(f"layer {k} must have no dropout in an exercise, got {layer.dropout}")
        layers.append(
            {
                "W": np.asarray(layer.W, dtype=float).tolist(),
                "b": np.asarray(layer.b, dtype=float).tolist(),
                "activation": layer.activation.name,
            }
        )
    x_arr = as_float_array(x, "x")
    y_arr = as_float_array(y, "y")
    network.check_Xy(x_arr, y_arr)
    return {
        "x": np.asarray(x_arr, dtype=float).tolist(),
        "y": np.asarray(y_arr, dtype=float).tolist(),
        "lr": float(lr),
        "loss": loss.name,
        "reduction": reduction,
        "frozen": sorted(network.frozen),
        "dtype": str(network.dtype),
        "layers": layers,
    }


class Exercise:
    """One training step with some of its quantities left blank.

    Parameters
    ----------
    network : Network
        Not changed: the step runs on a network rebuilt from the problem.
    x : array-like, shape (n_samples, n_features) or (n_features,)
    y : array-like, shape (n_samples, n_out), (n_out,) or a scalar
    lr : float
        Learning rate of plain gradient descent.
    loss : str or Loss
    reduction : {"mean", "sum"}
    blank : str or iterable of str
        Groups (``forward, error, deltas, gradients, update``) and quantity names to
        leave blank, e.g. ``"deltas,dEdW1"``; all of them by default.
    tolerance : Tolerance, optional
        How close an answer must be (default: 0.5 % of each entry, or 1e-6).
    title : str
        What the network is, for the heading.
    precision : int
        Digits after the point of the numbers the worksheet shows.
    """

    def __init__(
        self,
        network: Network,
        x: Any,
        y: Any,
        *,
        lr: float,
        loss: str | Loss = "half_squared_error",
        reduction: str = "mean",
        blank: str | Iterable[str] = GROUPS,
        tolerance: Tolerance | None = None,
        title: str = "",
        precision: int = 6,
    ) -> None:
        spec = spec_of(network, x, y, lr, loss, reduction)
        if tolerance is not None and not isinstance(tolerance, Tolerance):
            raise TypeError(f"tolerance must be a Tolerance, got {type(tolerance).__name__}")
        if isinstance(precision, bool) or not isinstance(precision, int) or not 0 < precision < 17:
            raise ValueError(f"precision must be a whole number from 1 to 16, got {precision!r}")
        if not isinstance(title, str):
            raise TypeError(f"title must be a string, got {type(title).__name__}")
        example = spec_from_dict(spec, title=title)
        trace = Trace()
        train_step(
            example.network.copy(),
            example.x,
            example.y,
            lr=example.lr,
            loss=example.loss,
            reduction=example.reduction,
            tracer=trace,
        )
        quantities = step_quantities(example.network.n_layers, trace.n_samples)
        self.spec = spec
        self.example: Example = example
        self.trace = trace
        self.quantities = quantities
        self.blanks = parse_blank(blank, quantities)
        self.tolerance = tolerance or Tolerance()
        self.title = title or "a network"
        self.precision = precision

    # -- other ways to make one ----------------------------------------------------
    @classmethod
    def _from_spec_mapping(
        cls,
        spec: Mapping[str, Any],
        blank: str | Iterable[str],
        tolerance: Tolerance | None,
        title: str,
        precision: int = 6,
    ) -> Exercise:
        example = _without_l2(spec_from_dict(dict(spec), title=title))
        return cls(
            example.network,
            example.x,
            example.y,
            lr=example.lr,
            loss=example.loss,
            reduction=example.reduction,
            blank=blank,
            tolerance=tolerance,
            title=title,
            precision=precision,
        )

    @classmethod
    def seed(
        cls, blank: str | Iterable[str] = GROUPS, tolerance: Tolerance | None = None
    ) -> Exercise:
        """The seed notebook's step: 2-2-1 sigmoid, x = [0.5, 0.1], y = 0.9, lr = 0.5."""
        return cls._from_spec_mapping(
            SEED_SPEC, blank, tolerance, "the seed notebook's 2-2-1 sigmoid network"
        )

    @classmethod
    def from_spec(
        cls,
        spec: str | Path | Mapping[str, Any],
        blank: str | Iterable[str] = GROUPS,
        tolerance: Tolerance | None = None,
    ) -> Exercise:
        """The step of a spec file (JSON or TOML) or mapping, as ``chainrule explain --spec``."""
        if isinstance(spec, Mapping):
            return cls._from_spec_mapping(spec, blank, tolerance, "the spec's network")
        example = _without_l2(load_spec(spec))
        return cls(
            example.network,
            example.x,
            example.y,
            lr=example.lr,
            loss=example.loss,
            reduction=example.reduction,
            blank=blank,
            tolerance=tolerance,
            title=example.title,
        )

    @classmethod
    def random(
        cls,
        seed: int = 0,
        difficulty: int = 1,
        blank: str | Iterable[str] = GROUPS,
        tolerance: Tolerance | None = None,
    ) -> Exercise:
        """A small random step; the same ``seed`` and ``difficulty`` give the same exercise.

        Parameters
        ----------
        seed : int
            >= 0.
        difficulty : {1, 2, 3}
            1: two sigmoid layers of one or two neurons, one instance, the seed's error.
            2: two or three layers of up to three neurons, sigmoid, tanh or ReLU, a
            batch of one or two, half or mean squared error.
            3: three layers, every activation, batches of two or three, squared errors
            and cross-entropies, mean or sum, sometimes frozen biases.
        """
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        if difficulty not in DIFFICULTIES or isinstance(difficulty, bool):
            raise ValueError(f"difficulty must be 1, 2 or 3, got {difficulty!r}")
        spec = random_spec(np.random.default_rng([int(seed), int(difficulty)]), int(difficulty))
        title = f"random exercise {seed} (difficulty {difficulty})"
        return cls._from_spec_mapping(spec, blank, tolerance, title)

    # -- the problem as data ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON-ready data: spec, blanks, tolerance; :meth:`from_dict` reads it."""
        return {
            "chainrule_worksheet": FORMAT_VERSION,
            "title": self.title,
            "spec": self.spec,
            "blank": self.blanks,
            "tolerance": {"rtol": self.tolerance.rtol, "atol": self.tolerance.atol},
            "precision": self.precision,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exercise:
        """The exercise :meth:`to_dict` describes."""
        if not isinstance(data, Mapping) or data.get("chainrule_worksheet") != FORMAT_VERSION:
            raise ValueError(
                f"a worksheet problem must be a mapping with chainrule_worksheet = "
                f"{FORMAT_VERSION}, got {str(data)[:80]!r}"
            )
        missing = [key for key in ("spec", "blank", "tolerance") if key not in data]
        if missing:
            raise ValueError(f"the worksheet problem lacks {missing}")
        tolerance = data["tolerance"]
        if not isinstance(tolerance, Mapping) or set(tolerance) != {"rtol", "atol"}:
            raise ValueError(f"the worksheet tolerance must hold rtol and atol, got {tolerance!r}")
        return cls._from_spec_mapping(
            data["spec"],
            data["blank"],
            Tolerance(**tolerance),
            str(data.get("title", "")),
            data.get("precision", 6),
        )

    @classmethod
    def load(cls, path: str | Path) -> Exercise:
        """The exercise of a worksheet file (Markdown, LaTeX, HTML) or of its JSON problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read worksheet {str(path)!r}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ValueError(f"worksheet {str(path)!r} is not UTF-8 text") from None
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else render.extract(text)
        except ValueError as exc:
            raise ValueError(f"worksheet {str(path)!r}: {exc}") from None
        return cls.from_dict(data)

    # -- answers ---------------------------------------------------------------------
    def answer(self, name: str) -> np.ndarray:
        """The exact value of quantity ``name`` (blank or not)."""
        if name not in self.quantities:
            raise KeyError(f"{name!r} is not a quantity of this step; they are {self.quantities}")
        return np.asarray(self.trace[name])

    def answers(self) -> dict[str, np.ndarray]:
        """The exact value of every blank."""
        return {name: self.answer(name) for name in self.blanks}

    def grade(self, answers: Mapping[str, Any]) -> Report:
        """Grade a learner's answers (some blanks may be left out); see :mod:`.grading`."""
        if not isinstance(answers, Mapping):
            raise TypeError(f"answers must be a mapping of names to values, got {answers!r:.60}")
        return grade(self.trace, self.quantities, self.blanks, answers, self.tolerance)

    def check(self, name: str, value: Any) -> Mark:
        """Grade one answer, taking the other blanks as not yet worked out."""
        if name not in self.blanks:
            raise ValueError(
                f"{name!r} is not a blank of this worksheet; its blanks are {self.blanks}"
            )
        return self.grade({name: value}).mark(name)

    def mistaken_answers(self, mistake: str) -> dict[str, np.ndarray]:
        """The blanks as a learner making ``mistake`` wherever it can be made would fill them.

        ``mistake`` is a key of :data:`~chainrule.learn.grading_mistakes.MISTAKES`, e.g.
        ``"fprime_forgotten"``; later answers are worked from the mistaken ones.
        """
        if mistake not in MISTAKES:
            raise ValueError(f"mistake must be one of {', '.join(MISTAKES)}, got {mistake!r}")
        values = simulate(self.trace, self.quantities, MISTAKES[mistake])
        return {name: values[name] for name in self.blanks}

    # -- rendering -------------------------------------------------------------------
    def worksheet(self, format: str = "markdown") -> str:
        """The worksheet as ``markdown``, ``latex`` or ``html``, its problem embedded."""
        return render.worksheet(
            self.trace,
            self.quantities,
            self.blanks,
            str(self.tolerance),
            self.title,
            self.precision,
            self.to_dict(),
            format,
        )

    def answer_key(self, format: str = "markdown") -> str:
        """The full derivation of the step (:func:`chainrule.explain`) in ``format``."""
        return render.answer_key(self.example, f"{self.title} (answer key)", self.precision, format)

    def __repr__(self) -> str:
        return f"Exercise({self.title!r}, blanks={self.blanks})"

    def _repr_markdown_(self) -> str:
        return self.worksheet("markdown")

    def _repr_html_(self) -> str:
        return render.worksheet_fragment(
            self.trace,
            self.quantities,
            self.blanks,
            str(self.tolerance),
            self.title,
            self.precision,
        )


def _without_l2(example: Example) -> Example:
    if example.l2:
        raise ValueError(
            f"field 'l2': a worksheet covers plain gradient descent without L2 regularization; "
            f"give l2 = 0, got {example.l2!r}"
        )
    return example


def read_answers(path: str | Path) -> dict[str, Any]:
    """A learner's answers file: TOML (``dEdW1 = [[0.0011, -0.0013], ...]``) or JSON."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ValueError(f"answers file {str(path)!r} must end in .toml or .json, got {suffix!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read answers file {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"answers file {str(path)!r} is not UTF-8 text") from None
    try:
        data = json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except ValueError as exc:
        raise ValueError(
            f"answers file {str(path)!r} is not valid {suffix[1:].upper()}: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"answers file {str(path)!r} must hold name = value pairs")
    return data


def random_spec(rng: np.random.Generator, difficulty: int) -> dict[str, Any]:
    """A small random problem as a spec mapping, with round numbers a learner can work with."""
    if difficulty == 1:
        sizes = [int(rng.integers(1, 3)), int(rng.integers(1, 3)), 1]
        n, hidden, output, loss, reduction = 1, ["sigmoid"], "sigmoid", "half_squared_error", "mean"
    elif difficulty == 2:
        depth = int(rng.integers(2, 4))
        sizes = [int(rng.integers(1, 4))] + [int(rng.integers(2, 4)) for _ in range(depth - 1)]
        sizes.append(int(rng.integers(1, 3)))
        n = int(rng.integers(1, 3))
        hidden = [str(rng.choice(["sigmoid", "tanh", "relu"])) for _ in range(depth - 1)]
        output = str(rng.choice(["sigmoid", "identity"]))
        loss, reduction = str(rng.choice(["half_squared_error", "mean_squared_error"])), "mean"
    else:
        pairs = [
            ("softmax", "cross_entropy"),
            ("sigmoid", "binary_cross_entropy"),
            ("identity", "mean_squared_error"),
            ("tanh", "half_squared_error"),
        ]
        output, loss = pairs[int(rng.integers(len(pairs)))]
        n_out = int(rng.integers(2, 4)) if output == "softmax" else int(rng.integers(1, 3))
        sizes = [int(rng.integers(2, 4)), int(rng.integers(2, 4)), int(rng.integers(2, 4)), n_out]
        n = int(rng.integers(2, 4))
        names = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"]
        hidden = [str(rng.choice(names)) for _ in range(2)]
        reduction = str(rng.choice(["mean", "sum"]))
    activations = [*hidden, output]
    layers = [
        {
            "W": np.round(rng.uniform(-1, 1, (n_in, n_out)), 2).tolist(),
            "b": np.round(rng.uniform(-1, 1, n_out), 1).tolist(),
            "activation": act,
        }
        for n_in, n_out, act in zip(sizes[:-1], sizes[1:], activations, strict=True)
    ]
    x = np.round(rng.uniform(-1, 1, (n, sizes[0])), 1)
    n_out = sizes[-1]
    if loss == "cross_entropy":
        y = np.eye(n_out)[rng.integers(0, n_out, n)]
    elif loss == "binary_cross_entropy":
        y = rng.integers(0, 2, (n, n_out)).astype(float)
    elif output == "identity":
        y = np.round(rng.uniform(-1, 1, (n, n_out)), 1)
    else:
        y = np.round(rng.uniform(0, 1, (n, n_out)), 1)
    frozen = ["b1"] if difficulty == 3 and rng.random() < 0.25 else []
    return {
        "layers": layers,
        "x": (x[0] if n == 1 else x).tolist(),
        "y": (y[0] if n == 1 else y).tolist(),
        "lr": float(rng.choice([0.1, 0.5, 1.0])),
        "loss": loss,
        "reduction": reduction,
        "frozen": frozen,
    }
