"""What the machine lets this process do, read from the machine itself, and its theoretical peak.

Nothing here imports TensorFlow, so the book's table renderer and the tests can use it.

The CPUs the process may use are the fewer of its affinity mask
(``os.sched_getaffinity``) and its cgroup CPU quota (``cpu.max`` on cgroup v2,
``cpu.cfs_quota_us / cpu.cfs_period_us`` on v1), not the host's cores.

The peak, in FLOP/s, for a dtype is::

    peak = usable CPUs x FLOPs per cycle per CPU (for that dtype) x clock

where, read from the ``flags`` line of ``/proc/cpuinfo``:

* float32 with ``avx512f``: 16 lanes x 2 FMA units x 2 FLOPs per FMA = 64 per cycle;
  with ``avx2`` and ``fma``: 8 x 2 x 2 = 32; ``avx`` without FMA: 8 lanes x
  (one add and one multiply unit) = 16; otherwise SSE: 4 x 2 = 8.
* bfloat16 with ``amx_bf16`` (an AMX tile unit): 1,024 FLOPs per cycle
  (16 x 32 bfloat16 multiply-adds of a ``TDPBF16PS`` row pass); with
  ``avx512_bf16``: ``VDPBF16PS`` does two multiply-adds in each float32
  lane, so twice the float32 rate (128); without either, bfloat16 is
  computed in float32 and its peak is float32's.

The assumptions, each stated in the JSON beside the figure: two FMA (or
AMX-class) units per core, as on server parts (a part with one 512-bit unit,
or with 256-bit units that split AVX-512 instructions, has half); every usable
CPU counted as a whole core (two hyperthreads of one core share its units, so
then the true peak is half); the clock is the highest the machine states
(``cpufreq/cpuinfo_max_freq``, else the ``cpu MHz`` of ``/proc/cpuinfo``; a
virtual machine reports its nominal clock there, and turbo can exceed it).
The peak is therefore an upper bound: a measured rate above it means the
measurement, or the reading of the machine, is wrong, and the benchmark says so.
"""

from __future__ import annotations

import math
import os
import pathlib

# Per-CPU FLOPs per cycle for float32 by instruction set, widest first: (flag(s), lanes, units, per lane).
FLOAT32_UNITS = (
    (("avx512f",), 16, 2, 2, "AVX-512: 16 float32 lanes x 2 FMA units x 2 FLOPs per FMA"),
    (("avx2", "fma"), 8, 2, 2, "AVX2 + FMA: 8 float32 lanes x 2 FMA units x 2 FLOPs per FMA"),
    (("avx",), 8, 1, 2, "AVX without FMA: 8 float32 lanes x (1 add + 1 multiply unit)"),
    ((), 4, 1, 2, "SSE: 4 float32 lanes x (1 add + 1 multiply unit)"),
)
AMX_BF16_PER_CYCLE = 1024
ASSUMPTIONS = (
    "two FMA units per core, as on server parts (one 512-bit unit, or 256-bit units that split "
    "AVX-512 instructions, give half)",
    "every usable CPU counted as a whole core (hyperthreads of one core share its units)",
    "the clock is the highest the machine states; turbo may exceed a virtual machine's nominal clock",
)


class PeakExceededError(RuntimeError):
    """A measured rate above the theoretical peak: the measurement or the machine's reading is wrong."""


def parse_cpuinfo(text: str) -> dict:
    """The first processor's ``model name``, ``flags`` (a set) and ``cpu MHz`` from ``/proc/cpuinfo`` text."""
    info = {"model": None, "flags": frozenset(), "mhz": None}
    for line in text.splitlines():
        if ":" not in line:
            if info["flags"] and not line.strip():
                break  # the end of the first processor's block
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        if key == "model name" and info["model"] is None:
            info["model"] = value
        elif key in ("flags", "Features") and not info["flags"]:
            info["flags"] = frozenset(value.split())
        elif key == "cpu MHz" and info["mhz"] is None:
            try:
                info["mhz"] = float(value)
            except ValueError:
                pass
    return info


def parse_cgroup_quota(cpu_max: str | None = None, quota_us=None, period_us=None) -> float | None:
    """CPUs the cgroup quota allows (may be fractional), or ``None`` when there is no quota.

    ``cpu_max`` is cgroup v2's ``cpu.max`` text (``"200000 100000"`` or
    ``"max 100000"``); ``quota_us``/``period_us`` are cgroup v1's
    ``cpu.cfs_quota_us`` (``-1`` for none) and ``cpu.cfs_period_us``.
    """
    if cpu_max is not None:
        fields = cpu_max.split()
        if not fields or fields[0] == "max":
            return None
        quota = int(fields[0])
        period = int(fields[1]) if len(fields) > 1 else 100000
    elif quota_us is not None:
        quota, period = int(quota_us), int(period_us or 100000)
        if quota < 0:
            return None
    else:
        return None
    if period <= 0 or quota <= 0:
        raise ValueError(f"cgroup CPU quota {quota} over period {period} is not a positive share")
    return quota / period


