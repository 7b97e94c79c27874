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


def headline_rows(figures: dict) -> list[tuple[str, str]]:
    naive, pipeline = (
        figures["naive_samples_per_s"],
        figures["pipeline_samples_per_s"],
    )
    step, peak = (
        figures["train_step_flops_per_s"],
        figures["matmul_flops_per_s"],
    )
    chapters = figures["chapter_seconds"]
    base = chapters.get(WALKTHROUGH)
    slowest = (
        max(chapters.items(), key=lambda item: item[1])
        if chapters
        else None
    )
    rows = [
        (
            "Training, the article's pattern (samples/s)",
            f"{naive:,.0f}",
        ),
        (
            "Training, the book's pipeline (samples/s)",
            f"{pipeline:,.0f}",
        ),
        (
            "Pipeline over the article's pattern",
            f"{pipeline / naive:.2f}x",
        ),
        ("Training step (GFLOP/s)", f"{step / 1e9:,.1f}"),
        (
            "Dense matrix product, same dtype (GFLOP/s)",
            f"{peak / 1e9:,.1f}",
        ),
        ("Training step over the matrix product", f"{step / peak:.0%}"),
        (
            "`import mmtutorial` beyond `import tensorflow`",
            f"{figures['import_overhead_s']:.2f} s",
        ),
        ("All chapters executed", _seconds(figures["book_seconds"])),
    ]
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
        labels = [label for label, _ in headline_rows(results[0][1])]
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
        return [
            _table(header, rows),
            _table(chapter_header, chapter_rows),
        ]


def setup(app: Sphinx):
    app.add_directive("benchmark-table", BenchmarkTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
