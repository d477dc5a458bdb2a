"""Small order statistics for benchmark samples (no numpy needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) with linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be within 0..1")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    below = math.floor(position)
    above = math.ceil(position)
    weight = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * weight


def median(samples: Sequence[float]) -> float:
    """The middle value (mean of the two middle values for an even count)."""
    return percentile(samples, 0.5)


def summary(samples: Sequence[float], digits: int = 3) -> dict[str, float | int]:
    """Count, median, p95, best and worst of the samples, rounded to `digits`."""
    return {
        "count": len(samples),
        "median": round(median(samples), digits),
        "p95": round(percentile(samples, 0.95), digits),
        "best": round(min(samples), digits),
        "worst": round(max(samples), digits),
    }
