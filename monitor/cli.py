"""The ``story-monitor`` command line: run, rules check, backtest, healthcheck, slack test."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from monitor import __version__
from monitor.errors import MonitorError, RuleError
from monitor.rules import load_rules
from monitor.rules.guard import RuleLimits
from monitor.settings import Settings, load_settings

log = logging.getLogger("monitor.cli")


def _common(p: argparse.ArgumentParser, *, rules: bool = True) -> None:
    p.add_argument("--config", metavar="FILE", help="settings YAML (default: monitor.yaml if present)")
    if rules:
        p.add_argument("--rules", metavar="PATH", help="rule file or directory (default: rules.path)")


def _workers(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("--workers", type=int, metavar="N", help=text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="story-monitor",
        description="Follow news stories as they move: articles in, explained Slack alerts out.",
    )
    top.add_argument("--version", action="version", version=f"story-monitor {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the daemon (Kafka, or a JSON Lines file with --source)")
    _common(run)
    run.add_argument("--source", metavar="FILE.jsonl", help="read articles from a file instead of Kafka")
    run.add_argument("--follow", action="store_true", help="with --source: keep reading as the file grows")
    _workers(run, "annotating processes (default: with --source the machine's cores, else nlp.workers)")
    run.add_argument("--role", choices=("all", "annotate", "detect"), default="all",
                     help="all: one process (default); annotate or detect: one stage of a scaled deployment")

    rules = sub.add_parser("rules", help="work with rule files")
    rsub = rules.add_subparsers(dest="rules_command", required=True, metavar="SUBCOMMAND")
    check = rsub.add_parser("check", help="validate rule files; errors as file:line: key: message")
    _common(check, rules=False)
    check.add_argument("paths", nargs="+", metavar="PATH")

    bt = sub.add_parser("backtest", help="run rules over past articles with their own clock; send nothing")
    _common(bt)
    bt.add_argument("--articles", required=True, metavar="FILE.jsonl")
    bt.add_argument("--json", action="store_true", help="one JSON object per alert, in event-time order")
    bt.add_argument("--html", metavar="OUT", help="also write an HTML report")
    _workers(bt, "annotating processes (default: the machine's cores); the alerts are those of one")

    explain = rsub.add_parser("explain", help="why one article matches each rule, or not")
    _common(explain)
    explain.add_argument("--articles", required=True, metavar="FILE.jsonl",
                         help="the articles; - reads them from stdin")
    explain.add_argument("--id", help="the article's id (optional with one article on stdin)")
    explain.add_argument("--json", action="store_true", help="one JSON object per rule")

    hc = sub.add_parser("healthcheck", help="exit 0 when the running daemon is healthy (for probes)")
    _common(hc, rules=False)
    hc.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for an answer")

    slack = sub.add_parser("slack", help="Slack set-up")
    ssub = slack.add_subparsers(dest="slack_command", required=True, metavar="SUBCOMMAND")
    st = ssub.add_parser("test", help="post a marked test message")
    _common(st, rules=False)
    st.add_argument("--channel", help="channel to post to (default: slack.default_channel)")

    outbox = sub.add_parser("outbox", help="inspect or retry undelivered alerts")
    osub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="SUBCOMMAND")
    for name, text in (("status", "count alerts by delivery status"), ("retry", "retry parked alerts")):
        _common(osub.add_parser(name, help=text), rules=False)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _dispatch(args)
    except RuleError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    except MonitorError as exc:
        print(f"story-monitor: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, dict[str, object]] = {}
    if getattr(args, "rules", None):
        overrides["rules"] = {"path": args.rules}
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        raise MonitorError(f"--workers {workers}: must be 1 or more")
    if workers is not None:
        overrides["nlp"] = {"workers": workers}
    elif args.command == "backtest" or (args.command == "run" and args.source):
        from monitor.annotate.parallel import machine_cores

        overrides["nlp"] = {"workers": machine_cores()}
    return load_settings(getattr(args, "config", None), overrides or None)


def _progress(args: argparse.Namespace) -> bool:
    from monitor.sources.progress import wanted

    return wanted(quiet=getattr(args, "json", False))


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "rules" and args.rules_command == "check":
        return _rules_check(args.paths, RuleLimits.of(load_settings(args.config).rules))
    settings = _settings(args)
    from monitor.obs.logs import setup_logging

    setup_logging(settings.log.level, settings.log.format)
    if args.command in ("run", "backtest"):  # the commands that run spaCy batch after batch
        from monitor.heap import keep_batch_memory

        keep_batch_memory()
    if args.command == "backtest":
        return _backtest(settings, args)
    if args.command == "rules":
        from monitor.cli_explain import run_explain

        return run_explain(settings, args)
    if args.command == "run" and args.role != "all":
        if args.source:
            raise MonitorError(f"--role {args.role} reads Kafka; --source needs --role all")
        from monitor.roles import run_role

        return run_role(settings, args.role)
    if args.command == "run":
        from monitor.daemon import run

        return run(settings, source=args.source, follow=args.follow, progress=_progress(args))
    if args.command == "healthcheck":
        from monitor.obs.health import healthcheck

        return healthcheck(settings, timeout_s=args.timeout)
    if args.command == "slack":
        from monitor.cli_slack import slack_test

        return slack_test(settings, args.channel)
    return _outbox(settings, args.outbox_command)


def _rules_check(paths: list[str], limits: RuleLimits) -> int:
    try:
        ruleset = load_rules(paths, limits)
    except RuleError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        count = len(exc.errors)
        print(f"{count} error{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback: the files are refused with what went wrong
        print(f"story-monitor: error: cannot check {' '.join(paths)}: {type(exc).__name__}: "
              f"{str(exc)[:300]}", file=sys.stderr)
        return 1
    print(f"ok: {len(ruleset.rules)} rules ({len(ruleset.enabled)} enabled), "
          f"{len(ruleset.actors)} actors in {len(ruleset.files)} files")
    return 0


def _backtest(settings: Settings, args: argparse.Namespace) -> int:
    from monitor.app import backtest_run
    from monitor.notify.console import render_text

    articles = Path(args.articles)
    if not articles.is_file():
        raise MonitorError(f"{articles}: no such file")
    ruleset = load_rules([settings.rules.path], RuleLimits.of(settings.rules))
    result = backtest_run(settings, ruleset, articles, progress=_progress(args))
    alerts = result.alerts
    if args.html:
        from monitor.report import write_html

        write_html(Path(args.html), result, ruleset)
    for alert in alerts:
        if args.json:
            print(json.dumps(alert.public(), ensure_ascii=False))
        else:
            print(render_text(alert) + "\n")
    if not args.json:
        print(f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}", file=sys.stderr)
    return 0


def _outbox(settings: Settings, command: str) -> int:
    from monitor.notify.outbox import Outbox

    outbox = Outbox(settings.state.location)  # creates the schema when new
    if command == "retry":
        print(f"requeued {outbox.requeue_parked()} parked alerts")
    else:
        print(json.dumps(outbox.counts(), sort_keys=True))
    return 0
