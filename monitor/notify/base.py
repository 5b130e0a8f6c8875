"""The notifier contract the sender drives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from monitor.model import Alert


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where an alert landed: the message id (Slack ``ts``) and its channel, when known."""

    ref: str | None = None
    channel: str | None = None


class Notifier(Protocol):
    """Delivers one alert or raises DeliveryError saying whether a retry can help.

    ``maybe_sent`` is true when an earlier attempt may have reached the destination
    before a crash or a lost response: the notifier must then avoid a visible duplicate.
    """

    name: str

    def send(self, alert: Alert, *, maybe_sent: bool = False) -> Delivery: ...
