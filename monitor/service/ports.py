"""The ports of the services: what each one reads or calls of the daemon, and nothing more.

Services depend on these Protocols, never on ``App``: the probes, the reloader, the jobs
and the digest each name the host they need (``ProbeHost``, ``ReloadHost``, ``JobsHost``,
``DigestHost``), built from the small parts below, each listing only what is read or
called. ``App`` satisfies them all (mypy checks it where ``attach(app)`` is called); any
other assembly (a role's app, a test's fake) fits a service as soon as it has what that
service's port lists: the probes need no store, the reloader no pipeline.

Members are read-only properties, so that a host may hold a richer type (``Store`` for
``StatePort``). ``Metrics`` (the one registry) and ``Settings`` (frozen) are taken as the
concrete types they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

from monitor.detect.engine import Delta, StoryKey
from monitor.detect.feed import FeedNotice
from monitor.detect.state import StoryState
from monitor.model import Alert
from monitor.obs.metrics import Metrics
from monitor.pipeline import PreparedRules
from monitor.rules.schema import RuleSet
from monitor.settings import Settings

Task = Callable[[], None]
Offsets = Mapping[tuple[str, int], int]  # (source, partition) -> next offset to read
Built = PreparedRules | list[str]  # a rule set ready to swap in, or the errors of its files


class Turning(Protocol):
    """A loop that says when it last turned (liveness)."""

    @property
    def last_turn(self) -> float: ...  # time.monotonic() of the last turn


class TaskQueue(Protocol):
    """A loop that runs work handed to it on its own thread, between batches."""

    def call_soon(self, task: Task) -> None: ...


class LoopPort(Turning, TaskQueue, Protocol):
    """The main loop as ``attach`` wires it: liveness, and work handed to it."""


class SourcePort(Protocol):
    """The input, as ``attach`` sees it: whose clock it runs on (services only for "wall").

    The probes take any source and read, with ``getattr`` because a file source has none of
    them: ``alive_at`` (monotonic; a loop waiting on the dead-letter topic is alive), ``ready``
    (bool or a callable) and ``problem`` (why it is not ready).
    """

    @property
    def clock(self) -> str: ...  # "wall" or "event"


class DetectionPort(Protocol):
    """The detection state the jobs maintain and the digest reads."""

    @property
    def states(self) -> Mapping[StoryKey, StoryState]: ...

    @property
    def watermark(self) -> float: ...  # event time; -inf before the first article

    @property
    def grace_s(self) -> float: ...

    def evict(self, now: float) -> int: ...

    def take_delta(self) -> Delta: ...


class RulesInForce(Protocol):
    """Whatever holds the rule set in force (it changes on reload: read it each time)."""

    @property
    def ruleset(self) -> RuleSet: ...


class Detecting(RulesInForce, Protocol):
    """The rules in force and the detection state they drive."""

    @property
    def engine(self) -> DetectionPort: ...


class PipelinePort(Detecting, Protocol):
    """The pipeline as ``attach`` wires it: also the listeners of feed notices."""

    @property
    def feed_listeners(self) -> list[Callable[[FeedNotice], None]]: ...


class StatePort(Protocol):
    """What the services ask of the store: meta values, counts and maintenance."""

    def commit(self, offsets: Offsets, delta: Delta, alerts: Iterable[Alert]) -> int: ...

    def get_meta(self, key: str) -> str | None: ...

    def put_meta(self, key: str, value: str) -> None: ...

    def alert_counts(self, start: float, end: float) -> list[tuple[str, str, int]]: ...

    def evict_events(self, cutoffs: Mapping[str, float]) -> int: ...

    def prune_outbox(self, sent_before: float) -> int: ...

    def maintain(self, vacuum: bool) -> bool: ...

    def outbox_pending(self) -> int: ...


class DeliveryCounts(Protocol):
    """Delivery results by outcome (``ok``, ``retry``, ``parked``), counted as they happen."""

    @property
    def results(self) -> Mapping[str, int]: ...


class SenderPort(DeliveryCounts, Protocol):
    """The outbox sender: its counts, a wake-up, and a drain."""

    def notify(self) -> None: ...

    def drain(self, timeout_s: float | None = None) -> bool: ...


class ProbeHost(Protocol):
    """What /healthz, /readyz and /metrics read."""

    @property
    def runner(self) -> Turning: ...

    @property
    def source(self) -> object: ...  # see SourcePort for what is read of it

    @property
    def pipeline(self) -> RulesInForce: ...  # and ``feed_status()`` when it has one

    @property
    def metrics(self) -> Metrics: ...


class ReloadHost(Protocol):
    """What hot reload needs: where the rules are, how to build and swap them, the loop."""

    @property
    def settings(self) -> Settings: ...

    @property
    def runner(self) -> TaskQueue: ...

    def build_rules(self) -> Built: ...

    def apply_rules(self, built: Built) -> bool: ...


class DigestHost(Protocol):
    """What the daily digest reads: the outbox's counts, the stories, a meta value."""

    @property
    def store(self) -> StatePort: ...

    @property
    def pipeline(self) -> Detecting: ...


class JobsHost(Protocol):
    """What the scheduled jobs touch: the sender, maintenance, the heartbeat."""

    @property
    def settings(self) -> Settings: ...

    @property
    def pipeline(self) -> Detecting: ...

    @property
    def store(self) -> StatePort: ...

    @property
    def sender(self) -> SenderPort: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def background_sender(self) -> bool: ...


class Service(Protocol):
    """Something ``App.run`` starts after the state is restored and stops when the loop ends."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ServiceHost(JobsHost, Protocol):
    """Everything ``attach`` wires: what the jobs touch, the probes and reload read, and more."""

    @property
    def source(self) -> SourcePort: ...

    @property
    def runner(self) -> LoopPort: ...

    @property
    def pipeline(self) -> PipelinePort: ...

    @property
    def state_dir(self) -> Path | None: ...

    @property
    def services(self) -> list[Service]: ...

    def build_rules(self) -> Built: ...

    def apply_rules(self, built: Built) -> bool: ...
