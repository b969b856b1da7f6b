"""The interactive page in headless Chromium: its JavaScript against the Python engine.

Needs Debian's ``chromium``; skipped, saying so, without it. Chromium runs with the
network shut off. One harness page holds every page under test in an iframe 420 px
wide (a phone), drives it with the same events a person's keys and clicks send, and
writes what each page computed into its own DOM, which ``--dump-dom`` hands back.

The page's numbers and the engine's are two float64 computations of the same formulas:
they may differ by their rounding, which is small relative to each number where no sum
cancels and not relative to the number where one does. Each element is compared within
twice a running error bound of the page's arithmetic (``tests/_error_bounds.py``: the
rounding of each operation, the sum of the absolute values of a sum's terms, carried
through the step), which holds however much a sum cancels and is a few ulps where none
does. ``CHAINRULE_PLAY_SEED`` (default 1000) draws another set of random networks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import escape
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chainrule import Network, Trace, seed_example, train_step
from chainrule.activations import LeakyReLU
from chainrule.learn import play
from chainrule.learn.play import MAX_INSTANCES, MAX_LAYERS, MAX_UNITS
from chainrule.losses import get_loss

from . import _error_bounds as bounds

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
]
# Wait for the pages' scripts (virtual time runs as fast as the work allows; once nothing
# is pending it jumps to the end of the budget, so a larger budget costs nothing).
BUDGET_MS = 60_000
N_NETWORKS = 50
SEED = int(os.environ.get("CHAINRULE_PLAY_SEED", "1000"))
RTOL = 1e-12  # the seed's pages, whose sums do not cancel
ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity", "softmax"]
# (loss, from_logits, output activation): every loss, the fused pairs and the from-logits
# forms (a cross-entropy after another output is refused by check_targets).
OUTPUTS = [
    ("half_squared_error", False, None),
    ("mean_squared_error", False, None),
    ("binary_cross_entropy", False, "sigmoid"),
    ("binary_cross_entropy", True, "identity"),
    ("binary_cross_entropy", True, "sigmoid"),
    ("cross_entropy", False, "softmax"),
    ("cross_entropy", True, "identity"),
    ("cross_entropy", True, "softmax"),
]

# What the harness does in every page, in order: read the trace; press ArrowRight past
# the end, then click Previous back to the start, noting the current quantity each time;
# check the controls; type a new W1[1,1] and lr; click "10 steps". Results go into #out.
HARNESS_JS = """
window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll("iframe").forEach(function (frame) {
    var doc = frame.contentDocument, win = frame.contentWindow, r = {};
    var dump = function () { return JSON.parse(doc.getElementById("cr-trace").textContent); };
    r.initial = dump();
    r.keys = [r.initial.current];
    var n = r.initial.order.length;
    r.scrollWidth = doc.documentElement.scrollWidth;
    for (var i = 0; i < n; i++) {
      doc.dispatchEvent(new win.KeyboardEvent("keydown", {key: "ArrowRight", bubbles: true}));
      r.keys.push(dump().current);
      r.scrollWidth = Math.max(r.scrollWidth, doc.documentElement.scrollWidth);
    }
    r.clicks = [dump().current];
    for (i = 0; i < n; i++) {
      doc.getElementById("cr-prev").click();
      r.clicks.push(dump().current);
    }
    var press = function (key) {
      doc.dispatchEvent(new win.KeyboardEvent("keydown", {key: key, bubbles: true}));
      return dump().current;
    };
    r.endHome = [press("End"), press("Home")];
    r.unlabelled = Array.prototype.filter.call(doc.querySelectorAll("button, input, select"),
      function (c) { return !c.getAttribute("aria-label") || c.tabIndex < 0; }).length;
    r.controls = doc.querySelectorAll("button, input, select").length;
    r.clientWidth = doc.documentElement.clientWidth;
    var set = function (label, value) {
      var input = doc.querySelector('input[aria-label="' + label + '"]');
      input.value = value;
      input.dispatchEvent(new win.Event("input", {bubbles: true}));
    };
    set("W1[1,1]", frame.dataset.w);
    set("lr", frame.dataset.lr);
    r.edited = dump();
    doc.getElementById("cr-train-10").click();
    r.trained = dump();
    r.typed = doc.querySelector('input[aria-label="W1[1,1]"]').value;
    out.push(r);
  });
  document.getElementById("out").textContent = JSON.stringify(out);
});
"""


def random_case(i: int) -> dict[str, Any]:
    """Network ``i`` of the test: its layers, batch and settings, drawn from seed ``i``."""
    rng = np.random.default_rng(SEED + i)
    loss, from_logits, out_act = OUTPUTS[i % len(OUTPUTS)]
    n_layers = 1 + i % 3
    sizes = [int(rng.integers(1, 5)) for _ in range(n_layers)] + [int(rng.integers(1, 4))]
    if loss == "cross_entropy" or out_act == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    hidden = [ACTIVATIONS[(i + k) % len(ACTIVATIONS)] for k in range(n_layers - 1)]
    out_act = out_act or ACTIVATIONS[(i + 3) % len(ACTIVATIONS)]
    acts: list[Any] = []
    for name in [*hidden, out_act]:
        acts.append(
            {"name": name, "alpha": float(rng.uniform(0.01, 0.3))} if name == "leaky_relu" else name
        )
    for k, act in enumerate(acts, start=1):
        if act == "softmax":  # softmax over one unit is refused (always 1.0)
            sizes[k] = max(sizes[k], 2)
    n = int(rng.integers(1, 5))
    x = rng.normal(size=(n, sizes[0]))
    if loss == "cross_entropy":
        y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=n)]
        if i % 2:
            y = rng.dirichlet(np.ones(sizes[-1]), size=n)  # soft targets
    elif loss == "binary_cross_entropy":
        y = rng.uniform(0, 1, size=(n, sizes[-1]))
    else:
        y = rng.normal(size=(n, sizes[-1]))
    params = [rng.normal(0, 0.8, size=(a, b)) for a, b in pairwise(sizes)]
    biases = [rng.normal(0, 0.5, size=b) for b in sizes[1:]]
    names = [f"{p}{k}" for k in range(1, n_layers + 1) for p in "Wb"]
    frozen = [name for name in names if rng.random() < 0.2]
    return {
        "params": params,
        "biases": biases,
        "acts": acts,
        "x": x,
        "y": y,
        "lr": float(rng.uniform(0.05, 1.0)),
        "loss": loss,
        "from_logits": from_logits,
        "reduction": "mean" if i % 4 < 2 else "sum",
        "frozen": frozen,
        "new_w": float(np.round(rng.normal(), 3)),
        "new_lr": float(np.round(rng.uniform(0.05, 0.5), 3)),
        "l2": float(rng.uniform(0.01, 0.3)) if i % 5 == 4 else 0.0,
    }


def build(case: dict[str, Any], W11: float | None = None) -> Network:
    acts = [LeakyReLU(a["alpha"]) if isinstance(a, dict) else a for a in case["acts"]]
    weights = [W.copy() for W in case["params"]]
    if W11 is not None:
        weights[0][0, 0] = W11
    return Network.from_weights(weights, case["biases"], acts, frozen=case["frozen"])


def loss_of(case: dict[str, Any]) -> Any:
    loss = get_loss(case["loss"])
    return type(loss)(from_logits=True) if case["from_logits"] else loss


def python_trace(case: dict[str, Any], W11: float | None = None, lr: float | None = None) -> Trace:
    trace = Trace()
    train_step(
        build(case, W11),
        case["x"],
        case["y"],
        lr=case["lr"] if lr is None else lr,
        loss=loss_of(case),
        reduction=case["reduction"],
        tracer=trace,
        l2=case["l2"],
    )
    return trace


def assert_same(js: Any, py: Any, where: str, *, normwise: bool = False) -> None:
    """Every entry of the page's ``js`` equals the engine's ``py`` to RTOL relative.

    With ``normwise``, relative to the largest entry of ``py``: after several training
    steps a weight that the updates have brought near 0 holds the rounding of values
    far larger than itself, in either implementation.
    """
    got, want = np.asarray(js, dtype=np.float64), np.asarray(py, dtype=np.float64)
    assert got.shape == want.shape, f"{where}: shape {got.shape} != {want.shape}"
    atol = RTOL * float(np.max(np.abs(want), initial=0.0)) if normwise else 0.0
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol, err_msg=where)


def bounded_step(
    case: dict[str, Any], W11: float | None = None, lr: float | None = None
) -> dict[str, bounds.B]:
    """Each quantity of one training step of ``case`` with its running error bound."""
    weights = [W.copy() for W in case["params"]]
    if W11 is not None:
        weights[0][0, 0] = W11
    Ws = [bounds.B.exact(W) for W in weights]
    bs = [bounds.B.exact(b) for b in case["biases"]]
    return bounds.step(case, Ws, bs, case["lr"] if lr is None else lr)[0]


def assert_within_bound(js: Any, py: Any, bound: bounds.B, where: str) -> None:
    """The page's ``js`` and the engine's ``py`` differ by at most twice ``bound``'s error
    bound, element by element: each lies within it of the exact value. The bound's own
    arithmetic is held to the same (a check of ``tests/_error_bounds.py``'s mirror of
    the page)."""
    got, want = np.asarray(js, dtype=np.float64), np.asarray(py, dtype=np.float64)
    assert got.shape == want.shape, f"{where}: shape {got.shape} != {want.shape}"
    tolerance = 2 * bound.r
    for name, other in (("the page", got), ("the bound's arithmetic", bound.v)):
        off = np.abs(other - want) > tolerance
        if off.any():
            i = tuple(np.argwhere(off)[0])
            raise AssertionError(
                f"{where}{list(i)}: {name} gives {other[i]!r}, the engine {want[i]!r}: "
                f"{abs(other[i] - want[i]):.3g} apart, beyond the bound {tolerance[i]:.3g}"
            )


def chromium(
    url: str, tmp_path: Path, *args: str, budget_ms: int = BUDGET_MS
) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    budget = f"--virtual-time-budget={budget_ms}"
    return subprocess.run(
        [CHROMIUM, *FLAGS, budget, f"--user-data-dir={profile}", *args, url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def console_messages(stderr: str) -> list[str]:
    return re.findall(r"CONSOLE[^\]]*\] (.*)", stderr)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run every page under test once in Chromium; what each page computed and showed."""
    cases = [random_case(i) for i in range(N_NETWORKS)]
    results, console = run_pages(cases, tmp_path_factory.mktemp("play"))
    return {"cases": cases, "results": results, "console": console}


