"""The roles of a scaled deployment: ``annotate`` workers and ``detect`` workers (see DESIGN.md,
"Scale-out"). ``run --role all`` (the default) is the single process of ``monitor/daemon.py``.
"""

from __future__ import annotations

import logging

from monitor.rules import load_rules
from monitor.rules.guard import RuleLimits
from monitor.settings import Settings

log = logging.getLogger("monitor.roles")


def run_role(settings: Settings, role: str) -> int:
    """``story-monitor run --role annotate|detect`` until SIGTERM; 0 on a clean shutdown."""
    from monitor.roles.app import RoleApp
    from monitor.roles.services import attach

    ruleset = load_rules([settings.rules.path], RuleLimits.of(settings.rules))
    app = RoleApp(settings, ruleset, role)
    attach(app)
    app.install_signals()
    log.info("started", extra={"role": role, "rules": len(ruleset.enabled), "source": app.source.name,
                               "group": app.source.settings.group_id})
    try:
        app.run()
        delivered = app.finish(settings.kafka.drain_timeout_s)
    finally:
        app.close()
    if not delivered:
        log.warning("shutdown_with_undelivered_alerts", extra={"hint": "they are kept and sent on restart"})
    log.info("stopped", extra={"role": role})
    return 0
