"""The outbox lives with the rest of the state: see :mod:`monitor.state.outbox`."""

from monitor.state.outbox import Outbox, OutboxItem

__all__ = ["Outbox", "OutboxItem"]
