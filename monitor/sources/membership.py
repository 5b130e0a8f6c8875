"""Static group membership (KIP-345): a restarted daemon gets its partitions back at once.

A dynamic member that dies without a word (kill -9, OOM) keeps its partitions in the
group until ``kafka.session_timeout_ms`` passes, so its successor waits that long. A static
member rejoins under the same ``group.instance.id`` and the broker hands it the same
partitions straight away, without a rebalance. The id must be unique in the group: "auto"
(the default) keeps a random one in ``state.dir``, so the same state is the same member and
two daemons never share an id.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from kafka import KafkaConsumer

from monitor.settings import KafkaSettings

log = logging.getLogger("monitor.kafka")
INSTANCE_FILE = "kafka-instance-id"


def instance_id(settings: KafkaSettings, state_dir: Path | None) -> str | None:
    """``kafka.group_instance_id`` as set; "auto": the one kept in ``state_dir``, made on
    first use; None (empty, or "auto" without a state directory): a dynamic member."""
    chosen = (settings.group_instance_id or "").strip()
    if chosen != "auto":
        return chosen or None
    if state_dir is None:
        return None
    path = Path(state_dir) / INSTANCE_FILE
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if not kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = f"{settings.client_id}-{secrets.token_hex(6)}"
        path.write_text(kept + "\n", encoding="utf-8")
    return kept


def membership(instance: str | None) -> dict[str, str]:
    """The consumer options for it, where kafka-python has static membership (2.2+)."""
    if not instance:
        return {}
    if "group_instance_id" not in KafkaConsumer.DEFAULT_CONFIG:
        log.warning("kafka_static_membership_unsupported", extra={
            "detail": "kafka-python without group_instance_id: a restart waits out the session timeout"})
        return {}
    return {"group_instance_id": instance}
