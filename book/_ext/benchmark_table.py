"""Render the benchmark's committed JSON files as tables, so no figure is typed by hand.

``python -m benchmarks --json benchmarks/results/<machine>.json`` writes one
file per machine. The directive::

    ```{benchmark-table} benchmarks/results
    ```

reads every ``*.json`` file in that folder (relative to the repository root)
and writes two tables: the headline figures, one column per machine, and each
chapter's execution time with its ratio to the walkthrough chapter's. Sphinx
rebuilds the page when a file changes. A file that lacks one of the
benchmark's keys stops the build with the file's name and the missing keys.

Enable it in ``_config.yml``::

    sphinx:
      local_extensions:
        benchmark_table: book/_ext
"""

from __future__ import annotations

import json
import pathlib
import sys

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective

# The keys and the walkthrough's name come from the benchmark itself (the
# package's __init__ imports nothing heavy), so the two cannot drift apart.
ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import KEYS, WALKTHROUGH  # noqa: E402


def load(folder: pathlib.Path) -> list[tuple[str, dict]]:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise ExtensionError(
            f"benchmark-table: no *.json file in {folder}"
        )
    results = []
    for path in files:
        figures = json.loads(path.read_text())
        missing = [key for key in KEYS if key not in figures]
        if missing:
            raise ExtensionError(
                f"benchmark-table: {path} lacks the keys {missing}"
            )
        results.append((path.stem, figures))
    return results


def _seconds(value):
    return "not measured" if value is None else f"{value:,.1f} s"


def _gflops(value):
    return "not measured" if value is None else f"{value / 1e9:,.1f}"


def _spread(record, scale=1.0, digits=0):
    """A measured rate as ``median (min-max, n repeats)``."""

    def number(value):
        return f"{value / scale:,.{digits}f}"

    unstable = "" if record.get("stable", True) else ", not stable"
    return (
        f"{number(record['median'])} ({number(record['min'])}-{number(record['max'])}, "
        f"{record['repeats']} repeats{unstable})"
    )


def headline_rows(figures: dict) -> list[tuple[str, str]]:
    """The headline figures of one results file; files written before the
    figures recorded their dtype and spread render with that said."""
    naive, pipeline = (
        figures["naive_samples_per_s"],
        figures["pipeline_samples_per_s"],
    )
    step, limit = (
        figures["train_step_flops_per_s"],
        figures["matmul_flops_per_s"],
    )
    measurements = figures.get("measurements")
    machine = figures.get("machine")
    chapters = figures["chapter_seconds"]
    base = chapters.get(WALKTHROUGH)
    slowest = (
        max(chapters.items(), key=lambda item: item[1])
        if chapters
        else None
    )
    rows = []
    if machine:
        quota = machine["cgroup_quota_cpus"]
        rows.append(
            (
                "Usable CPUs (affinity; cgroup quota)",
                f"{machine['usable_cpus']:g} ({machine['affinity_cpus']}; "
                + ("none" if quota is None else f"{quota:g}")
                + ")",
            )
        )
        clock = machine["clock_ghz"]
        rows.append(
            (
                "Clock and vector units",
                ("unknown" if clock is None else f"{clock:.2f} GHz")
                + f" ({machine['clock_source']}); "
                + (", ".join(machine["flags"]) or "no AVX"),
            )
        )
        rows.append(
            ("Run", "quick" if figures.get("quick") else "full")
        )
    if measurements:
        for key, label in (
            ("naive", "Training, the article's pattern (samples/s)"),
            ("pipeline", "Training, the book's pipeline (samples/s)"),
        ):
            record = measurements[key]
            rows.append(
                (
                    f"{label}: batch {record['batch']}, "
                    f"{record['precision_policy']}",
                    _spread(record),
                )
            )
    else:
        rows.append(
            (
                "Training, the article's pattern (samples/s)",
                f"{naive:,.0f}",
            )
        )
        rows.append(
            (
                "Training, the book's pipeline (samples/s)",
                f"{pipeline:,.0f}",
            )
        )
    rows.append(
        (
            "Pipeline over the article's pattern",
            f"{pipeline / naive:.2f}x",
        )
    )
    rows.append(("Training step (GFLOP/s)", f"{step / 1e9:,.1f}"))
    if measurements and machine:
        for dtype in ("float32", "bfloat16"):
            record = measurements.get(f"matmul_{dtype}")
            peak = machine["peak"][dtype]["flops_per_s"]
            if record is None:
                continue
            label = (
                "the limit" if dtype == "float32" else "its own figure"
            )
            rows.append(
                (
                    f"Dense matrix product, {dtype}, {label} (GFLOP/s)",
                    _spread(record, 1e9, 1),
                )
            )
            rows.append(
                (
                    f"Theoretical {dtype} peak (GFLOP/s)",
                    _gflops(peak),
                )
            )
            if peak:
                rows.append(
                    (
                        f"{dtype} matrix product over its peak",
                        f"{record['median'] / peak:.0%}",
                    )
                )
        target = figures.get("target_utilisation")
        rows.append(
            (
                "Training step over the float32 limit"
                + (f" (target {target:.0%})" if target else ""),
                f"{step / limit:.0%}",
            )
        )
    else:
        rows.append(
            (
                "Dense matrix product, dtype not recorded (GFLOP/s)",
                f"{limit / 1e9:,.1f}",
            )
        )
        rows.append(
            (
                "Training step over the matrix product (dtypes not recorded)",
                f"{step / limit:.0%}",
            )
        )
    rows.append(
        (
            "`import mmtutorial` beyond `import tensorflow`",
            f"{figures['import_overhead_s']:.2f} s",
        )
    )
    rows.append(
        ("All chapters executed", _seconds(figures["book_seconds"]))
    )
    if base:
        rows.append(
            (
                "All chapters over the walkthrough",
                f"{figures['book_seconds'] / base:.1f}x",
            )
        )
        rows.append(
            (
                "Slowest chapter over the walkthrough",
                f"{slowest[1] / base:.2f}x ({slowest[0]})",
            )
        )
    rows.append(("Cold book build", _seconds(figures["cold_build_s"])))
    rows.append(
        (
            "Warm rebuild, nothing changed",
            _seconds(figures["warm_build_s"]),
        )
    )
    return rows


