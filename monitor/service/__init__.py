"""Running as a service: scheduled jobs, hot reload, and the HTTP endpoints for probes and scrapes.

``attach(app)`` wires them into ``app.services``; ``App.run`` starts them after the state
is restored and stops them, in reverse order, when the loop ends. A replay of a file
(``run --source FILE`` without ``--follow``: event clock, ends by itself) is a batch job
and gets none of them.
"""

from __future__ import annotations

from pathlib import Path

from monitor.service.digest import Digest
from monitor.service.feedwatch import FeedAnnouncer
from monitor.service.http import HttpService
from monitor.service.ports import ServiceHost
from monitor.service.post import Poster, messenger_for
from monitor.service.probes import AppProbe, SendCounts
from monitor.service.reload import Reloader
from monitor.service.scheduler import Jobs, Scheduler

__all__ = ["attach"]


def attach(app: ServiceHost) -> None:
    """Add the HTTP server, the rule reloader (SIGHUP) and the scheduler to ``app.services``."""
    if app.source.clock != "wall":
        return
    settings = app.settings
    state_dir = Path(app.state_dir or settings.state.dir)
    sends = SendCounts(app.sender, app.metrics)
    http = HttpService(AppProbe(app, settings.http.stall_after_s, sends), settings.http.host,
                       settings.http.port, state_dir)
    poster = Poster(messenger_for(settings.slack))
    reloader = Reloader(app, poster)
    if settings.slack.admin_channel:
        app.pipeline.feed_listeners.append(FeedAnnouncer(poster, settings.slack.admin_channel))
    digest = None
    if settings.slack.digest_channel:
        digest = Digest(app, poster, settings.slack.digest_channel, settings.slack.digest_at)
    jobs = Jobs(app, reloader, sends, digest)
    app.services.extend([http, poster, reloader, Scheduler(jobs.schedule(), app.runner.call_soon)])
