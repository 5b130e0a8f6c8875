"""The services of a role: /healthz, /readyz and /metrics (consumer lag per partition of the
role's group), hot reload of the rules (files watched, SIGHUP), and the detect role's jobs."""

from __future__ import annotations

from pathlib import Path

from monitor.roles.app import NoSends, RoleApp
from monitor.roles.detect import DetectRunner
from monitor.service.http import HttpService
from monitor.service.probes import AppProbe, SendCounts
from monitor.service.reload import Reloader
from monitor.service.scheduler import FLUSH_INTERVAL_S, Job, Scheduler


def attach(app: RoleApp) -> None:
    s = app.settings
    sends = SendCounts(app.sender if app.sender is not None else NoSends(), app.metrics)
    http = HttpService(AppProbe(app, s.http.stall_after_s, sends), s.http.host, s.http.port,
                       Path(s.state.dir))
    reloader = Reloader(app)
    jobs = [Job("rules_reload", s.rules.reload_interval_s, reloader.poll, on_loop=False)]
    runner, sender, store = app.runner, app.sender, app.store
    if isinstance(runner, DetectRunner) and sender is not None and store is not None:
        retention = s.state.outbox_retention_s

        def maintain() -> None:
            import time

            runner.evict()
            store.prune_outbox(time.time() - retention)

        jobs += [Job("outbox_flush", FLUSH_INTERVAL_S, sender.notify, on_loop=False),
                 Job("maintenance", s.state.maintenance_interval_s, maintain)]
    app.services.extend([http, reloader, Scheduler(jobs, app.runner.call_soon)])
