"""Structure-aware file fuzzing, with peak memory measured in a child process.

The files are built to cost memory rather than to be malformed: JSON bombs at the
largest header the cap allows (and far beyond it), bombs nested in the metadata's own
JSON and re-signed, headers in other encodings, huge declared data in sparse files, and
estimator files whose hyper-parameters claim a huge network. Each is loaded in a child
process that runs under an address-space limit (``RLIMIT_AS``, 1 GiB above what the
child holds when it starts measuring), so that a file that would cost gigabytes fails
there instead of exhausting the machine. The promise checked: every file is refused
with a ModelFileError, and neither the child's peak resident size (the kernel's
high-water mark ``VmHWM``, reset before a first pass; ``ru_maxrss`` would include the
parent's peak) nor any single load's Python allocations (``tracemalloc``, a second
pass) grows by more than 64 MiB.

The random cases come from a seeded generator (``CHAINRULE_FUZZ_SEED``, default 0;
``CHAINRULE_FUZZ_MEMORY_CASES`` sets how many, default 40).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule.io.safetensors import MAX_HEADER_BYTES

from ._forge import resign

resource = pytest.importorskip("resource", reason="memory limits are POSIX-only")
if not Path("/proc/self/status").exists():
    pytest.skip("the child reads its address space from /proc (Linux)", allow_module_level=True)

pytestmark = pytest.mark.slow
MIB = 2**20
BUDGET = 64 * MIB
SEED = int(os.environ.get("CHAINRULE_FUZZ_SEED", "0"))
CASES = int(os.environ.get("CHAINRULE_FUZZ_MEMORY_CASES", "40"))

CHILD = textwrap.dedent(
    """
    import json, resource, sys, tracemalloc
    import chainrule
    from chainrule import ModelFileError

    good, paths = sys.argv[1], json.loads(sys.argv[2])
    for path in good.split(","):  # warm up: every import and code path a load takes
        chainrule.load(path)
    status = open("/proc/self/status").read()
    vm = int(next(l for l in status.splitlines() if l.startswith("VmSize:")).split()[1]) * 1024
    limit = vm + 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def load(path):
        try:
            (chainrule.load_checkpoint if path.endswith(".ckpt") else chainrule.load)(path)
        except ModelFileError as exc:
            return "refused", str(exc)[:300]
        except MemoryError:
            return "MemoryError", ""
        except Exception as exc:
            return type(exc).__name__, str(exc)[:300]
        return "loaded", ""

    def status(field):
        lines = open("/proc/self/status").read().splitlines()
        return int(next(l for l in lines if l.startswith(field + ":")).split()[1]) * 1024

    # The peak resident size since now: ru_maxrss would also count the parent's peak
    # before exec, so the kernel's high-water mark is reset and read instead.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS")
    outcomes = [load(path) for path in paths]
    rss_growth = status("VmHWM") - before
    peaks = []
    for path in paths:
        tracemalloc.start()
        load(path)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    print(json.dumps({"rss_growth": rss_growth, "outcomes": outcomes, "peaks": peaks}))
    """
)


def _raw(path: Path, text: bytes, data: bytes = b"", declared: int | None = None) -> Path:
    n = len(text) if declared is None else declared
    path.write_bytes(struct.pack("<Q", n) + text + data)
    return path


def _signed(path: Path, inner: str, tensors: dict[str, np.ndarray] | None = None) -> Path:
    """A safetensors file whose chainrule metadata is ``inner``, with a valid checksum."""
    tensors = tensors or {"W1": np.ones((2, 1))}
    table, data, offset = {}, b"", 0
    for name, array in tensors.items():
        raw = array.astype("<f8").tobytes()
        table[name] = {
            "dtype": "F64",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        offset, data = offset + len(raw), data + raw
    digest = hashlib.sha256(inner.encode() + data).hexdigest()
    header = {"__metadata__": {"chainrule": inner, "chainrule_sha256": digest}, **table}
    return _raw(path, json.dumps(header).encode(), data)


def _fill(template: str, budget: int, open_: str = "[", close: str = "]") -> str:
    """``template`` repeated, comma-separated, inside brackets, to about ``budget`` chars."""
    n = max(1, (budget - len(open_) - len(close)) // (len(template) + 1))
    return open_ + ",".join([template] * n) + close


def _sparse(path: Path, prefix: bytes, size: int) -> Path:
    with open(path, "wb") as f:
        f.write(prefix)
        f.truncate(size)
    return path


def _bombs(folder: Path) -> list[Path]:
    """The named cases: one per kind of attack the review found or the format allows."""
    near = MAX_HEADER_BYTES - 64
    files = [
        _raw(folder / "objects.st", ('{"x":' + _fill("{}", near) + "}").encode()),
        _raw(folder / "strings.st", ('{"x":' + _fill('"ab"', near) + "}").encode()),
        _raw(folder / "floats.st", ('{"x":' + _fill("1e308", near) + "}").encode()),
        _raw(folder / "deep.st", ("[" * (near // 2) + "]" * (near // 2)).encode()),
        _raw(folder / "digits.st", ('{"x":' + "7" * near + "}").encode()),
        _raw(folder / "wide-chars.st", ('{"x":"' + "\U0001f600" * (near // 4 - 4) + '"}').encode()),
        _raw(folder / "long-key.st", ('{"' + "k" * near + '":1}').encode()),
        _raw(folder / "review-94MB.st", b'{"x":[' + b"{}," * 31_000_000 + b"{}]}"),
        _signed(folder / "inner-objects.st", _fill("{}", near - 400)),
        _signed(folder / "inner-strings.st", _fill('"abcdefgh"', near - 400)),
        _signed(folder / "inner-escapes.st", '"' + "\\u00e9" * (near // 7) + '"'),
        _signed(folder / "inner-bomb.ckpt", _fill("[]", near - 400)),
    ]
    model = chainrule.save(chainrule.seed_example().network, folder / "seed.st").read_bytes()
    (n,) = struct.unpack("<Q", model[:8])
    for encoding in ("utf-16-le", "utf-16", "utf-32-be"):
        text = model[8 : 8 + n].decode().encode(encoding)
        files.append(_raw(folder / f"enc-{encoding}.st", text, model[8 + n :]))
    three_gib = 3 * 2**30
    entry = {"x": {"dtype": "U8", "shape": [three_gib], "data_offsets": [0, three_gib]}}
    head = json.dumps(entry).encode()
    files.append(
        _sparse(folder / "3GB.st", struct.pack("<Q", len(head)) + head, 8 + len(head) + three_gib)
    )
    files.append(_sparse(folder / "model-then-3GB.st", model, len(model) + three_gib))
    return files


def _estimator_forgeries(folder: Path) -> tuple[Path, list[Path]]:
    pytest.importorskip("sklearn", reason="the estimator cases need scikit-learn")
    rng = np.random.default_rng(SEED)
    X, y = rng.normal(size=(30, 3)), rng.normal(size=30)
    good = chainrule.save(
        chainrule.MLPRegressor((4,), max_iter=3, random_state=0).fit(X, y), folder / "est.st"
    )
    forged = {
        "huge-sizes": ("hidden_layer_sizes", {"tuple": [60000, 60000]}),
        "code-name": ("activation", "os.system"),
        "nan-rate": ("learning_rate_init", float("nan")),
        "other-dtype": ("dtype", {"dtype": "float32"}),
        "other-dropout": ("dropout", 0.5),
    }
    files = []
    for name, (field, value) in forged.items():
        path = folder / f"est-{name}.st"
        path.write_bytes(good.read_bytes())
        resign(path, lambda meta, f=field, v=value: meta["model"]["params"].__setitem__(f, v))
        files.append(path)
    return good, files


def _random_cases(folder: Path, count: int) -> list[Path]:
    """Seeded structure-aware cases: a template, a size near a limit, a place in the file."""
    templates = ["{}", "[]", '"x"', "0", "1.5e300", "null", '{"a":[]}', '[{"b":{}}]', '"\\u00ff"']
    places = ["outer", "metadata", "inner"]
    rng = random.Random(SEED)
    files = []
    for i in range(count):
        template, place = rng.choice(templates), rng.choice(places)
        budget = rng.choice([MAX_HEADER_BYTES - 512, MAX_HEADER_BYTES // 2, MAX_HEADER_BYTES // 8])
        body = _fill(template, budget)
        path = folder / f"random-{i}-{place}.st"
        if place == "outer":
            _raw(path, ('{"x":' + body + "}").encode())
        elif place == "metadata":
            _raw(path, json.dumps({"__metadata__": {"chainrule": body}}).encode())
        else:
            _signed(path, '{"format":"chainrule","model":' + body + "}")
        files.append(path)
    return files


def _run_child(good: list[Path], files: list[Path]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, ",".join(map(str, good)), json.dumps(list(map(str, files)))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _check(report: dict, files: list[Path]) -> None:
    outcomes = dict(zip((f.name for f in files), report["outcomes"], strict=True))
    peaks = dict(zip((f.name for f in files), report["peaks"], strict=True))
    print(
        f"rss growth {report['rss_growth'] / MIB:.1f} MiB; largest tracemalloc peak "
        f"{max(peaks.values()) / MIB:.1f} MiB ({max(peaks, key=peaks.get)})"
    )
    assert {name: kind for name, (kind, _) in outcomes.items() if kind != "refused"} == {}
    assert all(len(message) < 300 for _, message in outcomes.values())
    assert report["rss_growth"] <= BUDGET
    assert {name: peak for name, peak in peaks.items() if peak > BUDGET} == {}


def test_header_bombs_encodings_and_big_data_cost_little(tmp_path):
    files = _bombs(tmp_path)
    good = chainrule.save(chainrule.seed_example().network, tmp_path / "good.st")
    _check(_run_child([good], files), files)


def test_forged_estimator_settings_cost_little(tmp_path):
    good, files = _estimator_forgeries(tmp_path)
    _check(_run_child([good], files), files)


def test_seeded_structure_aware_cases_cost_little(tmp_path):
    files = _random_cases(tmp_path, CASES)
    good = chainrule.save(chainrule.seed_example().network, tmp_path / "good.st")
    _check(_run_child([good], files), files)


def test_the_child_limit_catches_a_runaway_load(tmp_path):
    # The harness can fail: a load that allocates gigabytes is stopped by the limit and
    # reported as a MemoryError, which _check does not pass.
    call = '(chainrule.load_checkpoint if path.endswith(".ckpt") else chainrule.load)(path)'
    assert call in CHILD
    script = CHILD.replace(call, "bytearray(3 * 2**30)")
    good = chainrule.save(chainrule.seed_example().network, tmp_path / "good.st")
    result = subprocess.run(
        [sys.executable, "-c", script, str(good), json.dumps([str(good)])],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["outcomes"] == [["MemoryError", ""]]
    with pytest.raises(AssertionError):
        _check(report, [good])


def test_a_large_legitimate_checkpoint_costs_its_tensors_and_little_more(tmp_path):
    # The other side of the promise: a file that declares 96 MiB of tensors loads with
    # at most 64 MiB above them (no copy of the data section, no temporary per tensor).
    declared = 96 * MIB
    params = {"W1": np.ones((declared // 8 // 1000, 1000))}
    path = chainrule.save_checkpoint(
        tmp_path / "big.ckpt", params, {}, np.random.default_rng(0), {}, {}
    )
    good = chainrule.save(chainrule.seed_example().network, tmp_path / "good.st")
    report = _run_child([good], [path])
    assert report["outcomes"] == [["loaded", ""]]
    print(f"rss growth {report['rss_growth'] / MIB:.1f} MiB for {declared / MIB:.0f} MiB")
    assert report["rss_growth"] <= declared + BUDGET
    assert report["peaks"][0] <= declared + BUDGET
