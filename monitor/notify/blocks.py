"""Alerts as Slack Block Kit messages with a plain-text fallback, cut to Slack's limits.

User text (titles, summaries, rule descriptions) is escaped (``&``, ``<``, ``>``) before it
is placed in mrkdwn. Lists are cut between whole items, never inside a ``<url|title>``
link, and end with "… and N more" when something was left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.model import Alert, ArticleRef, Changes, TermChange
from monitor.notify.console import SEVERITY_MARK, render_text
from monitor.rules.durations import format_duration

SECTION_MAX = 3000
HEADER_MAX = 150
FIELD_MAX = 2000
CONTEXT_MAX = 2000
MAX_BLOCKS = 50
TEXT_MAX = 40_000
TITLE_MAX = 200  # a headline is cut to this before it becomes a link
URL_MAX = 1000  # longer URLs are not linked at all
MAX_HEADLINES = 10
PARENT_HEADLINES = 3
LINKS_PER_CHANGE = 3
NOTIFICATION_MAX = 1000
THREAD_NOTE = "Every alert for this story is in the thread · latest alert"

SEVERITY_EMOJI = {
    "info": ":information_source:", "warning": ":warning:",
    "high": ":large_orange_circle:", "critical": ":rotating_light:",
}
KIND_LABEL = {
    "threshold": "Coverage above threshold", "spike": "Coverage spike", "new_actor": "New actor",
    "shift": "Framing shift", "silence": "Story gone quiet", "any": "New matching article",
    "resolved": "Back to normal",
}
Block = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """A rendered Slack message: Block Kit ``blocks`` and the ``text`` fallback shown in notifications."""

    text: str
    blocks: list[Block] = field(default_factory=list)


# --- text helpers ---------------------------------------------------------------------
def escape(text: str) -> str:
    """Slack's three control characters, so user text cannot open a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Escape ``text`` and cut it so the escaped result fits ``limit``, never inside an entity."""
    out: list[str] = []
    size = 0
    for ch in text:
        piece = escape(ch)
        if size + len(piece) > limit - 1:
            out.append("…")
            return "".join(out)
        out.append(piece)
        size += len(piece)
    return "".join(out)


def fit_items(
    head: str, items: Sequence[str], limit: int = SECTION_MAX, sep: str = "\n", hidden: int = 0
) -> str:
    """``head`` then as many whole ``items`` as fit in ``limit``, then "… and N more".

    ``hidden`` counts items left out before the call (they count in N).
    """
    text = head
    for i, item in enumerate(items):
        rest = len(items) - i - 1 + hidden
        more = f"{sep}… and {rest} more" if rest else ""
        candidate = f"{text}{sep if text else ''}{item}"
        if len(candidate) + len(more) > limit:
            return f"{text}{sep if text else ''}… and {len(items) - i + hidden} more"
        text = candidate
    if hidden:
        text += f"{sep if text else ''}… and {hidden} more"
    return text


def link(ref: ArticleRef) -> str:
    """``<url|title>`` with the title cut and escaped; the bare title when there is no usable URL."""
    title = clip(ref.title.strip() or ref.id, TITLE_MAX)
    url = (ref.url or "").strip()
    if not url.startswith(("http://", "https://")) or len(url) > URL_MAX:
        return title
    safe = escape(url).replace("|", "%7C").replace(" ", "%20")
    return f"<{safe}|{title}>"


def when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


# --- blocks ---------------------------------------------------------------------------
def _header(alert: Alert) -> Block:
    mark = SEVERITY_MARK[alert.severity]
    text = f"{SEVERITY_EMOJI[alert.severity]} {mark} · {alert.rule}"
    if len(text) > HEADER_MAX:
        text = text[: HEADER_MAX - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def label(alert: Alert) -> str:
    """The kind of the alert, or every kind of its story-moment, joined by " + "."""
    return " + ".join(KIND_LABEL[k] for k in alert.kinds or (alert.kind,))


def why(alert: Alert) -> str:
    """The reason; one line per signal when the alert carries several."""
    if len(alert.reasons) <= 1:
        return clip(alert.reason, 2800)
    lines = [f"• *{KIND_LABEL[k]}*: {clip(r, 900)}" for k, r in zip(alert.kinds, alert.reasons, strict=False)]
    return fit_items("", lines, 2800)


def _summary(alert: Alert) -> Block:
    text = f"*{label(alert)}*: {clip(alert.summary, 1200)}"
    if alert.description:
        text += "\n" + clip(alert.description, 1200)
    return _section(text)


def _numbers(alert: Alert) -> str | None:
    if alert.count is None:
        return None
    text = f"{alert.count} article{'s' if alert.count != 1 else ''}"
    if alert.threshold is not None and alert.window_s:
        text += f" (threshold {alert.threshold} in {format_duration(alert.window_s)})"
    elif alert.window_s:
        text += f" in {format_duration(alert.window_s)}"
    return text


def _field(label: str, values: Sequence[str]) -> Block:
    head = f"*{label}*\n"
    items = [clip(v, 200) for v in values]
    return {"type": "mrkdwn", "text": head + fit_items("", items, FIELD_MAX - len(head), sep=", ")}


def _facts(alert: Alert) -> Block | None:
    fields = []
    if alert.actors:
        fields.append(_field("Actors", alert.actors))
    if alert.keywords:
        fields.append(_field("Keywords", alert.keywords))
    numbers = _numbers(alert)
    if numbers:
        fields.append(_field("Count", [numbers]))
    if alert.story != alert.rule:
        fields.append(_field("Story", [alert.story]))
    return {"type": "section", "fields": fields} if fields else None


def _carriers(change: TermChange, refs: dict[str, ArticleRef]) -> str:
    shown = [link(refs[a]) if a in refs else clip(a, 100) for a in change.articles[:LINKS_PER_CHANGE]]
    more = len(change.articles) - len(shown)
    tail = f" +{more} more" if more > 0 else ""
    return f" — {', '.join(shown)}{tail}" if shown else ""


def _changes(changes: Changes, refs: dict[str, ArticleRef]) -> list[Block]:
    blocks: list[Block] = []
    for label, items in (("new actors", changes.new_actors), ("rising", changes.rising),
                         ("fading", changes.fading)):
        if items:
            title = f"*What changed — {label}*"
            if changes.divergence is not None and not blocks:
                title += f" (divergence {changes.divergence:.2f})"
            lines = [f"• *{clip(c.term, 200)}*{_carriers(c, refs)}"
                     + (f"\n    _“{clip(c.context, 300)}”_" if c.context else "") for c in items]
            blocks.append(_section(fit_items(title, lines)))
    return blocks


def _headline(ref: ArticleRef) -> str:
    source = f" — _{clip(ref.source, 100)}_" if ref.source else ""
    why = f" · {clip(ref.why, 200)}" if ref.why else ""
    return f"• {link(ref)}{source} · {ref.published_at:%b %d %H:%M}{why}"


def _headlines(articles: Sequence[ArticleRef], limit: int, title: str = "*Top headlines*") -> Block | None:
    if not articles:
        return None
    newest = sorted(articles, key=lambda a: a.published_at, reverse=True)
    lines = [_headline(a) for a in newest[:limit]]
    return _section(fit_items(title, lines, hidden=max(0, len(newest) - limit)))


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:CONTEXT_MAX]}]}


