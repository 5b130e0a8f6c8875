"""Hot reload: notice rule file changes, swap the rule set on the loop, report rejected edits."""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from monitor.rules.loader import rule_files
from monitor.service.ports import Built, ReloadHost
from monitor.service.post import Poster

log = logging.getLogger("monitor.service.reload")
MAX_POSTED_ERRORS = 20

Stamp = tuple[tuple[str, int, int], ...]  # (path, mtime_ns, size) of every rule file


def stamp(path: Path) -> Stamp:
    """What ``stat`` says about the rule files now; cheap enough to take every few seconds."""
    out = []
    for file in rule_files([path]):
        try:
            st = file.stat()
        except OSError:
            out.append((str(file), -1, -1))
            continue
        out.append((str(file), st.st_mtime_ns, st.st_size))
    return tuple(out)


def content_hash(path: Path) -> str:
    """The names and bytes of the rule files: a touch without an edit leaves it unchanged."""
    digest = hashlib.sha256()
    for file in rule_files([path]):
        digest.update(str(file).encode() + b"\0")
        with suppress(OSError):
            digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class RuleWatcher:
    """Says whether the rule files changed since the last look: stat first, then the content."""

    path: Path

    def __post_init__(self) -> None:
        self.mark()

    def mark(self) -> None:
        """Take the files as they are now as the ones in force."""
        self._stamp = stamp(self.path)
        self._hash = content_hash(self.path)

    def changed(self) -> bool:
        now = stamp(self.path)
        if now == self._stamp:
            return False
        self._stamp = now
        new_hash = content_hash(self.path)
        if new_hash == self._hash:
            return False
        self._hash = new_hash
        return True


def admin_text(path: Path, errors: list[str]) -> str:
    """The admin channel message for a rejected edit: what is wrong, where, and that nothing broke."""
    shown = errors[:MAX_POSTED_ERRORS]
    more = f"\n… and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
    body = "\n".join(shown)
    return (f":warning: Story Monitor rejected a change to the rules in `{path}`; "
            f"the previous rules stay in force.\n```\n{body}{more}\n```\n"
            f"Check with `story-monitor rules check {path}`.")


class Reloader:
    """Builds changed rule sets off the loop thread, swaps them in on it, reports rejected edits.

    Reading, validating and indexing a large set takes seconds to minutes; the loop keeps
    processing articles with the rules in force meanwhile, and only the swap (instant) runs
    on it. ``check`` and ``reload`` do the same synchronously, for tests and file replays.
    """

    def __init__(self, app: ReloadHost, poster: Poster | None = None) -> None:
        self.app = app
        self.poster = poster
        self.path = Path(app.settings.rules.path)
        self.admin_channel: str | None = app.settings.slack.admin_channel
        self.watcher = RuleWatcher(self.path)
        self._lock = threading.Lock()  # the watcher and the builder thread
        self._builder: threading.Thread | None = None
        self._again: str | None = None  # a request that came while a build ran

    def check(self) -> bool | None:
        """Reload now when the files changed: True applied, False rejected, None nothing to do."""
        if not self.watcher.changed():
            return None
        return self._apply(self.app.build_rules(), "file_changed")

    def reload(self, trigger: str) -> bool:
        """Reload now whatever the files look like; on the loop thread."""
        self.watcher.mark()
        return self._apply(self.app.build_rules(), trigger)

    # --- the daemon's way: build aside, swap on the loop ---------------------------------
    def poll(self) -> None:
        """Off the loop (the scheduler's thread): start a build when the files changed."""
        with self._lock:
            changed = self._builder is None and self.watcher.changed()
        if changed:
            self.request("file_changed", mark=False)

    def request(self, trigger: str, *, mark: bool = True) -> None:
        """Build the files as they are in a thread of its own; one build at a time."""
        with self._lock:
            if self._builder is not None:
                self._again = trigger
                return
            self._builder = threading.Thread(target=self._build, args=(trigger, mark), daemon=True,
                                             name="rules-build")
            self._builder.start()

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the build in progress (tests)."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout_s)

    def _build(self, trigger: str, mark: bool) -> None:
        log.info("rules_reload_requested", extra={"trigger": trigger, "path": str(self.path)})
        started = time.monotonic()
        try:
            if mark:
                self.watcher.mark()
            built: Built = self.app.build_rules()
        except Exception as exc:  # the builder must end and hand over whatever happened
            built = [f"{self.path}:1: cannot load the rules: {type(exc).__name__}: {str(exc)[:300]}"]
        seconds = round(time.monotonic() - started, 3)
        self.app.runner.call_soon(lambda: self._finish(built, trigger, seconds))

    def _finish(self, built: Built, trigger: str, seconds: float) -> None:
        """On the loop: swap or reject, then start the build a request left waiting."""
        try:
            self._apply(built, trigger, seconds)
        finally:
            with self._lock:
                self._builder, again = None, self._again
                self._again = None
            if again is not None:
                self.request(again)

    def _apply(self, built: Built, trigger: str, seconds: float | None = None) -> bool:
        ok = bool(self.app.apply_rules(built))
        log.info("rules_reload_done", extra={"trigger": trigger, "applied": ok, "build_s": seconds})
        if not ok and isinstance(built, list):  # refused: the errors of its files
            self._tell_admin(built)
        return ok

    def _tell_admin(self, errors: list[str]) -> None:
        if self.admin_channel is None or self.poster is None:
            return
        self.poster.post(self.admin_channel, admin_text(self.path, errors), what="rules_rejected")

    # --- a service: SIGHUP goes through the same path as the watcher ----------------------
    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        with suppress(AttributeError):  # no SIGHUP on this platform
            signal.signal(signal.SIGHUP, self._on_sighup)

    def _on_sighup(self, signum: int, frame: FrameType | None) -> None:
        self.app.runner.call_soon(lambda: self.request("sighup"))

    def stop(self) -> None:
        return None
