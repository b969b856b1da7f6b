"""The seed's HTML explanation as a person sees it: rendered by headless Chromium.

Needs Debian's ``chromium`` (``.ci/run`` installs it); skipped, saying so, without it.
Chromium runs with the network shut off (every host name resolves to nothing), so a
page that needed a CDN would show up here as missing maths or a console error.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from chainrule import explain, seed_example

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
# The seed notebook's printed values, as the page must show them.
SEED_NUMBERS = [
    "1.099", "1.13", "0.750073", "0.755839", "1.07789", "0.746095", "0.011843",
    "-0.153905", "-0.029155", "-0.021869", "-0.022037", "0.011662", "-0.014578",
    "0.002186", "-0.00269", "0.001093", "-0.001345", "0.000219", "-0.000269", "0.010953",
]  # fmt: skip


def chromium(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def console_messages(stderr: str) -> list[str]:
    return re.findall(r"CONSOLE[^\]]*\] (.*)", stderr)


def png_pixels(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB or RGBA PNG (what Chromium writes) to (height, width, channels)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, *_ = header
    assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth=} {colour=}"
    channels = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), dtype=np.int32)
    for r in range(height):
        kind, line = raw[r, 0], raw[r, 1:].astype(np.int32)
        prev = out[r - 1] if r else np.zeros_like(line)
        if kind == 0:
            out[r] = line
        elif kind == 2:
            out[r] = (line + prev) % 256
        else:  # Sub, Average and Paeth depend on the pixel to the left: go byte by byte.
            row = out[r]
            for i in range(len(line)):
                left = row[i - channels] if i >= channels else 0
                up, up_left = prev[i], prev[i - channels] if i >= channels else 0
                if kind == 1:
                    pred = left
                elif kind == 3:
                    pred = (left + up) // 2
                else:
                    p = left + up - up_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                row[i] = (line[i] + pred) % 256
    return out.reshape(height, width, channels)[:, :, :3]


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seed = seed_example()
    page = tmp_path_factory.mktemp("html") / "seed.html"
    html = explain(seed.network, seed.x, seed.y, lr=seed.lr, title=seed.title).render("html")
    page.write_text(html, encoding="utf-8")
    return page


def test_seed_page_shows_the_seed_numbers_without_console_errors(seed_page, tmp_path):
    run = chromium(seed_page, tmp_path, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_messages(run.stderr) == []
    dom = run.stdout
    assert "<math" in dom and "<svg" in dom
    shown = set(re.findall(r"-?\d+\.\d+", dom))
    missing = [n for n in SEED_NUMBERS if n not in shown]
    assert not missing, f"numbers not on the page: {missing}"


def test_seed_page_screenshot_is_not_blank(seed_page, tmp_path):
    shot = tmp_path / "seed.png"
    run = chromium(seed_page, tmp_path, f"--screenshot={shot}", "--window-size=900,1400")
    assert shot.exists(), run.stderr[-2000:]
    assert console_messages(run.stderr) == []
    pixels = png_pixels(shot)
    assert pixels.shape[:2] == (1400, 900)
    ink = (pixels.sum(axis=2) < 3 * 200).mean()  # share of pixels clearly not white
    assert ink > 0.01, f"only {ink:.2%} of the screenshot is drawn"
    # The diagram's edges are drawn in blue (weights >= 0) and red (< 0).
    blue = ((pixels[:, :, 2] > 150) & (pixels[:, :, 0] < 120)).sum()
    red = ((pixels[:, :, 0] > 150) & (pixels[:, :, 2] < 120)).sum()
    assert blue > 100 and red > 100


def test_the_checks_catch_a_broken_page(tmp_path):
    # The same checks on a page that logs an error and draws nothing must fail.
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    run = chromium(page, tmp_path, "--dump-dom")
    assert any("undefinedFunction" in m for m in console_messages(run.stderr))
    shot = tmp_path / "blank.png"
    chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=300,200")
    assert (png_pixels(shot).sum(axis=2) < 3 * 200).mean() == 0