def _key_context(alert: Alert, lead: str = "Alert") -> Block:
    key = clip(alert.key.replace("`", "'"), 300)
    return _context(f"{lead} `{key}` · {when(alert.at)} · Story Monitor")


def _within_limits(blocks: list[Block]) -> list[Block]:
    """Drop optional blocks from the end (keeping the last, the context) until Slack accepts them."""
    while len(blocks) > 2 and (len(blocks) > MAX_BLOCKS or _size(blocks) > TEXT_MAX):
        del blocks[-2]
    return blocks


def _size(blocks: Iterable[Block]) -> int:
    total = 0
    for block in blocks:
        total += len(block.get("text", {}).get("text", ""))
        total += sum(len(f["text"]) for f in block.get("fields", ()))
        total += sum(len(e.get("text", "")) for e in block.get("elements", ()))
    return total


def notification(alert: Alert) -> str:
    """The ``text`` Slack shows in notifications and to screen readers."""
    mark = SEVERITY_MARK[alert.severity]
    return clip(f"[{mark}] {alert.rule} · {label(alert)}: {alert.summary}", NOTIFICATION_MAX)


def render(alert: Alert) -> Message:
    """The full alert: severity and rule, why it fired, the numbers, what changed, the headlines."""
    refs = {a.id: a for a in alert.articles}
    blocks: list[Block | None] = [_header(alert), _summary(alert),
                                  _section(f"*Why it fired*\n{why(alert)}"), _facts(alert)]
    if alert.changes is not None:
        blocks.extend(_changes(alert.changes, refs))
    blocks.append(_headlines(alert.articles, MAX_HEADLINES))
    blocks.append(_key_context(alert))
    return Message(notification(alert), _within_limits([b for b in blocks if b is not None]))


def last_change(alert: Alert) -> str:
    """One line saying what moved last: the changes for shift and new-actor alerts, else the summary."""
    changes = alert.changes
    if changes is not None:
        parts = [f"{label}: {', '.join(c.term for c in items[:5])}"
                 for label, items in (("new actor", changes.new_actors), ("new", changes.rising),
                                      ("fading", changes.fading)) if items]
        if parts:
            return "; ".join(parts)
    return alert.summary


def render_parent(alert: Alert) -> Message:
    """The story's parent message, edited to the latest state: kind, count, last change, time."""
    state = f"*Latest:* {label(alert)} · {when(alert.at)}"
    numbers = _numbers(alert)
    if numbers:
        state += f" · {numbers}"
    state += f"\n*Last change:* {clip(last_change(alert), 1500)}"
    about = f"*Story:* {clip(alert.story, 300)}"
    if alert.description:
        about += "\n" + clip(alert.description, 1000)
    blocks: list[Block | None] = [_header(alert), _section(about), _section(state), _facts(alert),
                                  _headlines(alert.articles, PARENT_HEADLINES, "*Latest headlines*"),
                                  _key_context(alert, THREAD_NOTE)]
    story = f" · {alert.story}" if alert.story != alert.rule else ""
    text = clip(f"[{SEVERITY_MARK[alert.severity]}] {alert.rule}{story}: "
                f"{label(alert)}, {last_change(alert)}", NOTIFICATION_MAX)
    return Message(text, _within_limits([b for b in blocks if b is not None]))


def render_plain(alert: Alert) -> Message:
    """Text only, for when Slack rejects the blocks: the console rendering, escaped, whole lines."""
    lines = [escape(line) for line in render_text(alert).splitlines()]
    return Message(fit_items("", lines, TEXT_MAX))


def render_test(now: datetime, host: str) -> Message:
    """The marked message of ``story-monitor slack test``."""
    title = "Story Monitor test message — setup OK"
    blocks = [
        _section(f":white_check_mark: *{title}*\nAlerts for this channel will look like the ones "
                 "Story Monitor posts: one thread per story."),
        _context(f"Sent by `story-monitor slack test` from {clip(host, 200)} at {when(now)}. "
                 "Nothing to do; you can delete this message."),
    ]
    return Message(title, blocks)
