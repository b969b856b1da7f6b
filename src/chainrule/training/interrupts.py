"""Interrupts between batches: Ctrl-C (SIGINT) and SIGTERM never tear an update.

A batch's update changes the parameters one after the other, then the optimizer's
state; an interrupt in the middle would leave ``W1`` a step ahead of ``b1``, ``W2``,
``b2`` and the optimizer, and that torn state would feed a later ``partial_fit``.
While a fit runs, :class:`DeferredSignals` replaces the handlers of SIGINT and SIGTERM
with one that only takes note; the fit calls :meth:`DeferredSignals.deliver` between
batches (and between epochs), which hands a noted signal to the handler that was there
before: Python's default SIGINT handler raises ``KeyboardInterrupt`` (the fit then ends
cleanly, ``History.stop_reason == "interrupted"``), a handler of your own runs as
usual, and a signal whose default action ends the process (SIGTERM) ends it then. The
previous handlers are put back when the fit returns.

Signal handlers belong to the main thread: a fit in another thread leaves them alone
(signals reach the main thread only, so they cannot interrupt its update). An ignored
signal stays ignored. A ``KeyboardInterrupt`` raised by the update's own code (a custom
:class:`~chainrule.optimizers.Optimizer`) cannot be deferred: for optimizers other than
chainrule's own, the fit copies the parameters and the optimizer state before each
update and puts them back if the update raises (:func:`whole_updates`).

Examples
--------
>>> import os, signal
>>> from chainrule.training.interrupts import DeferredSignals
>>> try:
...     with DeferredSignals() as signals:
...         os.kill(os.getpid(), signal.SIGINT)  # noted, not raised
...         print("the update ends")
...         signals.deliver()
... except KeyboardInterrupt:
...     print("then the interrupt")
the update ends
then the interrupt
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from ..optimizers import SGD, Adam, AdamW, Optimizer, SklearnSGD
from .guard import Snapshot

# Their updates raise nothing of their own once the gradients are checked.
OWN_OPTIMIZERS = (SGD, Adam, AdamW, SklearnSGD)

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


class DeferredSignals:
    """Holds SIGINT and SIGTERM back until :meth:`deliver`; see the module docstring."""

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.pending: list[tuple[int, FrameType | None]] = []
        # Whether a signal could still raise in the middle of an update.
        self.interruptible = False

    def __enter__(self) -> DeferredSignals:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals run their handlers in the main thread only
        for signum in SIGNALS:
            handler = signal.getsignal(signum)
            if handler is signal.SIG_IGN:
                continue  # ignored stays ignored
            if handler is None:  # installed outside Python: left alone, and it may raise
                self.interruptible = True
                continue
            self.previous[signum] = handler
            signal.signal(signum, self._note)
        return self

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.pending.append((signum, frame))

    def deliver(self) -> None:
        """Hand the signals noted so far to their previous handlers (between batches)."""
        while self.pending:
            signum, frame = self.pending.pop(0)
            handler = self.previous[signum]
            if callable(handler):
                handler(signum, frame)  # Python's SIGINT handler raises KeyboardInterrupt
            else:  # SIG_DFL: the signal's own action, e.g. ending the process
                signal.signal(signum, handler)
                os.kill(os.getpid(), signum)
                signal.signal(signum, self._note)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}
        # Noted after the last delivery: the previous handlers get them now.
        pending, self.pending = self.pending, []
        for signum, _ in pending:
            os.kill(os.getpid(), signum)


def whole_updates(
    update: Callable[..., Any], optimizer: Optimizer, signals: DeferredSignals
) -> Callable[..., Any]:
    """``update`` as is where nothing can interrupt it half-way (chainrule's optimizers,
    with signals deferred or out of reach); else wrapped so that an exception from inside
    it (a ``KeyboardInterrupt`` included) puts the parameters and the optimizer state back
    as they were before it.

    ``update(Xb, yb, wb, params, trainable, state, epoch, index)`` is the fit's
    :class:`~chainrule.training.update.BatchStep`.
    """
    if type(optimizer) in OWN_OPTIMIZERS and not signals.interruptible:
        return update

    def copied_first(*args: Any) -> Any:
        before = Snapshot(trainable=args[4], state=args[5])
        try:
            return update(*args)
        except BaseException:
            before.restore()
            raise

    return copied_first