def _read(path):
    try:
        return pathlib.Path(path).read_text().strip()
    except OSError:
        return None


def cgroup_quota(root="/sys/fs/cgroup") -> float | None:
    """This process's cgroup CPU quota in CPUs, v2 then v1; ``None`` without one."""
    root = pathlib.Path(root)
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        return parse_cgroup_quota(cpu_max=v2)
    quota = _read(root / "cpu" / "cpu.cfs_quota_us")
    if quota is not None:
        return parse_cgroup_quota(
            quota_us=quota, period_us=_read(root / "cpu" / "cpu.cfs_period_us")
        )
    return None


def usable_cpus(affinity: int, quota: float | None) -> float:
    """CPUs this process can keep busy: its affinity mask, capped by the cgroup quota."""
    if affinity < 1:
        raise ValueError(f"affinity must name at least one CPU; got {affinity!r}")
    return float(affinity) if quota is None else min(float(affinity), quota)


def clock_ghz(cpuinfo: dict, max_freq_khz: str | None = None) -> tuple[float | None, str]:
    """The clock the peak assumes, in GHz, and where it was read."""
    if max_freq_khz:
        return int(max_freq_khz) / 1e6, "cpufreq cpuinfo_max_freq"
    if cpuinfo.get("mhz"):
        return cpuinfo["mhz"] / 1e3, "cpu MHz in /proc/cpuinfo"
    return None, "not readable"


def flops_per_cycle(flags, dtype: str) -> tuple[int, str]:
    """FLOPs one CPU can do per cycle in ``dtype``, with the reasoning in words."""
    flags = frozenset(flags)
    for needs, lanes, units, per_lane, words in FLOAT32_UNITS:
        if all(flag in flags for flag in needs):
            float32 = (lanes * units * per_lane, words)
            break
    if dtype == "float32":
        return float32
    if dtype == "bfloat16":
        if "amx_bf16" in flags:
            return AMX_BF16_PER_CYCLE, "AMX-BF16: 1,024 bfloat16 FLOPs per cycle per tile unit"
        if "avx512_bf16" in flags:
            return 2 * float32[0], "AVX512-BF16: 2 multiply-adds per float32 lane, twice float32"
        return float32[0], "no native bfloat16: computed in float32, " + float32[1]
    raise ValueError(f"dtype must be 'float32' or 'bfloat16'; got {dtype!r}")


def peak(flags, cpus: float, ghz: float | None, dtype: str) -> dict:
    """The theoretical peak of ``cpus`` CPUs at ``ghz`` in ``dtype``, with its formula."""
    per_cycle, words = flops_per_cycle(flags, dtype)
    if ghz is None:
        return {
            "flops_per_s": None,
            "formula": f"clock not readable; {words}",
            "per_cycle": per_cycle,
        }
    value = cpus * per_cycle * ghz * 1e9
    formula = f"{cpus:g} CPUs x {per_cycle} FLOPs/cycle ({words}) x {ghz:.2f} GHz"
    return {"flops_per_s": round(value), "formula": formula, "per_cycle": per_cycle}


def check_below_peak(name: str, measured: float, peak_flops: float | None):
    """Raise :class:`PeakExceededError` when ``measured`` exceeds ``peak_flops``."""
    if peak_flops is not None and measured > peak_flops:
        raise PeakExceededError(
            f"{name}: measured {measured / 1e9:,.1f} GFLOP/s is above the theoretical peak "
            f"{peak_flops / 1e9:,.1f} GFLOP/s; the measurement (its dtype or its timing) or the "
            "machine's description (CPUs, flags, clock) is wrong"
        )


def describe(
    cpuinfo_text: str | None = None, affinity: int | None = None, quota="read", max_freq_khz="read"
) -> dict:
    """The machine as this process sees it, with the peak per dtype; arguments override the readings."""
    if cpuinfo_text is None:
        cpuinfo_text = _read("/proc/cpuinfo") or ""
    info = parse_cpuinfo(cpuinfo_text)
    if affinity is None:
        affinity = (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        )
    if quota == "read":
        quota = cgroup_quota()
    if max_freq_khz == "read":
        max_freq_khz = _read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    cpus = usable_cpus(affinity, quota)
    ghz, clock_source = clock_ghz(info, max_freq_khz)
    interesting = (
        "avx",
        "avx2",
        "fma",
        "avx512f",
        "avx512_bf16",
        "amx_bf16",
        "amx_tile",
        "avx512_vnni",
    )
    return {
        "model": info["model"],
        "affinity_cpus": affinity,
        "cgroup_quota_cpus": quota,
        "usable_cpus": cpus,
        "threads": max(1, math.floor(cpus)),
        "flags": sorted(flag for flag in interesting if flag in info["flags"]),
        "clock_ghz": ghz,
        "clock_source": clock_source,
        "peak": {dtype: peak(info["flags"], cpus, ghz, dtype) for dtype in ("float32", "bfloat16")},
        "assumptions": list(ASSUMPTIONS),
    }
