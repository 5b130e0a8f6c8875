"""The dead-letter topic's size limit: checked, created or raised at connect, so it takes what comes in.

A broker keeps ``message.max.bytes`` (1 MB by default) for topics without a limit of their
own, so an auto-created ``<topic>.dlq`` refuses the records the articles topic was configured
to accept. The limit wanted is the articles topic's ``max.message.bytes`` (or
``kafka.max_message_bytes`` when larger) plus an envelope for the headers, or
``kafka.dlq_max_message_bytes`` when set. Whatever the topic ends up with is returned: a
letter larger than that is cut (``monitor.sources.dlq.shorten``), never refused.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

from kafka import KafkaAdminClient

from monitor.settings import KafkaSettings

log = logging.getLogger("monitor.kafka.dlq")
ENVELOPE = 65_536  # room for our headers and the batch framing above the articles' own limit
BROKER_DEFAULT = 1_048_588  # Kafka's message.max.bytes default
LIMIT_KEY = "max.message.bytes"


def ensure_topic(settings: KafkaSettings, bootstrap: list[str], client_id: str, extra: dict[str, int]) -> int:
    """The bytes a dead letter may take in the topic, after creating or resizing it as needed."""
    topic = settings.dead_letter_topic
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=f"{client_id}-admin", **extra)
    except Exception as exc:  # the consumer reconnects; cut to the broker default meanwhile
        log.warning("dlq_topic_unchecked", extra={"topic": topic, "detail": str(exc)[:200]})
        return BROKER_DEFAULT
    try:
        return _ensure(admin, settings)
    except Exception as exc:  # no permission to describe or create: cut to the broker default
        detail = f"{type(exc).__name__}: {exc}"[:200]
        log.warning("dlq_topic_unchecked", extra={"topic": topic, "detail": detail})
        return BROKER_DEFAULT
    finally:
        with suppress(Exception):  # closing a client whose broker went away
            admin.close()


def _ensure(admin: Any, settings: KafkaSettings) -> int:
    topic = settings.dead_letter_topic
    existing = set(admin.list_topics())
    limits = describe_limits(admin, [t for t in (settings.topic, topic) if t in existing])
    articles = limits.get(settings.topic, BROKER_DEFAULT)
    want = settings.dlq_max_message_bytes or max(articles, settings.max_message_bytes) + ENVELOPE
    if topic not in existing:
        _create(admin, topic, want)
        log.info("dlq_topic_created", extra={"topic": topic, LIMIT_KEY: want})
        return want
    have = limits.get(topic, BROKER_DEFAULT)
    if have >= want:
        return want
    if _raise(admin, topic, want):
        log.warning("dlq_topic_resized", extra={"topic": topic, "from": have, "to": want})
        return want
    log.warning("dlq_topic_small", extra={
        "topic": topic, LIMIT_KEY: have, "wanted": want,
        "hint": f"larger records go to it cut to {have} bytes with their size and SHA-256; raise its "
                f"{LIMIT_KEY} to keep them whole"})
    return have


def describe_limits(admin: Any, topics: list[str]) -> dict[str, int]:
    """``max.message.bytes`` in force for each topic (its own or the broker's)."""
    if not topics:
        return {}
    from kafka.admin import ConfigResource, ConfigResourceType

    resources = [ConfigResource(ConfigResourceType.TOPIC, t, [LIMIT_KEY]) for t in topics]
    if _v3(admin):
        found = admin.describe_configs(resources, config_filter="all").get("topic", {})
        return {t: int(c[LIMIT_KEY]["value"]) for t, c in found.items() if LIMIT_KEY in c}
    out: dict[str, int] = {}
    for response in admin.describe_configs(resources):  # kafka-python 2.x: raw responses
        for resource in response.resources:
            for entry in resource[4]:
                if entry[0] == LIMIT_KEY:
                    out[resource[3]] = int(entry[1])
    return out


def _create(admin: Any, topic: str, limit: int) -> None:
    configs = {LIMIT_KEY: str(limit)}
    if _v3(admin):
        admin.create_topics({topic: {"num_partitions": 1, "configs": configs}})
        admin.wait_for_topics([topic])
        return
    from kafka.admin import NewTopic

    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=-1, topic_configs=configs)])


def _raise(admin: Any, topic: str, limit: int) -> bool:
    """Raise the topic's limit in place (incremental: its other settings are kept)."""
    if not _v3(admin):
        return False  # kafka-python 2.x alters non-incrementally: it would reset the rest
    from kafka.admin import ConfigResource, ConfigResourceType

    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, {LIMIT_KEY: str(limit)})
        result = admin.alter_configs([resource], incremental=True)
    except Exception as exc:
        log.warning("dlq_topic_not_resized", extra={"topic": topic, "detail": str(exc)[:200]})
        return False
    return bool(result.get("topic", {}).get(topic) == "OK")


def _v3(admin: Any) -> bool:
    return hasattr(admin, "wait_for_topics")
