"""The explanation formats: LaTeX compiles, HTML is offline and well formed, the SVG
diagram, the three ways of every step, conventions, batches, checks and notebooks."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from chainrule import Network, Trace, explain, seed_example, train_step

PDFLATEX = shutil.which("pdflatex")


def seed_explanation(**kwargs):
    seed = seed_example()
    kwargs.setdefault("lr", seed.lr)
    return explain(seed.network, seed.x, seed.y, title=seed.title, **kwargs)


def batch_explanation(**kwargs):
    net = Network.from_sizes([2, 3, 3], ["relu", "softmax"], random_state=2)
    X = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]])
    y = np.eye(3)[[0, 2, 1]]
    return explain(net, X, y, lr=0.1, loss="cross_entropy", title="a softmax batch", **kwargs)


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (texlive-latex-base)")
@pytest.mark.parametrize("make", [seed_explanation, batch_explanation])
def test_latex_document_compiles(make, tmp_path):
    (tmp_path / "doc.tex").write_text(make().render("latex"), encoding="utf-8")
    run = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 10_000


def test_latex_holds_the_seed_numbers_and_conventions():
    tex = seed_explanation().render("latex")
    assert tex.startswith(r"\documentclass") and r"\end{document}" in tex
    for number in ("1.099", "0.746095", "-0.021869", "0.001093", "0.011843", "0.010953"):
        assert number in tex
    assert r"half\_squared\_error" in tex and "lr = 0.5" in tex


@pytest.mark.parametrize("make", [seed_explanation, batch_explanation])
def test_html_is_self_contained_and_well_formed(make):
    page = make().render("html")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    # No external resource: the only URLs are XML namespace names.
    urls = re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>]*", page)
    assert all(u.startswith("http://www.w3.org/") for u in urls), urls
    assert not re.search(r"(src|href)=", page)
    body = page.split("<body>\n", 1)[1].rsplit("\n</body>", 1)[0]
    ET.fromstring(body)  # the MathML, SVG and HTML parse as XML
    assert page.count("<math") > 20


def test_every_step_is_shown_three_ways_with_entries_for_small_networks():
    d = seed_explanation().derivation()
    keys = [step.key for step in d.steps()]
    assert keys[:4] == ["inL1", "outL1", "inL2", "outL2"]
    for k in (1, 2):
        step = d.step(f"dEdW{k}")
        assert step.general.text() == f"dE/dW{k} = dE/doutL{k} * doutL{k}/dinL{k} * dinL{k}/dW{k}"
        assert "(2x" in step.matrix.text()  # shapes
        assert len(step.scalars) == step.value.size  # one line per weight
    assert d.step("dEdB1").scalars[1].text().endswith("= (-0.014578) * 0.184546 * 1 = -0.00269")
    big = Network.from_sizes([4, 8, 6, 2], "tanh", random_state=0)
    d_big = explain(big, np.ones(4), [0.1, 0.2], lr=0.1).derivation()
    assert all(step.scalars == () for step in d_big.steps())  # 16 neurons: no entries
    forced = explain(big, np.ones(4), [0.1, 0.2], lr=0.1, scalars=True).derivation()
    assert len(forced.step("dEdW1").scalars) == 32


def test_gradients_sit_beside_central_differences():
    d = seed_explanation().derivation()
    for name in ("W1", "b1", "W2", "b2"):
        key = f"dEd{name}" if name[0] == "W" else f"dEdB{name[1]}"
        step = d.step(key)
        assert step.numeric is not None
        np.testing.assert_allclose(step.numeric.reshape(step.value.shape), step.value, atol=1e-9)
    text = seed_explanation().render("text", derive=True)
    assert "#   central difference: [[-0.021869] [-0.022037]]" in text


def test_error_table_over_steps_matches_repeated_training():
    seed = seed_example()
    md = seed_explanation(steps=4).render("markdown")
    net = seed.network.copy()
    expected = [train_step(net, seed.x, seed.y, lr=seed.lr) for _ in range(4)]
    expected.append(net.loss(seed.x, seed.y))
    rows = re.findall(r"^\| (\d) \| ([\d.]+) \|$", md, flags=re.M)
    assert [int(step) for step, _ in rows] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([float(e) for _, e in rows], expected, atol=5e-7)
    assert rows[0][1] == "0.011843" and rows[1][1] == "0.010953"  # the seed's


def test_conventions_are_switchable_and_stated():
    seed = seed_example()
    frozen = seed_explanation(freeze_biases=True)
    assert np.array_equal(frozen.trace["b1_new"], [1.0, 1.0])
    assert "kept fixed (frozen): b1, b2" in frozen.render("markdown")
    assert np.array_equal(seed.network.params["b1"], [1.0, 1.0])  # the caller's net untouched
    # MSE of one output is twice the half sum of squares: dE/dyhat = 2 (yhat - y).
    mse = seed_explanation(loss="mse")
    np.testing.assert_allclose(mse.trace["dEdOutL2"], 2 * (0.746095 - 0.9), atol=2e-6)
    assert "Loss: mean_squared_error" in mse.render("markdown")
    md = mse.render("markdown")
    assert r"= 2 \cdot (\mathit{outL2} - y)" in md and "tfrac{2}{1}" not in md
    # Mean vs sum over a batch: the sum's gradients are n times the mean's.
    mean, total = batch_explanation(), batch_explanation(reduction="sum")
    np.testing.assert_allclose(total.trace["dEdW1"], 3 * mean.trace["dEdW1"])
    assert "reduction='sum'" in total.render("markdown")
    assert r"\tfrac{1}{3}" in mean.render("markdown")
    assert "lr = 0.05" in seed_explanation(lr=0.05).render("latex")


def test_batch_shows_per_instance_deltas_then_the_reduction():
    md = batch_explanation().render("markdown")
    assert "3 * dEdInL1[s] (the mean's 1/3 taken out)" in md
    assert "Batch: 3 instances; the batch error E is the mean" in md
    step = batch_explanation().derivation().step("dEdB2")
    assert "1/3 * (de[1]/db2 + de[2]/db2 + de[3]/db2)" in step.per_instance[-1].text()


def test_svg_diagram_forward_and_backward():
    svg = seed_explanation().diagram()
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    circles = root.findall("{http://www.w3.org/2000/svg}circle")
    assert len(circles) == 2 * 5  # 2 + 2 + 1 neurons, in each view
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for label in ("0.15", "-0.4", "0.7501", "-0.0219", "0.0011", "-0.0292"):
        assert label in texts, label
    assert "\n\n" not in svg  # fits in Markdown as one HTML block
    # Markdown links the diagram (GitHub strips inline SVG); HTML embeds it.
    md = seed_explanation().render("markdown", diagram="seed.svg")
    assert "<svg" not in md and "](seed.svg)" in md
    assert "<svg" in seed_explanation().render("html")
    with pytest.raises(ValueError, match="view must be"):
        seed_explanation().diagram(view="sideways")


def test_jupyter_reprs():
    explanation = seed_explanation()
    assert "<math" in explanation._repr_html_() and "<!DOCTYPE" not in explanation._repr_html_()
    assert explanation._repr_markdown_().startswith("# One training step")
    seed = seed_example()
    trace = Trace()
    train_step(seed.network, seed.x, seed.y, lr=seed.lr, tracer=trace)
    assert "0.746095" in trace._repr_html_() and "```math" in trace._repr_markdown_()
    partial = Trace()
    seed.network.forward(seed.network.check_X(seed.x), partial)
    assert "<table>" in partial._repr_html_() and "`outL2`" in partial._repr_markdown_()


def test_bad_arguments_are_refused():
    seed = seed_example()
    with pytest.raises(ValueError, match="format must be one of"):
        seed_explanation().render("pdf")
    with pytest.raises(ValueError, match="precision"):
        seed_explanation().render("markdown", precision=-1)
    with pytest.raises(TypeError, match="freeze_biases"):
        explain(seed.network, seed.x, seed.y, lr=0.5, freeze_biases="yes")
    with pytest.raises(ValueError, match="lr"):
        explain(seed.network, seed.x, seed.y, lr=0.0)


def test_large_batches_and_networks_are_summarised():
    rng = np.random.default_rng(0)
    net = Network.from_sizes([3, 4, 2], "sigmoid", random_state=0)
    X, y = rng.normal(size=(20, 3)), rng.uniform(size=(20, 2))
    d = explain(net, X, y, lr=0.1).derivation()
    assert "20 per-instance gradients are not listed" in d.step("dEdW1").per_instance[0].text()
    assert d.step("dEdW1").scalars == ()  # 20 instances: no entry-by-entry sums
    big = Network.from_sizes([30, 50, 10], "relu", random_state=0)  # 2060 parameters
    assert explain(big, np.ones(30), np.ones(10), lr=0.1).checks == {}
    small = Network.from_sizes([3, 2], "relu", random_state=0)
    assert explain(small, np.ones(3), np.ones(2), lr=0.1, gradcheck=False).checks == {}
