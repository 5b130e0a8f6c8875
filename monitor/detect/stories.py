"""Which story of a rule an article belongs to."""

from __future__ import annotations

from typing import Any

from monitor.model import Annotated
from monitor.rules.schema import Rule


class StoryAssigner:
    """Upstream ``story_id`` when the article carries one; otherwise the rule's own story."""

    def assign(self, rule: Rule, item: Annotated) -> str:
        return item.article.story_id or rule.id

    def to_json(self) -> dict[str, Any]:
        return {}

    def restore(self, data: dict[str, Any]) -> None:
        return None

    def forget_rule(self, rule_id: str) -> None:
        return None
