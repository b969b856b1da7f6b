"""Where the fit loop's batches come from: arrays in memory, a memmap, or an iterable.

:func:`batch_source` picks one of three sources for :func:`chainrule.training.fit`:

- :class:`ArraySource`: ``X`` and ``y`` in memory, checked once; each epoch draws a new
  order of the rows (``rng.permutation``) and takes one contiguous copy per batch.
- :class:`ChunkedSource`: ``X`` backed by a file (a ``numpy.memmap``, or a view of
  one). Rows are read in chunks of about 32 MiB; with shuffling, the chunk order and
  the rows inside each chunk are permuted (a block shuffle, so reads stay sequential).
  Each batch is converted and checked when read, and the pages of the mapping are
  handed back to the kernel after each chunk, so memory does not grow with the file.
- :class:`IterableSource`: any iterable of ``(X_batch, y_batch)`` or
  ``(X_batch, y_batch, w_batch)`` tuples, read once per epoch in its own order. A
  one-shot iterator (a generator) serves a single epoch; for more, pass something
  whose ``__iter__`` starts over (a list, or a class that opens the data again).

Out of core, each batch is checked when it is read: a bad batch (NaN, a wrong shape)
raises then, after the batches before it have been trained on.

With a cross-entropy loss, ``y`` may hold integer class labels, shape (n_samples,)
(:func:`chainrule.losses.takes_labels`): each source turns them into one-hot targets
in the network's dtype. Arrays in memory are encoded once; a memmap's and an
iterable's labels batch by batch, so that the n_samples x n_outputs one-hot matrix
never exists (memory stays flat). A memmap's labels are checked for their range
before training starts, chunk by chunk; an iterable's when their batch is read.

Examples
--------
>>> import numpy as np
>>> from chainrule import Network
>>> from chainrule.training.sources import batch_source
>>> net = Network.from_sizes([2, 1], ["identity"], random_state=0)
>>> batches = [(np.ones((3, 2)), np.zeros(3)), (np.zeros((2, 2)), np.ones(2))]
>>> source = batch_source(net, batches, None)
>>> [Xb.shape for Xb, yb, wb in source.epoch(np.random.default_rng(0), False, 32)]
[(3, 2), (2, 2)]
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from array_api_compat import array_namespace, device

from ..checks import Array, as_float_array, check_finite
from ..losses import Loss, check_labels, one_hot_labels, takes_labels
from ..network import Network

Batch = tuple[Array, Array, Array | None]
CHUNK_BYTES = 32 * 2**20


Gather = Callable[[Array, Array, Array], tuple[Array, Array]]


def check_pair(
    network: Network, loss: Loss | None, X: Any, y: Any, name: str = "y"
) -> tuple[Array, Array]:
    """``network.check_Xy(X, y)``, with ``y``'s integer class labels one-hot in the
    network's dtype first if ``loss`` takes labels (:func:`chainrule.losses.one_hot_labels`).

    Labels are counted against ``X``'s rows before they are encoded, so that a message
    shows the shape given, not the one-hot's.
    """
    if loss is None or not takes_labels(loss, network.n_outputs, y):
        return network.check_Xy(X, y)
    X = network.check_X(X)
    rows = int(X.shape[0])
    if len(y) != rows:
        raise ValueError(
            f"{name} must hold one class label per row of X ({rows}), got {len(y)} labels"
        )
    return X, network.check_y(one_hot_labels(loss, network.n_outputs, y, name, network.dtype), rows)


def batch_tuple(item: Any, where: str) -> tuple[Any, ...]:
    """``item``, if it is a batch ``(X_batch, y_batch)`` or ``(X_batch, y_batch, w_batch)``;
    else a TypeError naming ``where`` it came from (``"batch 3"``)."""
    if not isinstance(item, tuple) or len(item) not in (2, 3):
        got = f"a tuple of {len(item)}" if isinstance(item, tuple) else type(item).__name__
        raise TypeError(
            f"{where} must be a tuple (X_batch, y_batch) or (X_batch, y_batch, w_batch), got {got}"
        )
    return item


def check_sample_weight(sample_weight: Any, n_samples: int, dtype: Any) -> Array | None:
    """Validate ``sample_weight``: shape (n_samples,), finite, >= 0, positive sum."""
    if sample_weight is None:
        return None
    w = as_float_array(sample_weight, "sample_weight", dtype=dtype)
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {w.shape}")
    check_finite(w, "sample_weight")
    if (w < 0).any() or not w.sum() > 0:
        raise ValueError("sample_weight must be >= 0 with a positive sum")
    return w


class ArraySource:
    """In-memory ``X`` and ``y``, checked once (what fit always did)."""

    out_of_core = False

    def __init__(self, X: Array, y: Array, w: Array | None) -> None:
        self.X, self.y, self.w = X, y, w
        self.n_samples: int | None = int(X.shape[0])

    def epoch(
        self,
        rng: np.random.Generator,
        shuffle: bool,
        batch_size: int,
        gather: Gather | None = None,
    ) -> Iterator[Batch]:
        """The batches of one epoch, in a new random order when ``shuffle``.

        ``gather(X, y, rows)``, if given, copies a shuffled batch into buffers of its own
        (a :class:`~chainrule.training.update.Workspace`'s), which the next batch overwrites.
        """
        X, y, w, n = self.X, self.y, self.w, self.n_samples
        order = rng.permutation(n) if shuffle else None
        xp = None if isinstance(X, np.ndarray) else array_namespace(X)
        if order is not None and xp is not None:  # on X's device (a GPU's), once an epoch
            order = xp.asarray(order, device=device(X))
        for start in range(0, n, batch_size):
            if order is None:
                rows: Any = slice(start, start + batch_size)
                Xb, yb = X[rows], y[rows]
            else:
                rows = order[start : start + batch_size]
                if gather:
                    Xb, yb = gather(X, y, rows)
                elif xp is None:
                    Xb, yb = X.take(rows, 0), y.take(rows, 0)
                else:
                    Xb, yb = xp.take(X, rows, axis=0), xp.take(y, rows, axis=0)
            yield Xb, yb, None if w is None else w[rows]


class ChunkedSource:
    """File-backed ``X`` (and ``y``) read chunk by chunk; see the module docstring."""

    out_of_core = True

    def __init__(
        self, network: Network, X: Array, y: Any, w: Array | None, loss: Loss | None = None
    ) -> None:
        self.network, self.X, self.y, self.w, self.loss = network, X, y, w, loss
        self.n_samples = int(X.shape[0])
        if X.ndim != 2 or X.shape[1] != network.n_features:
            raise ValueError(
                f"X must have shape (n_samples, {network.n_features}) to match layer 1, "
                f"got shape {X.shape}"
            )
        if y.ndim == 0 or len(y) != self.n_samples:
            raise ValueError(f"y must have {self.n_samples} rows to match X, got shape {y.shape}")
        self.row_bytes = X.shape[1] * X.dtype.itemsize
        if loss is not None and takes_labels(loss, network.n_outputs, y):
            self._check_labels()
        elif y.shape[1:] not in [(network.n_outputs,)] + ([()] if network.n_outputs == 1 else []):
            # Up front, from the shape alone: not after the batches before the first failed.
            k = network.n_outputs
            raise ValueError(
                f"y must have shape ({self.n_samples}, {k}) to match X and the output layer "
                f"(b{network.n_layers} has {k} outputs), got shape {y.shape}"
            )

    def _check_labels(self) -> None:
        """Refuse labels out of range before training starts, reading ``y`` in chunks (its
        rows are a small part of the file's bytes: one number each, no one-hot)."""
        y, k = self.y, self.network.n_outputs
        rows = max(1, CHUNK_BYTES // y.dtype.itemsize)
        for start in range(0, len(y), rows):
            check_labels(np.asarray(y[start : start + rows]), k, "y", first_row=start)
            _release(y)

    def epoch(
        self, rng: np.random.Generator, shuffle: bool, batch_size: int, gather: Any = None
    ) -> Iterator[Batch]:
        """Block-shuffled batches read chunk by chunk."""
        n = self.n_samples
        per_chunk = max(1, CHUNK_BYTES // max(self.row_bytes, 1) // batch_size) * batch_size
        starts = np.arange(0, n, per_chunk)
        if shuffle:
            starts = rng.permutation(starts)
        for start in starts:
            stop = min(int(start) + per_chunk, n)
            Xc = np.array(self.X[start:stop])  # one sequential read, then a private copy
            yc = np.array(self.y[start:stop])
            wc = None if self.w is None else self.w[start:stop]
            _release(self.X)
            _release(self.y)
            order = rng.permutation(stop - start) if shuffle else None
            for s in range(0, stop - start, batch_size):
                rows: Any = slice(s, s + batch_size) if order is None else order[s : s + batch_size]
                try:
                    Xb, yb = check_pair(self.network, self.loss, Xc[rows], yc[rows])
                except (ValueError, TypeError) as exc:  # say where in the file
                    where = f"rows {start + s} to {min(start + s + batch_size, stop) - 1}"
                    raise type(exc)(f"a batch of X's {where}: {exc}") from None
                yield Xb, yb, None if wc is None else wc[rows]
            del Xc, yc  # before the next read: one chunk in memory at a time


class IterableSource:
    """Batches from an iterable of ``(X_batch, y_batch[, w_batch])`` tuples."""

    out_of_core = True
    n_samples: int | None = None

    def __init__(
        self, network: Network, batches: Iterable[Any], epochs: int, loss: Loss | None = None
    ) -> None:
        self.network, self.batches, self.loss = network, batches, loss
        self.one_shot = iter(batches) is batches
        if self.one_shot and epochs > 1:
            raise ValueError(
                f"X is a one-shot iterator of batches, which serves one epoch, but epochs="
                f"{epochs}; pass a re-iterable (a list, or an object whose __iter__ starts "
                "over) or epochs=1"
            )

    def epoch(
        self, rng: np.random.Generator, shuffle: bool, batch_size: int, gather: Any = None
    ) -> Iterator[Batch]:
        """The iterable's batches, checked one by one (its own order; ``shuffle`` unused)."""
        for i, item in enumerate(self.batches):
            batch_tuple(item, f"batch {i}")
            try:
                Xb, yb = check_pair(self.network, self.loss, item[0], item[1])
                wb = None
                if len(item) == 3 and item[2] is not None:
                    wb = check_sample_weight(item[2], Xb.shape[0], self.network.dtype)
            except (ValueError, TypeError) as exc:  # say which batch, counted from 0
                raise type(exc)(f"batch {i} of the iterable: {exc}") from None
            yield Xb, yb, wb


def is_batch_iterable(X: Any, y: Any) -> bool:
    """Whether ``X`` is an iterable of batches: ``y`` is None and ``X`` is no array."""
    if y is not None or isinstance(X, str | bytes | np.ndarray):
        return False
    if isinstance(X, list) and X and not isinstance(X[0], tuple):
        return False  # rows of numbers with y forgotten, not batches
    return hasattr(X, "__iter__") and not hasattr(X, "__array__")


def file_backed(X: Any) -> mmap.mmap | None:
    """The ``mmap`` under ``X`` (a memmap or a view of one, opened ``r`` or ``r+``), if any."""
    base = X
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap) and getattr(base, "mode", None) == "c":
            return None  # copy-on-write pages hold private changes: never drop them
        base = base.base
    return base if isinstance(base, mmap.mmap) else None


def _release(X: Any) -> None:
    # Pages of a shared read mapping stay in the page cache; dropping them from this
    # process only keeps its resident size flat (the next read maps them again).
    mapping = file_backed(X)
    if mapping is not None and hasattr(mapping, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


def batch_source(
    network: Network,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    epochs: int = 1,
    loss: Loss | None = None,
) -> ArraySource | ChunkedSource | IterableSource:
    """The source for ``fit``: an iterable of batches, a file-backed array or arrays.

    With ``loss`` a cross-entropy, integer class labels in ``y`` (or in each batch's
    ``y``) become one-hot targets in the network's dtype (see the module docstring).
    """
    if is_batch_iterable(X, y):
        if sample_weight is not None:
            raise ValueError(
                "sample_weight cannot go with an iterable of batches; yield "
                "(X_batch, y_batch, w_batch) tuples instead"
            )
        return IterableSource(network, X, epochs, loss)
    if y is None:
        raise ValueError(
            "y is required when X is an array; pass y, or X as an iterable of "
            f"(X_batch, y_batch) tuples (got X of type {type(X).__name__})"
        )
    if isinstance(X, np.ndarray) and file_backed(X) is not None:
        y = y if isinstance(y, np.ndarray) else np.asarray(y)
        w = check_sample_weight(sample_weight, int(X.shape[0]), network.dtype)
        return ChunkedSource(network, X, y, w, loss)
    X, y = check_pair(network, loss, X, y)
    return ArraySource(X, y, check_sample_weight(sample_weight, int(X.shape[0]), network.dtype))
