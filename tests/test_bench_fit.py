"""The benchmark's memory-growth estimate: floors of each span, and a fit one bad span does not move."""

from __future__ import annotations

from bench.phases import fit_slope, rss_floors  # python -m pytest puts the root on the path

Sample = tuple[float, int, float]  # wall time, committed articles, MB


def samples(growth_mb_per_million: float, *, missed_span: int | None = None) -> list[Sample]:
    """RSS every 500 articles: a floor growing at the given rate, a 60 MB swing within each batch
    of 2,000 articles, and (optionally) one span of 10,000 sampled only mid-batch."""
    out = []
    for n in range(0, 100_001, 500):
        floor = 200.0 + growth_mb_per_million * n / 1_000_000
        swing = 0.0 if n % 2_000 == 0 else 60.0
        if missed_span is not None and 20_000 + missed_span * 8_000 <= n < 20_000 + (missed_span + 1) * 8_000:
            swing = max(swing, 12.0)
        out.append((float(n), n, floor + swing))
    return out


def test_flat_memory_reads_flat_even_when_a_span_misses_its_floor() -> None:
    assert fit_slope(samples(0.0), 20_000) == 0.0
    slope = fit_slope(samples(0.0, missed_span=8), 20_000)
    assert slope is not None and abs(slope) < 1.0
    assert len(rss_floors(samples(0.0), 20_000)) == 10


def test_growing_memory_reads_its_rate() -> None:
    slope = fit_slope(samples(100.0, missed_span=3), 20_000)
    assert slope is not None and 95.0 <= slope <= 105.0
