"""Re-execute every chapter with other seeds and report each claim that fails.

Every chapter fixes ``SEED = 0`` in one code cell and asserts its claims on
the numbers that seed produces. A claim the book teaches must not be an
accident of seed 0, so this tool copies each chapter into an empty folder,
changes only that one assignment to ``SEED = k`` for every ``k`` asked for,
executes the copy in a fresh kernel (as a hosted notebook service would, with
the installed package), and reports every cell that raised, with the first
line of its code and the last line of its error.

Run from the repository root::

    python -m tools.check_seeds                  # seeds 0..4, every chapter
    python -m tools.check_seeds --seeds 1 2 --notebooks book/concepts.ipynb
    python -m tools.check_seeds --json seeds.json

or ``make check-seeds``. It exits with status 1 when any cell fails. It takes
about five times as long as executing the book once, so it is not part of
``make test``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import pathlib
import re
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SEED_LINE = re.compile(r"^SEED\s*=\s*\d+\s*$", flags=re.MULTILINE)


@dataclasses.dataclass
class Failure:
    cell: int  # index among the notebook's cells
    code: str  # the first line of the cell's code
    error: str  # the last line of the error


@dataclasses.dataclass
class Outcome:
    notebook: str
    seed: int
    seconds: float
    failures: list
    problem: str | None = None  # the chapter could not be checked at all (no SEED line, ...)

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.failures


def with_seed(notebook: dict, seed: int) -> dict:
    """A copy of ``notebook`` (nbformat JSON) whose single ``SEED = ...`` line reads ``SEED = seed``.

    Raises:
        ValueError: if no code cell, or more than one, assigns ``SEED``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; received {seed!r}")
    notebook = json.loads(json.dumps(notebook))
    hits = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        found = SEED_LINE.findall(source)
        if found:
            hits.append(index)
            cell["source"] = SEED_LINE.sub(f"SEED = {seed}", source)
    if len(hits) != 1:
        raise ValueError(
            f"expected exactly one code cell with a line 'SEED = <integer>'; found {len(hits)} "
            f"(cells {hits})"
        )
    return notebook


def failures_of(notebook: dict) -> list:
    """Every code cell of an executed notebook whose outputs hold an error."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                source = (
                    "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                )
                first = next((line for line in source.splitlines() if line.strip()), "")
                error = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
                found.append(
                    Failure(index, first[:100], error.splitlines()[-1][:300] if error else "")
                )
                break
    return found


def run_one(path: str, seed: int, timeout: int) -> Outcome:
    """Execute ``path`` with ``SEED = seed`` alone in an empty folder; never raises."""
    import nbclient
    import nbformat

    start = time.perf_counter()
    name = pathlib.Path(path).name
    try:
        notebook = with_seed(json.loads(pathlib.Path(path).read_text()), seed)
    except ValueError as error:
        return Outcome(name, seed, 0.0, [], problem=str(error))
    with tempfile.TemporaryDirectory(prefix=f"seed{seed}-") as workdir:
        node = nbformat.reads(json.dumps(notebook), as_version=4)  # sources as strings
        client = nbclient.NotebookClient(
            node,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,  # go on after a failed claim, to report every one
            resources={"metadata": {"path": workdir}},
        )
        try:
            client.execute()
        except Exception as error:  # a timeout or a dead kernel: report it, go on with the rest
            return Outcome(
                name,
                seed,
                time.perf_counter() - start,
                failures_of(node),
                problem=repr(error)[:300],
            )
    return Outcome(name, seed, time.perf_counter() - start, failures_of(node))


def table(outcomes: list, seeds: list) -> str:
    """A Markdown table: one row per chapter, one column per seed."""
    by_key = {(o.notebook, o.seed): o for o in outcomes}
    names = sorted({o.notebook for o in outcomes})
    lines = [
        "| chapter | " + " | ".join(f"seed {s}" for s in seeds) + " |",
        "|---|" + "---|" * len(seeds),
    ]
    for name in names:
        cells = []
        for seed in seeds:
            outcome = by_key.get((name, seed))
            if outcome is None:
                cells.append("")
            elif outcome.ok:
                cells.append(f"ok ({outcome.seconds:.0f} s)")
            elif outcome.problem and not outcome.failures:
                cells.append("error")
            else:
                cells.append("FAIL " + ", ".join(f"cell {f.cell}" for f in outcome.failures))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details(outcomes: list) -> str:
    lines = []
    for o in sorted(outcomes, key=lambda o: (o.notebook, o.seed)):
        if o.problem:
            lines.append(f"- {o.notebook}, seed {o.seed}: {o.problem}")
        for f in o.failures:
            lines.append(f"- {o.notebook}, seed {o.seed}, cell {f.cell} (`{f.code}`): {f.error}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.check_seeds", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--notebooks", nargs="+", default=None, help="default: every book/*.ipynb")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="chapters run at once"
    )
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument(
        "--json", type=pathlib.Path, default=None, help="also write the outcomes here"
    )
    args = parser.parse_args(argv)
    notebooks = [
        str(pathlib.Path(p).resolve())
        for p in (args.notebooks or sorted((ROOT / "book").glob("*.ipynb")))
    ]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.pop("MPLBACKEND", None)
    jobs = [(path, seed) for seed in args.seeds for path in notebooks]
    outcomes = []
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {
            pool.submit(run_one, path, seed, args.timeout): (path, seed) for path, seed in jobs
        }
        for future in concurrent.futures.as_completed(futures):
            outcome = future.result()
            outcomes.append(outcome)
            status = "ok" if outcome.ok else f"FAILED ({len(outcome.failures)} cell(s))"
            if outcome.problem:
                status += f": {outcome.problem}"
            print(
                f"{outcome.notebook} seed {outcome.seed}: {status} in {outcome.seconds:.0f} s",
                flush=True,
            )
    print()
    print(table(outcomes, args.seeds))
    failed = details(outcomes)
    if failed:
        print()
        print(failed)
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(o) for o in outcomes], indent=1))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
