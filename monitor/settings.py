"""Settings: a YAML file (``--config``) overlaid by ``STORY_MONITOR_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from monitor.errors import ConfigError

DEFAULT_CONFIG = "monitor.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(_Section):
    bootstrap_servers: str = "localhost:9092"
    topic: str = "articles"
    group_id: str = "story-monitor"
    dlq_topic: str | None = None  # default: "<topic>.dlq"
    # default: the articles topic's max.message.bytes (or max_message_bytes) plus 64 KiB for headers
    dlq_max_message_bytes: int | None = Field(default=None, ge=16_384)
    client_id: str = "story-monitor"
    max_poll_records: int = Field(default=256, ge=1)
    max_batch_s: float = Field(default=2.0, gt=0)  # poll as many records as take about this long
    max_poll_interval_ms: int = Field(default=900_000, ge=10_000)
    session_timeout_ms: int = Field(default=45_000, ge=6_000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=500)
    max_message_bytes: int = Field(default=1_048_576, ge=1_024)
    drain_timeout_s: float = Field(default=30.0, gt=0)
    reconnect_backoff_max_s: float = Field(default=30.0, gt=0)
    # event-time alignment across partitions (sources/alignment.py): how long records wait
    # for a partition that has nothing buffered before it is checked and left out as idle
    idle_timeout_s: float = Field(default=2.0, ge=0)
    # static group membership: "auto" keeps an id in state.dir, so a restart gets its
    # partitions back at once; None (or "") joins as a dynamic member
    group_instance_id: str | None = "auto"
    # run --role annotate|detect: the topic between the roles (default: "<topic>.matches")
    matches_topic: str | None = None

    @property
    def dead_letter_topic(self) -> str:
        return self.dlq_topic or f"{self.topic}.dlq"

    @property
    def matches(self) -> str:
        return self.matches_topic or f"{self.topic}.matches"


class RulesSettings(_Section):
    path: Path = Path("rules/")
    reload_interval_s: float = Field(default=5.0, gt=0)
    max_file_bytes: int = Field(default=5 * 1_048_576, ge=1_024)  # a larger rule file is refused unread
    max_total_bytes: int = Field(default=20 * 1_048_576, ge=1_024)  # all rule files together
    max_alias_nodes: int = Field(default=100_000, ge=0)  # nodes YAML aliases may add to a file


class StateSettings(_Section):
    dir: Path = Path(".story-monitor/")
    url: str | None = None  # default: the SQLite file in dir; postgresql://... shares state

    @field_validator("url")
    @classmethod
    def _known_url(cls, value: str | None) -> str | None:
        sqlite_file = value is not None and value.startswith("sqlite:///") and value.endswith(".sqlite")
        if value and not (sqlite_file or value.startswith(("postgresql://", "postgres://"))):
            raise ValueError("state.url: use postgresql://user@host:port/db or sqlite:///path/file.sqlite")
        return value or None

    @property
    def location(self) -> Path | str:
        """What the store opens: a ``postgresql://`` URL, a ``.sqlite`` file, or the directory ``dir``."""
        if self.url is None:
            return self.dir
        if self.url.startswith("sqlite:///"):
            return Path(self.url.removeprefix("sqlite:///"))
        return self.url
    maintenance_interval_s: float = Field(default=600.0, gt=0)
    outbox_retention_s: float = Field(default=30 * 86400.0, gt=0)  # delivered alerts kept this long
    vacuum_interval_s: float = Field(default=86_400.0, gt=0)  # VACUUM at most this often


class NlpSettings(_Section):
    model: str = "en_core_web_sm"
    batch_size: int = Field(default=64, ge=1)  # the most articles in one spaCy batch
    batch_chars: int = Field(default=40_000, ge=100)  # the most characters in one spaCy batch
    prefilter: bool = True
    max_chars: int = Field(default=20_000, ge=100)
    workers: int = Field(default=1, ge=1)  # annotating processes (monitor/annotate/parallel.py)


class FeedSettings(_Section):
    """How the feed's usual rate is judged (monitor/detect/feed.py); seconds."""

    window_s: float = Field(default=86_400.0, gt=0)  # a continuous feed may use 3600
    baseline_s: float = Field(default=7 * 86_400.0, gt=0)
    fraction: float = Field(default=0.5, gt=0, le=1)  # below this share of the usual count: degraded
    min_expected: float = Field(default=5.0, ge=0)  # a feed or source expecting fewer is not judged
    step_s: float = Field(default=3600.0, gt=0)  # how often the feed-level status is read


class DetectSettings(_Section):
    grace_s: float = Field(default=600.0, ge=0)
    tick_interval_s: float = Field(default=30.0, gt=0)
    # wall-clock sources: an article dated further ahead than this is refused (future_timestamp)
    future_tolerance_s: float = Field(default=300.0, ge=0)
    # a feed whose newest article arrived within this of its publication is live: while it
    # is caught up and quiet, event time follows the wall clock (detect/watermark.py)
    live_lag_s: float = Field(default=3600.0, ge=0)
    merge_hold_s: float = Field(default=300.0, ge=0)  # one story-moment: signals this close merge
    feed: FeedSettings = FeedSettings()


class SlackSettings(_Section):
    token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    base_url: str = "https://slack.com/api/"
    default_channel: str | None = None
    admin_channel: str | None = None
    digest_channel: str | None = None
    digest_at: str = "09:00"
    rate_per_s: float = Field(default=1.0, gt=0)
    burst: int = Field(default=3, ge=1)
    timeout_s: float = Field(default=10.0, gt=0)
    retry_max_s: float = Field(default=300.0, gt=0)

    @property
    def configured(self) -> bool:
        return self.token is not None or self.webhook_url is not None


class HttpSettings(_Section):
    host: str = "0.0.0.0"  # noqa: S104 - a service endpoint for probes and scrapes
    port: int = Field(default=9308, ge=0, le=65535)
    stall_after_s: float = Field(default=120.0, gt=0)  # /healthz fails when the loop is quiet this long


class LogSettings(_Section):
    level: str = "INFO"
    format: Literal["auto", "json", "console"] = "auto"
    heartbeat_interval_s: float = Field(default=60.0, gt=0)


class Settings(BaseSettings):
    """Everything the daemon reads at start; frozen once loaded."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix="STORY_MONITOR_",
        env_nested_delimiter="__",
    )

    kafka: KafkaSettings = KafkaSettings()
    rules: RulesSettings = RulesSettings()
    state: StateSettings = StateSettings()
    nlp: NlpSettings = NlpSettings()
    detect: DetectSettings = DetectSettings()
    slack: SlackSettings = SlackSettings()
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # environment first, then the YAML file handed in as init values
        return (env_settings, init_settings)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(
    config: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Read settings from the YAML file (explicit, or ``monitor.yaml`` when present) and env."""
    data: dict[str, Any] = {}
    path = Path(config) if config else Path(DEFAULT_CONFIG)
    if config and not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path.is_file():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"{path}{line}: invalid YAML") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of settings")
        data = loaded
    slack_env = {
        "token": os.environ.get("SLACK_BOT_TOKEN"),
        "webhook_url": os.environ.get("SLACK_WEBHOOK_URL"),
    }
    slack_env = {k: v for k, v in slack_env.items() if v}
    if slack_env:
        data = _merge({"slack": slack_env}, data)
    if overrides:
        data = _merge(data, overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None