def run_pages(
    cases: list[dict[str, Any]], tmp: Path, plant: tuple[str, str] | None = None
) -> tuple[list[Any], list[str]]:
    """Each case's page, run by the harness in one Chromium: its results and the console.

    ``plant=(old, new)`` replaces a line of the page's script: an error planted on purpose.
    """
    frames = []
    for case in cases:
        page = play(
            build(case),
            case["x"],
            case["y"],
            lr=case["lr"],
            loss=loss_of(case),
            reduction=case["reduction"],
            l2=case["l2"],
        )
        html = page.html
        if plant is not None:
            assert plant[0] in html, plant[0]
            html = html.replace(*plant)
        frames.append(
            f'<iframe srcdoc="{escape(html, quote=True)}" data-w="{case["new_w"]}" '
            f'data-lr="{case["new_lr"]}" style="width:420px;height:900px;border:0"></iframe>'
        )
    path = tmp / "harness.html"
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        + "".join(frames)
        + f'<pre id="out"></pre><script>{HARNESS_JS}</script></body></html>',
        encoding="utf-8",
    )
    run = chromium(path.as_uri(), tmp, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<pre id="out">(.*?)</pre>', run.stdout, re.S)
    assert found and found.group(1), "the harness wrote nothing: " + run.stderr[-2000:]
    results = json.loads(
        found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    return results, console_messages(run.stderr)


def test_the_cases_cover_every_activation_loss_reduction_and_frozen_parameters():
    cases = [random_case(i) for i in range(N_NETWORKS)]
    acts = {a["name"] if isinstance(a, dict) else a for c in cases for a in c["acts"]}
    assert acts == set(ACTIVATIONS)
    kinds = {(c["loss"], c["from_logits"], str(c["acts"][-1])) for c in cases}
    for loss, logits, out in OUTPUTS:
        assert any(k[0] == loss and k[1] == logits and (out is None or k[2] == out) for k in kinds)
    assert {c["reduction"] for c in cases} == {"mean", "sum"}
    assert 0 < sum(c["l2"] > 0 for c in cases) < N_NETWORKS
    assert any(c["frozen"] for c in cases) and any(len(c["x"]) > 1 for c in cases)


def test_no_console_errors(harness):
    assert harness["console"] == []
    assert len(harness["results"]) == N_NETWORKS


def test_every_value_equals_the_python_engine(harness):
    for i, (case, r) in enumerate(zip(harness["cases"], harness["results"], strict=True)):
        trace = python_trace(case)
        bound = bounded_step(case)
        assert r["initial"]["order"] == list(trace), f"network {i}: order"
        for name in trace:
            where = f"network {i}: {name}"
            assert_within_bound(r["initial"]["values"][name], trace[name], bound[name], where)


def test_edits_recompute_every_value(harness):
    for i, (case, r) in enumerate(zip(harness["cases"], harness["results"], strict=True)):
        trace = python_trace(case, W11=case["new_w"], lr=case["new_lr"])
        bound = bounded_step(case, W11=case["new_w"], lr=case["new_lr"])
        for name in trace:
            where = f"network {i} edited: {name}"
            assert_within_bound(r["edited"]["values"][name], trace[name], bound[name], where)


def test_ten_training_steps_match_the_engine(harness):
    for i, (case, r) in enumerate(zip(harness["cases"], harness["results"], strict=True)):
        net = build(case, W11=case["new_w"])
        errors = []
        for _ in range(10):
            trace = Trace()
            train_step(
                net,
                case["x"],
                case["y"],
                lr=case["new_lr"],
                loss=loss_of(case),
                reduction=case["reduction"],
                tracer=trace,
                l2=case["l2"],
            )
            errors += [float(trace["E"])] if not errors else []
            errors.append(float(trace["E_new"]))
        # Over ten steps a worst-case bound compounds far past any real difference, so
        # these are held normwise: the rounding a near-0 weight holds is its updates'.
        trained = r["trained"]
        assert trained["steps"] == 10
        assert_same(trained["history"], errors, f"network {i}: the loss curve", normwise=True)
        for name, value in net.params.items():
            where = f"network {i}: {name} after 10 steps"
            assert_same(trained["values"][name], value, where, normwise=True)
        # The input boxes follow the training, to the last digit.
        assert float(r["typed"]) == trained["values"]["W1"][0][0]


def test_keys_and_buttons_reach_every_quantity_in_order(harness):
    for i, r in enumerate(harness["results"]):
        order = r["initial"]["order"]
        L = sum(1 for name in order if re.fullmatch(r"W\d+", name))
        quantities = order[2 + 2 * L :]
        # ArrowRight from the first to the last quantity, and no further.
        assert r["keys"] == quantities + [quantities[-1]] * (len(order) - len(quantities) + 1), i
        # Previous, clicked, walks back to the first, and no further.
        back = quantities[::-1]
        assert r["clicks"] == back + [quantities[0]] * (len(r["clicks"]) - len(back)), i
        assert r["endHome"] == [quantities[-1], quantities[0]], i


def test_usable_at_a_phone_width_and_keyboard_accessible(harness):
    for i, r in enumerate(harness["results"]):
        assert r["clientWidth"] <= 420
        assert r["scrollWidth"] <= 420, f"network {i}: scrolls sideways at 420 px"  # any quantity
        assert r["controls"] > 8 and r["unlabelled"] == 0, i


def test_the_checks_catch_a_wrong_page(tmp_path):
    # A page whose sigmoid is off in the 12th digit, and one that throws, must fail.
    seed = seed_example()
    page = play(seed.network, seed.x, seed.y, lr=seed.lr)
    wrong = page.html.replace(
        "return z >= 0 ? 1 / (1 + e)", "return z >= 0 ? 1.000000000001 / (1 + e)"
    )
    assert wrong != page.html
    path = tmp_path / "wrong.html"
    path.write_text(
        wrong.replace("function init() {", "function init() { undefinedThing();"), "utf-8"
    )
    run = chromium(path.as_uri(), tmp_path, "--dump-dom")
    assert any("undefinedThing" in m for m in console_messages(run.stderr))
    path.write_text(wrong, "utf-8")
    run = chromium(path.as_uri(), tmp_path, "--dump-dom")
    dump = re.search(r'<output id="cr-trace" hidden="">(.*?)</output>', run.stdout, re.S)
    values = json.loads(dump.group(1).replace("&amp;", "&"))["values"]
    trace = python_trace_seed()
    bound = bounded_step(seed_case())
    with pytest.raises(AssertionError, match=r"outL1.*beyond the bound"):
        assert_within_bound(values["outL1"], trace["outL1"], bound["outL1"], "outL1")
    assert_within_bound(values["inL1"], trace["inL1"], bound["inL1"], "inL1")
    # The planted error (1e-12 relative) is over 100 times the bound.
    planted = 1e-12 * np.abs(np.asarray(trace["outL1"]))
    assert np.all(planted > 100 * 2 * bound["outL1"].r)


def seed_case() -> dict[str, Any]:
    """The seed as one of :func:`random_case`'s cases."""
    seed = seed_example()
    net = seed.network
    return {
        "params": [layer.W for layer in net.layers],
        "biases": [layer.b for layer in net.layers],
        "acts": [layer.activation.name for layer in net.layers],
        "x": np.atleast_2d(seed.x),
        "y": np.atleast_2d(seed.y),
        "lr": seed.lr,
        "loss": "half_squared_error",
        "from_logits": False,
        "reduction": "mean",
        "frozen": [],
        "l2": 0.0,
    }


def test_a_planted_error_in_the_sums_is_caught_in_every_network(tmp_path):
    # Each product of the page's matmul off by 1e-12 relative: every network's numbers
    # leave the bound (a sum that cancels does not hide it). Other plants of 1e-12 were
    # caught in every network they reach: tanh in 9 of 9, softmax's sum in 24 of 24.
    cases = [random_case(i) for i in range(N_NETWORKS)]
    plant = ("acc += row[i] * B[i][j];", "acc += row[i] * B[i][j] * (1 + 1e-12);")
    results, console = run_pages(cases, tmp_path, plant)
    assert console == []
    for i, (case, r) in enumerate(zip(cases, results, strict=True)):
        trace, bound = python_trace(case), bounded_step(case)
        with pytest.raises(AssertionError, match="beyond the bound"):
            for name in trace:
                where = f"network {i}: {name}"
                assert_within_bound(r["initial"]["values"][name], trace[name], bound[name], where)


def python_trace_seed() -> Trace:
    seed = seed_example()
    trace = Trace()
    train_step(seed.network, seed.x, seed.y, lr=seed.lr, tracer=trace)
    return trace


def test_seed_page_screenshot(tmp_path):
    seed = seed_example()
    path = tmp_path / "seed.html"
    play(seed.network, seed.x, seed.y, lr=seed.lr, title=seed.title).save(path)
    shot = tmp_path / "seed.png"
    run = chromium(path.as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=420,1600")
    assert shot.exists(), run.stderr[-2000:]
    assert console_messages(run.stderr) == []


WIDGET_HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<div id="el"></div><pre id="out"></pre>
<script type="module">
ESM
const traits = {html: HTML, height: 900, trace: {}};
let saves = 0;
const model = {
  get: (key) => traits[key],
  set: (key, value) => { traits[key] = value; },
  save_changes: () => {
    saves += 1;
    document.getElementById("out").textContent = JSON.stringify({saves, trace: traits.trace});
  },
  on: () => {},
};
render({model, el: document.getElementById("el")});
</script></body></html>"""


def test_the_notebook_widget_shows_the_page_and_sends_its_values_back(tmp_path):
    # The anywidget front end, given a stand-in for the notebook's model: the page runs
    # in its iframe and what it computed arrives in the model's "trace".
    seed = seed_example()
    page = play(seed.network, seed.x, seed.y, lr=seed.lr)
    source = resources.files("chainrule.learn").joinpath("play_widget.js").read_text("utf-8")

    def js(text: str) -> str:
        return json.dumps(text).replace("<", "\\u003c")

    path = tmp_path / "widget.html"
    path.write_text(WIDGET_HARNESS.replace("ESM", source).replace("HTML", js(page.html)), "utf-8")
    run = chromium(path.as_uri(), tmp_path, "--dump-dom")
    assert console_messages(run.stderr) == []
    found = re.search(r'<pre id="out">(.*?)</pre>', run.stdout, re.S)
    assert found and found.group(1), run.stderr[-2000:]
    sent = json.loads(
        found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    assert sent["saves"] >= 1
    trace = python_trace_seed()
    assert sent["trace"]["order"] == list(trace)
    for name in trace:
        assert_same(sent["trace"]["values"][name], trace[name], name)


def test_the_largest_page_fits_a_phone_at_every_quantity(tmp_path):
    sizes = [MAX_UNITS] * (MAX_LAYERS + 1)
    net = Network.from_sizes(sizes, "tanh", random_state=0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(MAX_INSTANCES, MAX_UNITS)), rng.normal(size=(MAX_INSTANCES, MAX_UNITS))
    page = play(net, x, y, lr=0.1).html
    script = """window.addEventListener("load", function () {
      var doc = document.querySelector("iframe").contentDocument, widths = [];
      for (var i = 0; i < 60; i++) {
        widths.push(doc.documentElement.scrollWidth);
        doc.getElementById("cr-next").click();
      }
      doc.getElementById("cr-train-100").click();
      widths.push(doc.documentElement.scrollWidth);
      document.getElementById("out").textContent = JSON.stringify(widths);
    });"""
    path = tmp_path / "big.html"
    path.write_text(
        f'<!DOCTYPE html><html><body><iframe srcdoc="{escape(page, quote=True)}" '
        'style="width:420px;height:900px;border:0"></iframe><pre id="out"></pre>'
        f"<script>{script}</script></body></html>",
        "utf-8",
    )
    run = chromium(path.as_uri(), tmp_path, "--dump-dom")
    assert console_messages(run.stderr) == []
    widths = json.loads(re.search(r'<pre id="out">(.*?)</pre>', run.stdout, re.S).group(1))
    assert len(widths) == 61 and max(widths) <= 420, widths


def test_a_hundred_steps_grow_the_curve_frame_by_frame(tmp_path):
    seed = seed_example()
    page = play(seed.network, seed.x, seed.y, lr=seed.lr).html
    script = """window.addEventListener("load", function () {
      var doc = document.querySelector("iframe").contentDocument, seen = [];
      var dump = function () { return JSON.parse(doc.getElementById("cr-trace").textContent); };
      doc.getElementById("cr-train-100").click();
      var during = doc.getElementById("cr-train-1").disabled;
      (function poll() {
        var d = dump();
        seen.push(d.history.length);
        if (d.steps < 100) { setTimeout(poll, 1); return; }
        document.getElementById("out").textContent = JSON.stringify({
          during: during, after: doc.getElementById("cr-train-1").disabled, seen: seen,
          history: d.history, status: doc.getElementById("cr-train-status").textContent});
      })();
    });"""
    path = tmp_path / "hundred.html"
    path.write_text(
        f'<!DOCTYPE html><html><body><iframe srcdoc="{escape(page, quote=True)}" '
        'style="width:420px;height:900px;border:0"></iframe><pre id="out"></pre>'
        f"<script>{script}</script></body></html>",
        "utf-8",
    )
    # The steps run one per animation frame, in real time, while the poll spends a
    # millisecond of virtual time a turn: on a busy machine 60 s of virtual time once ran
    # out before the hundredth frame (an empty result). Ten times the budget.
    run = chromium(path.as_uri(), tmp_path, "--dump-dom", budget_ms=10 * BUDGET_MS)
    assert console_messages(run.stderr) == []
    found = re.search(r'<pre id="out">(.*?)</pre>', run.stdout, re.S)
    assert found and found.group(1), run.stderr[-2000:]
    r = json.loads(found.group(1).replace("&amp;", "&"))
    assert r["during"] is True and r["after"] is False  # no second run on top of the first
    assert len(set(r["seen"])) > 3  # the curve was drawn while it grew
    net, errors = seed.network.copy(), [seed.network.loss(seed.x, seed.y)]
    for _ in range(100):
        train_step(net, seed.x, seed.y, lr=seed.lr)
        errors.append(net.loss(seed.x, seed.y))
    assert_same(r["history"], errors, "the loss curve of 100 steps", normwise=True)
    assert r["status"].startswith("After 100 training steps")


def test_a_diverging_run_stops_where_the_engine_overflows(tmp_path):
    # W <- W - lr * W for identity, x = 1, y = 0: W is multiplied by -999 each step.
    net = Network.from_weights([[[1.0]]], [[0.0]], "identity")
    page = play(net, [1.0], 0.0, lr=1000.0).html
    script = """window.addEventListener("load", function () {
      var doc = document.querySelector("iframe").contentDocument;
      doc.getElementById("cr-train-10").click();
      for (var i = 0; i < 9; i++) doc.getElementById("cr-train-10").click();
      document.getElementById("out").textContent = JSON.stringify({
        steps: JSON.parse(doc.getElementById("cr-trace").textContent).steps,
        status: doc.getElementById("cr-train-status").textContent});
    });"""
    path = tmp_path / "diverge.html"
    path.write_text(
        f'<!DOCTYPE html><html><body><iframe srcdoc="{escape(page, quote=True)}">'
        f'</iframe><pre id="out"></pre><script>{script}</script></body></html>',
        "utf-8",
    )
    run = chromium(path.as_uri(), tmp_path, "--dump-dom")
    assert console_messages(run.stderr) == []
    r = json.loads(re.search(r'<pre id="out">(.*?)</pre>', run.stdout, re.S).group(1))
    finite_steps = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            trace = Trace()
            train_step(net, [1.0], 0.0, lr=1000.0, tracer=trace)
            if not np.isfinite(trace["E_new"]):
                break
            finite_steps += 1
    assert 40 < finite_steps < 100
    assert r["steps"] == finite_steps
    assert r["status"].startswith(f"Stopped after {finite_steps} steps")
