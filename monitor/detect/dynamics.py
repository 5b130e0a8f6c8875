"""The story-dynamics detectors, by the name a rule's ``detect:`` gives them."""

from __future__ import annotations

from monitor.detect.base import Detector
from monitor.detect.newactor import NewActorDetector
from monitor.detect.shift import ShiftDetector
from monitor.detect.silence import SilenceDetector
from monitor.detect.spike import SpikeDetector


def dynamic_detectors() -> dict[str, Detector]:
    """spike, new_actor, shift and silence, fresh and stateless (their state lives in the stories)."""
    return {
        "spike": SpikeDetector(),
        "new_actor": NewActorDetector(),
        "shift": ShiftDetector(),
        "silence": SilenceDetector(),
    }
