"""Slack channel names and ids; the thread store itself lives with the state (monitor.state.threads)."""

from __future__ import annotations

import re

from monitor.state.threads import Thread, ThreadStore

__all__ = ["Thread", "ThreadStore", "channel_key", "is_channel_id"]

_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")


def is_channel_id(channel: str) -> bool:
    """Whether ``channel`` is a Slack channel id (``C0123ABCD``) rather than a name."""
    return bool(_ID.match(channel))


def channel_key(channel: str) -> str:
    """The thread-table name of a channel: ``desk``, ``#desk`` and ``#Desk`` are one; ids are kept."""
    bare = channel.strip().lstrip("#")
    return bare if is_channel_id(bare) else "#" + bare.lower()
