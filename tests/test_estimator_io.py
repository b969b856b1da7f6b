"""Estimator model files: exact round trips, no pickle, clear errors.

The expected predictions are the estimator's own before saving: a round trip must
reproduce them bit for bit (same bytes, same dtype), in float32 and float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule import ModelFileError

pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
from chainrule import MLPClassifier, MLPRegressor

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
TARGETS = {
    "binary-ints": RNG.integers(0, 2, 60) * 5 - 2,
    "multiclass-strings": np.array(["cat", "dog", "emu"])[RNG.integers(0, 3, 60)],
    "binary-bools": RNG.random(60) > 0.5,
    "multiclass-object-strings": np.array(["a", "bb", "c"], dtype=object)[RNG.integers(0, 3, 60)],
    "multilabel": (RNG.random((60, 3)) > 0.5).astype(int),
}


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_classifier_round_trip_is_exact(tmp_path, dtype, target):
    y = TARGETS[target]
    clf = MLPClassifier((6, 5), max_iter=8, random_state=0, dtype=dtype, early_stopping=True)
    clf.fit(X, y)
    path = clf.save(tmp_path / "clf.safetensors")
    loaded = MLPClassifier.load(path)
    assert _same_array(loaded.predict_proba(X), clf.predict_proba(X))
    assert _same_array(np.asarray(loaded.predict(X)), np.asarray(clf.predict(X)))
    assert _same_array(loaded.classes_, clf.classes_)
    assert loaded.get_params() == clf.get_params()
    for name in ("loss_curve_", "validation_scores_", "n_iter_", "t_", "n_features_in_"):
        assert getattr(loaded, name) == getattr(clf, name)
    assert loaded.history_.history == clf.history_.history
    assert chainrule.load(path).score(X, y) == clf.score(X, y)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_regressor_round_trip_is_exact(tmp_path, dtype, n_outputs):
    y = X[:, :n_outputs] @ np.eye(n_outputs) * 2 + 1
    y = y[:, 0] if n_outputs == 1 else y
    reg = MLPRegressor((7,), max_iter=5, random_state=1, dtype=dtype).fit(X, y)
    loaded = chainrule.load(chainrule.save(reg, tmp_path / "reg.safetensors"))
    assert isinstance(loaded, MLPRegressor)
    assert _same_array(loaded.predict(X), reg.predict(X))
    assert loaded.get_params() == reg.get_params()


def test_hyperparameters_feature_names_and_continued_training(tmp_path):
    pd = pytest.importorskip("pandas", reason="feature names come from a DataFrame")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    y = TARGETS["binary-ints"]
    params = {
        "hidden_layer_sizes": (5,),
        "activation": ["tanh"],
        "class_weight": {-2: 1.5, 3: 0.5},
        "dtype": np.float32,
        "solver": "sgd",
        "random_state": 3,
        "max_iter": 4,
    }
    clf = MLPClassifier(**params).fit(frame, y)
    loaded = MLPClassifier.load(clf.save(tmp_path / "c.safetensors"))
    assert list(loaded.feature_names_in_) == ["a", "b", "c", "d"]
    assert loaded.get_params() == clf.get_params()
    assert isinstance(loaded.hidden_layer_sizes, tuple)
    # The optimizer state is saved too: partial_fit continues exactly as before.
    clf.partial_fit(frame, y)
    loaded.partial_fit(frame, y)
    assert _same_array(loaded.predict_proba(frame), clf.predict_proba(frame))
    assert loaded.loss_curve_ == clf.loss_curve_
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"a": "z"}))


def test_wrong_class_unfitted_and_unsavable(tmp_path):
    reg = MLPRegressor((3,), max_iter=2, random_state=0).fit(X, X[:, 0])
    path = reg.save(tmp_path / "r.safetensors")
    with pytest.raises(ModelFileError, match="holds a MLPRegressor, not a MLPClassifier"):
        MLPClassifier.load(path)
    with pytest.raises(ValueError, match="not fitted"):
        MLPClassifier().save(tmp_path / "c.safetensors")
    assert not (tmp_path / "c.safetensors").exists()


def test_inconsistent_description_is_refused(tmp_path):
    """A file whose checksum is right but whose classes do not fit the network."""
    clf = MLPClassifier((3,), max_iter=2, random_state=0).fit(X, TARGETS["multiclass-strings"])
    path = clf.save(tmp_path / "c.safetensors")

    def two_classes(fitted):
        fitted["classes_"]["values"] = ["cat", "dog"]  # the network has 3 outputs

    with pytest.raises(ModelFileError, match="does not fit multiclass classes"):
        chainrule.load(_forge(tmp_path, path, two_classes))


def _forge(tmp_path, path, change):
    """The file at ``path`` with its fitted record changed in place by ``change``, its
    checksum made right again: only the library's own checks can refuse it."""
    import hashlib
    import json
    import struct

    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header, data = json.loads(raw[8 : 8 + n]), raw[8 + n :]
    meta = json.loads(header["__metadata__"]["chainrule"])
    change(meta["model"]["fitted"])
    text = json.dumps(meta)
    header["__metadata__"] = {
        "chainrule": text,
        "chainrule_sha256": hashlib.sha256(text.encode() + data).hexdigest(),
    }
    encoded = json.dumps(header).encode()
    forged = tmp_path / "forged"
    forged.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)
    return forged


def _adaptive() -> MLPClassifier:
    # tol=1.0 cannot be met: each run out of patience (2 epochs) divides the rate by 5.
    clf = MLPClassifier(
        (5,),
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.1,
        tol=1.0,
        n_iter_no_change=2,
        max_iter=9,
        random_state=0,
    )
    with pytest.warns(Warning):  # not converged, as scikit-learn says
        return clf.fit(X, TARGETS["multiclass-strings"])


def test_an_adaptive_rates_cuts_survive_save_and_load(tmp_path):
    clf = _adaptive()
    assert len(clf.history_.rate_cuts) >= 2  # the run is one that cuts its rate
    loaded = MLPClassifier.load(clf.save(tmp_path / "clf.safetensors"))
    assert loaded.history_.rate_cuts == clf.history_.rate_cuts


def test_rate_cuts_in_a_file_are_checked_and_may_be_absent(tmp_path):
    path = _adaptive().save(tmp_path / "clf.safetensors")
    older = _forge(tmp_path, path, lambda fitted: fitted["history"].pop("rate_cuts"))
    assert MLPClassifier.load(older).history_.rate_cuts == []  # a file from before them

    def bad(fitted):
        fitted["history"]["rate_cuts"] = [[2, -0.5]]

    with pytest.raises(ModelFileError, match="rate_cuts must be a list"):
        MLPClassifier.load(_forge(tmp_path, path, bad))
