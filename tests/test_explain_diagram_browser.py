"""The diagrams as a browser draws them: no two labels overlap, nothing scrolls sideways.

Headless Chromium lays out each SVG (the network diagram of the seed's 2-2-1 network,
a 3-4-2, a 4-5-3 and a 5-layer network, and the computational graphs), and a small
script reports the bounding box of every text label; no two may overlap. The seed's
HTML page, at a phone's 420 px, must not be wider than the window. Skipped, saying so,
without Chromium.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from html import escape
from pathlib import Path

import numpy as np
import pytest

from chainrule import Network, explain, seed_example

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=5000"]  # fmt: skip

MEASURE = """
<script>
window.addEventListener("load", () => {
  const boxes = [...document.querySelectorAll("svg text")].map((t) => {
    const r = t.getBoundingClientRect();
    return [t.childNodes[0].nodeValue, r.left, r.top, r.right, r.bottom];
  });
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({boxes, scrollWidth: document.documentElement.scrollWidth,
                                    innerWidth: window.innerWidth});
  document.body.appendChild(out);
});
</script>
"""


def measure(html: str, tmp_path: Path, width: int = 1400) -> dict:
    """Load ``html`` (plus the measuring script) and return what the script reported."""
    page = tmp_path / f"page{len(list(tmp_path.iterdir()))}.html"
    if 'id="phone"' not in html:
        html = html.replace("</body>", MEASURE + "</body>")
    page.write_text(html, encoding="utf-8")
    run = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         f"--window-size={width},900", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    found = re.search(r'<pre id="measured">(.*?)</pre>', run.stdout, re.S)
    assert found, run.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def svg_page(svg: str) -> str:
    return f'<!DOCTYPE html><html><body style="margin:0">{svg}</body></html>'


def overlapping(boxes: list) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes overlap by more than half a pixel each way."""
    out = []
    for a, b in itertools.combinations(boxes, 2):
        dx = min(a[3], b[3]) - max(a[1], b[1])
        dy = min(a[4], b[4]) - max(a[2], b[2])
        if dx > 0.5 and dy > 0.5:
            out.append((a[0], b[0]))
    return out


def _network(sizes, acts, n=1, seed=0):
    net = Network.from_sizes(sizes, acts, random_state=seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.uniform(size=(n, sizes[-1]))
    return explain(net, X, y, lr=0.1)


def _seed():
    seed = seed_example()
    return explain(seed.network, seed.x, seed.y, lr=seed.lr)


NETWORKS = {
    "2-2-1 (the seed)": _seed,
    "3-4-2": lambda: _network([3, 4, 2], ["tanh", "sigmoid"], n=3, seed=1),
    "4-5-3": lambda: _network([4, 5, 3], ["relu", "sigmoid"], seed=2),
    "5 layers": lambda: _network(
        [2, 3, 3, 3, 3, 1], ["relu", "tanh", "relu", "tanh", "identity"], seed=3
    ),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_no_two_labels_of_the_diagram_overlap(name, tmp_path):
    explanation = NETWORKS[name]()
    found = measure(svg_page(explanation.diagram()), tmp_path)
    labels = [b[0] for b in found["boxes"]]
    assert len(labels) > 20  # the labels are there to be measured
    assert "-0.4" in labels or name != "2-2-1 (the seed)"
    assert overlapping(found["boxes"]) == []


@pytest.mark.parametrize("name", ["2-2-1 (the seed)", "3-4-2", "4-5-3"])
def test_no_two_labels_of_the_computational_graph_overlap(name, tmp_path):
    found = measure(svg_page(NETWORKS[name]().graph()), tmp_path)
    assert len(found["boxes"]) > 20
    assert overlapping(found["boxes"]) == []


def test_the_overlap_check_catches_overlapping_labels(tmp_path):
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
           '<text x="10" y="50">-0.0219</text><text x="30" y="52">0.75</text>'
           '<text x="10" y="90">apart</text></svg>')  # fmt: skip
    found = measure(svg_page(svg), tmp_path)
    assert overlapping(found["boxes"]) == [("-0.0219", "0.75")]


PHONE = """
<script>
window.addEventListener("load", () => {
  const frame = document.getElementById("phone");
  const doc = frame.contentDocument;
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({boxes: [], scrollWidth: doc.documentElement.scrollWidth,
                                    innerWidth: frame.contentWindow.innerWidth});
  document.body.appendChild(out);
});
</script>
"""


def on_a_phone(html: str, tmp_path: Path) -> dict:
    """The page inside a 420 px wide frame (Chromium's own window is at least 500 px)."""
    frame = (f'<!DOCTYPE html><html><body><iframe id="phone" width="420" height="900" '
             f'srcdoc="{escape(html, quote=True)}"></iframe>{PHONE}</body></html>')  # fmt: skip
    return measure(frame, tmp_path)


def test_the_seed_page_does_not_scroll_sideways_on_a_phone(tmp_path):
    seed = seed_example()
    html = explain(seed.network, seed.x, seed.y, lr=seed.lr, title=seed.title).render("html")
    found = on_a_phone(html, tmp_path)
    assert found["innerWidth"] == 420
    assert found["scrollWidth"] <= found["innerWidth"], found["scrollWidth"]
    # the check can fail: a page with a fixed 600 px wide drawing scrolls
    wide = svg_page('<svg xmlns="http://www.w3.org/2000/svg" width="600" height="10"></svg>')
    found = on_a_phone(wide, tmp_path)
    assert found["scrollWidth"] > found["innerWidth"]
