"""Exceptions that carry the decision the caller needs."""

from __future__ import annotations


class MonitorError(Exception):
    """Base of the errors a user can cause and fix; the CLI prints them as one line."""


class ConfigError(MonitorError):
    """The settings file or environment is invalid."""


class RuleError(MonitorError):
    """One or more rule files are invalid; ``errors`` holds every ``file:line: key: message``."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class SourceError(MonitorError):
    """An article source cannot be opened."""


class Interrupted(Exception):
    """Stopping before a batch's side effects were durable: the batch must not be committed."""


class DeliveryError(Exception):
    """A notifier could not deliver; ``permanent`` says whether retrying can help.

    ``maybe_delivered`` is true when the request may have reached the destination and been
    acted on (a timeout or a dropped connection after sending), so the next attempt must
    look for the message before posting; false when the answer proves nothing was posted.
    """

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None,
                 maybe_delivered: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered
