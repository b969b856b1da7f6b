"""What a fit shows while it runs: a tqdm progress bar (``verbose=1``) or a line per
epoch (``verbose=2``); nothing with ``verbose=0``.

Examples
--------
>>> from chainrule.training.report import EpochReport
>>> EpochReport(epochs=3, verbose=2).epoch_done(0, {"loss": 0.25, "lr": 0.5})
epoch 1: loss=0.25, lr=0.5
"""

from __future__ import annotations

from typing import Any


class EpochReport:
    """Shows each epoch's logs, as ``verbose`` asks; :meth:`close` ends the bar."""

    def __init__(self, epochs: int, verbose: int) -> None:
        if not isinstance(verbose, int) or verbose < 0:
            raise ValueError(f"verbose must be 0, 1 or 2 (an int >= 0), got {verbose!r}")
        self.verbose = verbose
        self.bar: Any = None
        if verbose == 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                raise ImportError(
                    "verbose=1 shows a progress bar, which needs tqdm: "
                    "pip install 'chainrule[progress]' (or pass verbose=0 or 2)"
                ) from None
            self.bar = tqdm(total=epochs, unit="epoch", leave=True)

    def epoch_done(self, epoch: int, logs: dict[str, float]) -> None:
        """Show one epoch's logs on the bar or, for ``verbose=2``, as a line."""
        shown = {k: f"{v:.4g}" for k, v in logs.items()}
        if self.bar is not None:
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        elif self.verbose >= 2:
            print(f"epoch {epoch + 1}: " + ", ".join(f"{k}={v}" for k, v in shown.items()))

    def close(self) -> None:
        """End the progress bar, if there is one."""
        if self.bar is not None:
            self.bar.close()
