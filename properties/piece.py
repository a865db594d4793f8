"""What a running piece of work (a check's row, an accuracy sweep, a fuzz shard) sees of the executor
that runs it (``properties.executor``): a channel to ``report`` progress on and to ask whether it
should stop, and the Ctrl-C noted in its process (``interruption_point``). Here, apart from the
executors, so that the harness's loops (``suite``, ``minimize``) can use it."""

from __future__ import annotations

from typing import Protocol


class Channel(Protocol):
    """What a running piece talks to: ``send`` a progress message, ask whether it should ``stop``."""

    def send(self, message) -> None: ...

    def stopped(self) -> bool: ...


_CHANNEL: Channel | None = None  # the channel of the piece running in this process


def use_channel(channel: Channel | None):
    """Set the channel that ``report`` and ``stop_requested`` use in this process (executors call it)."""
    global _CHANNEL
    _CHANNEL = channel


def report(message) -> None:
    """From inside a piece: send ``message`` (plain data) to the ``progress`` handler of the ``map``
    that runs it; nothing outside a piece."""
    if _CHANNEL is not None:
        _CHANNEL.send(message)


def stop_requested() -> bool:
    """From inside a piece: whether its executor was asked to stop (the piece should end early)."""
    return _CHANNEL is not None and _CHANNEL.stopped()


# Ctrl-C in this process: whether it came ("seen"), and whether the KeyboardInterrupt for it was
# raised ("taken"; see ``interruption_point``).
_SIGINT = {"seen": False, "taken": False}


def note_interrupt(signum=None, frame=None):
    """A Ctrl-C (SIGINT) came: the running piece stops at its next ``interruption_point``. (Noted, not
    raised from the signal handler: a KeyboardInterrupt raised there can land in a garbage collector
    callback or a fork's hooks, where Python swallows it, or in the middle of Hypothesis's
    bookkeeping. From a terminal the process gets the signal and the parent passes it on too: one
    interruption either way.)"""
    _SIGINT["seen"] = True


def clear_interrupt():
    """Forget a Ctrl-C noted before (a command starting its run)."""
    _SIGINT.update(seen=False, taken=False)


def interruption_point():
    """Where a piece stops cleanly once a Ctrl-C came (a check between examples, a worker being
    waited for): raise KeyboardInterrupt, once."""
    if _SIGINT["seen"] and not _SIGINT["taken"]:
        _SIGINT["taken"] = True
        raise KeyboardInterrupt


__all__ = ["Channel", "use_channel", "report", "stop_requested", "note_interrupt", "clear_interrupt",
           "interruption_point"]
