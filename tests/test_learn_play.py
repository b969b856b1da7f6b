"""The interactive page from Python: its starting state, the page itself, the CLI, Jupyter.

What the page computes is checked in a browser in ``test_learn_play_browser.py``.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import Network, seed_example
from chainrule.activations import LeakyReLU
from chainrule.cli import main
from chainrule.learn import Play, play, play_state, render_page
from chainrule.learn.play import MAX_INSTANCES, MAX_LAYERS, MAX_UNITS
from chainrule.losses import CrossEntropy

SIZE_LIMIT = 200 * 1024


def state_in(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="cr-state">(.*?)</script>', page, re.S)
    assert found, "no state in the page"
    return json.loads(found.group(1))


def test_seed_state_holds_the_seed_exactly():
    seed = seed_example()
    state = play_state(seed.network, seed.x, seed.y, lr=seed.lr, title=seed.title)
    assert state["x"] == [[0.5, 0.1]] and state["y"] == [[0.9]]
    assert state["layers"][0] == {
        "W": [[0.15, 0.2], [0.24, 0.3]],
        "b": [1.0, 1.0],
        "activation": "sigmoid",
    }
    assert state["loss"] == "half_squared_error" and state["reduction"] == "mean"
    assert state["lr"] == 0.5 and state["frozen"] == [] and state["from_logits"] is False
    # The page carries the state to the last bit: JSON floats round-trip.
    assert state_in(render_page(state)) == state


def test_state_keeps_frozen_names_alpha_and_from_logits():
    net = Network.from_sizes([3, 4, 2], [LeakyReLU(0.2), "identity"], random_state=0)
    net.freeze("W2")
    state = play_state(
        net, np.ones((2, 3)), [[1, 0], [0, 1]], lr=0.1, loss=CrossEntropy(from_logits=True),
        reduction="sum", freeze_biases=True,
    )  # fmt: skip
    assert state["layers"][0]["alpha"] == 0.2
    assert state["frozen"] == ["b1", "W2", "b2"]  # layer by layer
    assert state["from_logits"] is True and state["reduction"] == "sum"
    assert state["layers"][0]["W"] == net.layers[0].W.tolist()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"network": "net"}, TypeError, "network must be a Network, got str"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"reduction": "median"}, ValueError, "reduction"),
        ({"freeze_biases": "yes"}, TypeError, "freeze_biases must be True or False"),
        ({"title": 3}, TypeError, "title must be a string, got int"),
        ({"l2": -0.1}, ValueError, "l2 must be a finite number >= 0, got -0.1"),
        ({"y": [0.9, 0.1]}, ValueError, "y"),
        ({"loss": "hinge"}, ValueError, "unknown loss 'hinge'"),
        ({"loss": type("Hinge", (CrossEntropy,), {})()}, ValueError, "got Hinge"),
    ],
)
def test_bad_input_is_named(kwargs, error, message):
    seed = seed_example()
    args = {"network": seed.network, "x": seed.x, "y": seed.y, "lr": seed.lr, **kwargs}
    network = args.pop("network")
    with pytest.raises(error, match=re.escape(message)):
        play_state(network, args.pop("x"), args.pop("y"), **args)


def test_networks_too_big_for_the_page_are_refused():
    wide = Network.from_sizes([2, MAX_UNITS + 1, 1], random_state=0)
    with pytest.raises(ValueError, match=f"at most {MAX_UNITS} inputs and neurons"):
        play(wide, [0.0, 1.0], 1.0, lr=0.1)
    deep = Network.from_sizes([1] * (MAX_LAYERS + 2), random_state=0)
    with pytest.raises(ValueError, match=f"at most {MAX_LAYERS} layers"):
        play(deep, [0.0], 1.0, lr=0.1)
    net = Network.from_sizes([1, 1], random_state=0)
    with pytest.raises(ValueError, match=f"at most {MAX_INSTANCES} instances"):
        play(net, np.zeros((MAX_INSTANCES + 1, 1)), np.zeros(MAX_INSTANCES + 1), lr=0.1)


def test_the_page_is_self_contained_and_small_even_at_the_largest_size():
    sizes = [MAX_UNITS] * (MAX_LAYERS + 1)
    net = Network.from_sizes(sizes, "tanh", random_state=0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(MAX_INSTANCES, MAX_UNITS)), rng.normal(size=(MAX_INSTANCES, MAX_UNITS))
    page = play(net, x, y, lr=0.1).html
    assert len(page.encode("utf-8")) < SIZE_LIMIT
    # Nothing is fetched: no external scripts, styles, images or fonts.
    assert not re.search(r"\b(src|href)\s*=|@import|url\(", page)
    # The only URL is the SVG namespace, an identifier that is never loaded.
    assert set(re.findall(r"https?://[^\s\"']+", page)) == {"http://www.w3.org/2000/svg"}
    assert page.count("<script") == 2 and page.count("<style>") == 1


def test_a_title_cannot_close_the_script():
    seed = seed_example()
    title = "</script><script>alert(1)</script> & <b>"
    page = play(seed.network, seed.x, seed.y, lr=0.5, title=title).html
    assert page.count("<script") == 2
    assert state_in(page)["title"] == title
    assert f"<title>{html.escape(title)}" in page


def test_jupyter_shows_the_page_in_a_sandboxed_iframe():
    seed = seed_example()
    page = play(seed.network, seed.x, seed.y, lr=seed.lr)
    assert isinstance(page, Play)
    shown = page._repr_html_()
    srcdoc = re.search(r'srcdoc="([^"]*)"', shown).group(1)
    assert html.unescape(srcdoc) == page.html
    assert 'sandbox="allow-scripts"' in shown
    assert repr(page) == "Play(2-2-1, loss=half_squared_error, lr=0.5)"


def test_cli_play_writes_the_seed_page(tmp_path, capsys):
    out = tmp_path / "seed.html"
    assert main(["play", "--output", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    seed = seed_example()
    expected = play(seed.network, seed.x, seed.y, lr=seed.lr, title=seed.title).html
    assert out.read_text(encoding="utf-8") == expected


def test_cli_play_takes_a_spec_and_overrides(tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text(
        'x = [[1.0, 2.0], [0.5, -1.0]]\ny = [[1, 0], [0, 1]]\nlr = 0.3\nloss = "cross_entropy"\n'
        '[[layers]]\nW = [[0.1, -0.2], [0.3, 0.4]]\nb = [0, 0]\nactivation = "softmax"\n',
        encoding="utf-8",
    )
    out = tmp_path / "spec.html"
    argv = ["play", "--spec", str(spec), "--output", str(out), "--lr", "0.7", "--l2", "0.01"]
    assert main([*argv, "--reduction", "sum", "--freeze-biases"]) == 0
    state = state_in(out.read_text(encoding="utf-8"))
    assert state["l2"] == 0.01
    assert state["loss"] == "cross_entropy" and state["lr"] == 0.7
    assert state["reduction"] == "sum" and state["frozen"] == ["b1"]
    assert state["layers"][0]["activation"] == "softmax" and len(state["x"]) == 2


def test_cli_play_refuses_a_non_html_output(tmp_path, capsys):
    assert main(["play", "--output", str(tmp_path / "page.txt")]) == 2
    assert "--output must name an .html file" in capsys.readouterr().err
    assert not (tmp_path / "page.txt").exists()


def test_the_widget_carries_the_page():
    pytest.importorskip("anywidget")
    seed = seed_example()
    page = play(seed.network, seed.x, seed.y, lr=seed.lr)
    widget = page.widget()
    assert widget.html == page.html and widget.trace == {}
    assert "export default { render }" in widget._esm
    assert widget.height == 1220  # 1100 px and 60 for each of the 2 neurons of a layer


def test_the_widget_names_its_extra_without_anywidget(monkeypatch):
    monkeypatch.setattr(sys.modules[Play.__module__], "_WIDGET", [])
    monkeypatch.setitem(sys.modules, "anywidget", None)  # import anywidget now fails
    seed = seed_example()
    page = play(seed.network, seed.x, seed.y, lr=seed.lr)
    with pytest.raises(ImportError, match=re.escape("pip install 'chainrule[widget]'")):
        page.widget()


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_seed_play_example_is_current(tmp_path):
    out = tmp_path / "seed-play.html"
    assert main(["play", "--output", str(out)]) == 0
    assert (EXAMPLES / "seed-play.html").read_text(encoding="utf-8") == out.read_text(
        encoding="utf-8"
    ), "examples/seed-play.html is stale: chainrule play --output examples/seed-play.html"
    assert (EXAMPLES / "seed-play.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    assert "](examples/seed-play.png)" in readme and "chainrule play" in readme


def test_cr_play_is_the_page():
    import chainrule as cr

    seed = seed_example()
    assert cr.play is play and "play" in cr.__all__
    assert (
        cr.play(seed.network, seed.x, seed.y, lr=seed.lr).html
        == Play(play_state(seed.network, seed.x, seed.y, lr=seed.lr)).html
    )


def test_every_play_option_states_its_default_in_help():
    from chainrule.cli import build_parser

    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    sub = commands.choices["play"]
    formatter = sub._get_formatter()
    actions = [a for a in sub._actions if a.option_strings and a.dest != "help"]
    assert len(actions) == 7
    for action in actions:
        assert "default" in formatter._get_help_string(action), action.option_strings
