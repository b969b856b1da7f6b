"""Learn by doing: the interactive page (:mod:`~chainrule.learn.play`) and training
curves of a small example (:mod:`~chainrule.learn.curves`)."""

from .play import Play, play, play_state, render_page

__all__ = ["Play", "play", "play_state", "render_page"]
