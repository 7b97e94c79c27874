"""Timing that repeats until it is stable, and the rule that ties ``--quick`` to the full run.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import statistics
import time

# --quick must give the full run's ratios within this share, or say it cannot.
QUICK_TOLERANCE = 0.15


def repeat_until_stable(
    function,
    *,
    warmup=1,
    min_repeats=3,
    max_repeats=10,
    window=3,
    tolerance=0.05,
    clock=time.perf_counter,
):
    """Time ``function`` until the median of the times so far settles.

    ``warmup`` untimed calls come first (tracing, caches). Then each call is
    timed; from the ``min_repeats``-th on, the median of all times so far is
    kept, and timing stops when the last ``window`` medians lie within
    ``tolerance`` of their own median (relative), or after ``max_repeats``
    calls, the run then being marked unstable.

    Returns a dict: ``seconds`` (every timed call), ``median``, ``min``,
    ``max``, ``repeats`` and ``stable``.
    """
    if min_repeats < 1 or max_repeats < min_repeats or window < 1:
        raise ValueError(
            f"need 1 <= min_repeats <= max_repeats and window >= 1; got min_repeats={min_repeats}, "
            f"max_repeats={max_repeats}, window={window}"
        )
    for _ in range(warmup):
        function()
    seconds, medians, stable = [], [], False
    while len(seconds) < max_repeats:
        start = clock()
        function()
        seconds.append(clock() - start)
        if len(seconds) >= min_repeats:
            medians.append(statistics.median(seconds))
            last = medians[-window:]
            if len(last) == window and (max(last) - min(last)) <= tolerance * statistics.median(
                last
            ):
                stable = True
                break
    return {
        "seconds": [round(s, 6) for s in seconds],
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
        "repeats": len(seconds),
        "stable": stable,
    }


def rate(timing: dict, work: float) -> dict:
    """``work`` per second from a :func:`repeat_until_stable` result: median and range."""
    return {
        "median": work / timing["median"],
        "min": work / timing["max"],
        "max": work / timing["min"],
        "repeats": timing["repeats"],
        "stable": timing["stable"],
    }


def spread(figure: dict) -> float:
    """The range of a rate relative to its median."""
    return (figure["max"] - figure["min"]) / figure["median"]


def ratio_spread(numerator: dict, denominator: dict) -> float:
    """How far the ratio of two rates can move within their ranges, relative to the median ratio."""
    middle = numerator["median"] / denominator["median"]
    high = numerator["max"] / denominator["min"]
    low = numerator["min"] / denominator["max"]
    return (high - low) / middle


def compare_ratios(quick: dict, full: dict, tolerance=QUICK_TOLERANCE) -> list[dict]:
    """Each ratio both runs report: the quick and the full value and whether they agree within ``tolerance``."""
    rows = []
    for name in sorted(set(quick) & set(full)):
        q, f = quick[name], full[name]
        if q is None or f is None or not f:
            continue
        difference = abs(q - f) / abs(f)
        rows.append(
            {
                "ratio": name,
                "quick": q,
                "full": f,
                "difference": difference,
                "agrees": difference <= tolerance,
            }
        )
    return rows


def quick_verdict(
    ratios: dict, spreads: dict, full: dict | None, tolerance=QUICK_TOLERANCE
) -> list[str]:
    """What a ``--quick`` run says about its ratios against the full run: lines of text.

    ``ratios`` are this run's ratios, ``spreads`` how far each could move within
    its repeats (:func:`ratio_spread`), ``full`` the ratios of a full run on
    the same machine (``None`` when there is none). A ratio whose own spread
    exceeds ``tolerance``, or that differs from the full run's by more, is
    named: the quick run cannot promise it.
    """
    lines = []
    for name, value in sorted(spreads.items()):
        if value > tolerance:
            lines.append(
                f"--quick cannot promise {name} within {tolerance:.0%} of a full run: its repeats "
                f"span {value:.0%} (the machine is busy or the run too short)"
            )
    if full is None:
        lines.append(
            "--quick cannot check its ratios against a full run: no full run of this machine "
            "(same model, CPUs and TensorFlow) is in the results folder"
        )
        return lines
    for row in compare_ratios(ratios, full, tolerance):
        verdict = "agrees" if row["agrees"] else "does NOT agree"
        lines.append(
            f"{row['ratio']}: quick {row['quick']:.2f}, full {row['full']:.2f} "
            f"({row['difference']:.0%} apart: {verdict} within {tolerance:.0%})"
        )
    return lines