def peak_rows(figures: dict) -> list[list[str]]:
    """The peak's formula per dtype, and the assumptions behind it."""
    machine = figures.get("machine")
    if not machine:
        return []
    rows = [
        [f"{dtype} peak", machine["peak"][dtype]["formula"]]
        for dtype in ("float32", "bfloat16")
    ]
    rows += [["assumption", text] for text in machine["assumptions"]]
    return rows


def measurement_rows(figures: dict) -> list[list[str]]:
    """How each rate was measured: settings, median, range and repeats."""
    measurements = figures.get("measurements") or {}
    records = [
        (key, record)
        for key, record in measurements.items()
        if key != "variants"
    ]
    records += [
        (f"variant: {name}", record)
        for name, record in measurements.get("variants", {}).items()
    ]
    rows = []
    for key, record in records:
        scale, digits = (
            (1e9, 1) if record["unit"] == "FLOP/s" else (1, 0)
        )
        unit = (
            "GFLOP/s" if record["unit"] == "FLOP/s" else record["unit"]
        )
        rows.append(
            [
                f"{key}: {record['what']}",
                record["dtype"],
                record["precision_policy"],
                "" if record["batch"] is None else str(record["batch"]),
                f"{_spread(record, scale, digits)} {unit}",
            ]
        )
    return rows


def profile_rows(figures: dict) -> list[list[str]]:
    """The training step's parts: milliseconds per batch and FLOP/s."""
    rows = []
    for row in figures.get("profile") or []:
        low, high = row["ms_range"]
        rate = row["flops_per_s"]
        rows.append(
            [
                row["part"],
                f"{row['ms_per_batch']:,.2f} ({low:,.2f}-{high:,.2f})",
                "" if rate is None else _gflops(rate),
            ]
        )
    return rows


def phase_rows(figures: dict) -> list[list[str]]:
    """The test suite's phases in seconds, when the file records them."""
    return [
        [phase, _seconds(seconds)]
        for phase, seconds in (figures.get("test_phases") or {}).items()
    ]


def _table(header: list[str], rows: list[list[str]]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    body = nodes.tbody()
    group += body
    for target, cells in ((head, [header]), (body, rows)):
        for cells_of_row in cells:
            row = nodes.row()
            for text in cells_of_row:
                entry = nodes.entry()
                entry += nodes.paragraph(text=text)
                row += entry
            target += row
    return table


class BenchmarkTable(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self):
        root = pathlib.Path(self.env.srcdir)
        folder = root / self.arguments[0]
        results = load(folder)
        for path in folder.glob("*.json"):
            self.env.note_dependency(str(path))
        header = ["Measurement"] + [
            figures["device"] for _, figures in results
        ]
        per_machine = [
            dict(headline_rows(figures)) for _, figures in results
        ]
        labels = list(
            dict.fromkeys(
                label
                for _, figures in results
                for label, _ in headline_rows(figures)
            )
        )
        rows = [
            [label] + [rows.get(label, "") for rows in per_machine]
            for label in labels
        ]
        chapters = sorted(
            {
                stem
                for _, figures in results
                for stem in figures["chapter_seconds"]
            }
        )
        chapter_rows = []
        for stem in chapters:
            cells = [stem]
            for _, figures in results:
                times = figures["chapter_seconds"]
                base = times.get(WALKTHROUGH)
                if stem in times:
                    ratio = (
                        f" ({times[stem] / base:.2f}x)" if base else ""
                    )
                    cells.append(f"{times[stem]:.1f} s{ratio}")
                else:
                    cells.append("")
            chapter_rows.append(cells)
        chapter_header = [
            "Chapter (seconds, and over the walkthrough)"
        ] + header[1:]
        tables = [
            _table(header, rows),
            _table(chapter_header, chapter_rows),
        ]
        # Per machine, where its file records them: how each figure was
        # measured, the peak's formula, the step's profile, the test phases.
        for _, figures in results:
            for title, columns, body in (
                (
                    "How each figure was measured",
                    [
                        "Figure",
                        "dtype",
                        "Policy",
                        "Batch",
                        "Median (range)",
                    ],
                    measurement_rows(figures),
                ),
                (
                    "Theoretical peak",
                    ["", "Formula"],
                    peak_rows(figures),
                ),
                (
                    "The training step, part by part (batch 256, float32)",
                    ["Part", "ms per batch (range)", "GFLOP/s"],
                    profile_rows(figures),
                ),
                (
                    "Test suite phases",
                    ["Phase", "Seconds"],
                    phase_rows(figures),
                ),
            ):
                if body:
                    columns = [
                        f"{title}: {figures['device']}"
                    ] + columns[1:]
                    tables.append(_table(columns, body))
        return tables


def setup(app: Sphinx):
    app.add_directive("benchmark-table", BenchmarkTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
