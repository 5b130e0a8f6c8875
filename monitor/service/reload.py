"""Hot reload: notice rule file changes, swap the rule set on the loop, report rejected edits."""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from monitor.rules import check_paths
from monitor.rules.loader import rule_files
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
    """Applies rule changes on the loop thread; tells the admin channel when an edit is rejected.

    The app builds and validates the whole new set and swaps it in at once, or keeps the
    old one; this class decides when to ask and who hears about a rejection.
    """

    def __init__(self, app: Any, poster: Poster | None = None) -> None:
        self.app = app
        self.poster = poster
        self.path = Path(app.settings.rules.path)
        self.admin_channel: str | None = app.settings.slack.admin_channel
        self.watcher = RuleWatcher(self.path)

    def check(self) -> bool | None:
        """Reload when the files changed: True applied, False rejected, None nothing to do."""
        if not self.watcher.changed():
            return None
        return self._apply("file_changed")

    def reload(self, trigger: str) -> bool:
        """Reload now whatever the files look like (SIGHUP); on the loop thread."""
        self.watcher.mark()
        return self._apply(trigger)

    def _apply(self, trigger: str) -> bool:
        log.info("rules_reload_requested", extra={"trigger": trigger, "path": str(self.path)})
        ok = bool(self.app.reload_rules())
        if not ok:
            self._tell_admin()
        return ok

    def _tell_admin(self) -> None:
        if self.admin_channel is None or self.poster is None:
            return
        errors = check_paths([self.path]) or [
            "the files changed while they were read and are valid now: save again or send SIGHUP"]
        self.poster.post(self.admin_channel, admin_text(self.path, errors), what="rules_rejected")

    # --- a service: SIGHUP goes through the same path as the watcher ----------------------
    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        with suppress(AttributeError):  # no SIGHUP on this platform
            signal.signal(signal.SIGHUP, self._on_sighup)

    def _on_sighup(self, signum: int, frame: FrameType | None) -> None:
        self.app.runner.call_soon(lambda: self.reload("sighup"))

    def stop(self) -> None:
        return None
