"""Rule files: typed rules, durations, and the loader that validates them with line numbers."""

from monitor.rules.loader import check_paths, load_rules
from monitor.rules.schema import ActorDef, MatchSpec, Rule, RuleSet

__all__ = ["ActorDef", "MatchSpec", "Rule", "RuleSet", "check_paths", "load_rules"]
