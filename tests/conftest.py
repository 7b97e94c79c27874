"""Shared fixtures. Small sizes keep the suite fast on a 2-core CPU.

Every chapter executes exactly once per test session (``chapter_runs``): alone
in an empty folder outside the repository, as a hosted notebook service runs
it, under nbval, which also saves the executed notebook. The book is then
built from those executed notebooks (``built_book``): they are put into the
build's jupyter-cache, so the build renders the outputs nbval checked and
executes nothing itself. The runs start in the background as soon as the
collected tests need them, a worker per CPU core, so the package's unit tests
run while the chapters execute.
"""

import concurrent.futures
import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
# No training progress in the test run or in the chapters' kernels (mt.train.progress_verbosity).
os.environ["MMTUTORIAL_QUIET"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mmtutorial as mt  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
RECORDER = pathlib.Path(__file__).resolve().parent / "nbval_record.py"
# Variables that would let a chapter's kernel find files through the repository or the test run.
UNSET = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "MPLBACKEND",
    "PWD",
    "OLDPWD",
    "PYTEST_CURRENT_TEST",
)


@pytest.fixture(scope="session")
def task():
    return mt.data.ShapeMaterialTask()


@pytest.fixture(scope="session")
def small(task):
    """A small split, shared read-only by many tests."""
    return task.generate(64, seed=7)


@pytest.fixture
def fused(task):
    mt.train.set_seed(0)
    return mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes
    )


# ---------------------------------------------------------------------------------------------
# One execution of every chapter


@dataclasses.dataclass
class ChapterRun:
    """What one chapter's isolated nbval run left behind."""

    name: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    executed: pathlib.Path  # the notebook with nbval's outputs (absent when nbval crashed)
    left_behind: list  # names in the working folder besides the notebook

    @property
    def passed(self):
        return (
            self.returncode == 0
            and " passed" in self.stdout
            and " failed" not in self.stdout
            and self.executed.exists()
        )


def sanitized_environment(workdir):
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env["PWD"] = str(workdir)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run_chapter_alone(source, scratch):
    """Copy ``source`` alone into an empty folder and execute it there under nbval."""
    workdir = scratch / source.stem / "alone"
    workdir.mkdir(parents=True)
    executed = scratch / source.stem / source.name
    shutil.copyfile(source, workdir / source.name)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(RECORDER), source.name, str(executed)],
        cwd=workdir,
        env=sanitized_environment(workdir),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    seconds = time.perf_counter() - start
    left = sorted(p.name for p in workdir.iterdir() if p.name != source.name)
    return ChapterRun(
        source.name, result.returncode, result.stdout, result.stderr, seconds, executed, left
    )


def notebook_workers():
    """Chapters executed at once: ``MMTUTORIAL_NOTEBOOK_WORKERS``, else one per CPU core."""
    value = os.environ.get("MMTUTORIAL_NOTEBOOK_WORKERS", "")
    if value:
        return max(1, int(value))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


class ChapterRuns:
    """Every chapter's isolated run, started in the background, longest notebooks first."""

    def __init__(self):
        self.scratch = pathlib.Path(tempfile.mkdtemp(prefix="mmtutorial-chapters-"))
        assert not self.scratch.resolve().is_relative_to(ROOT), (
            "the chapters' folders must lie outside the repository"
        )
        self.workers = notebook_workers()
        self.pool = concurrent.futures.ThreadPoolExecutor(self.workers)
        # Big notebooks first keeps the workers busy until the end; the order
        # changes nothing else, since every chapter runs in its own kernel.
        order = sorted(NOTEBOOKS, key=lambda path: -path.stat().st_size)
        self.futures = {
            path.name: self.pool.submit(run_chapter_alone, path, self.scratch) for path in order
        }

    def result(self, name):
        return self.futures[name].result()

    def all(self):
        return {path.name: self.result(path.name) for path in NOTEBOOKS}

    def close(self):
        for future in self.futures.values():
            future.cancel()
        self.pool.shutdown(wait=True)
        shutil.rmtree(self.scratch, ignore_errors=True)


_CHAPTER_RUNS = None


def _chapter_runs():
    global _CHAPTER_RUNS
    if _CHAPTER_RUNS is None:
        _CHAPTER_RUNS = ChapterRuns()
    return _CHAPTER_RUNS


def pytest_collection_finish(session):
    """Start the chapters at once when a selected test needs them, so they overlap the unit tests."""
    if session.config.option.collectonly:
        return
    if any("chapter_runs" in getattr(item, "fixturenames", ()) for item in session.items):
        _chapter_runs()


def pytest_sessionfinish(session):
    if _CHAPTER_RUNS is not None:
        _CHAPTER_RUNS.close()
    _write_phases()


@pytest.fixture(scope="session")
def chapter_runs():
    """Every chapter executed once, alone, under nbval (see the module's docstring)."""
    return _chapter_runs()


def cache_executed_chapters(runs, cache_path):
    """Put every chapter that passed into a jupyter-cache, keyed on its code as MyST-NB keys it."""
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path))
    for run in runs.values():
        if run.passed:
            cache.cache_notebook_file(
                str(run.executed),
                uri=str(ROOT / "book" / run.name),
                data={"execution_seconds": run.seconds},
                check_validity=False,
                overwrite=True,
            )
    return cache


@dataclasses.dataclass
class BuiltBook:
    html: pathlib.Path
    cache_records: list  # (primary key, uri) of the cache before the build
    cache_records_after: list
    log: str


@pytest.fixture(scope="session")
def book_build(tmp_path_factory, chapter_runs):
    """The book built once per session, from the chapters ``chapter_runs`` executed."""
    runs = chapter_runs.all()
    failed = sorted(name for name, run in runs.items() if not run.passed)
    if failed:
        pytest.fail(
            f"the book is built from the chapters' isolated runs, and these failed: {failed}",
            pytrace=False,
        )
    output = tmp_path_factory.mktemp("book")
    cache = cache_executed_chapters(runs, output / "_build" / ".jupyter_cache")
    before = sorted((r.pk, r.uri) for r in cache.list_cache_records())
    jupyter_book = pathlib.Path(sys.executable).parent / "jupyter-book"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("MPLBACKEND", None)  # the kernels should use Jupyter's own inline backend
    result = subprocess.run(
        [
            str(jupyter_book),
            "build",
            str(ROOT),
            "--path-output",
            str(output),
            "--builder",
            "html",
            "-W",
            "-n",
            "--keep-going",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, (
        f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    )
    after = sorted((r.pk, r.uri) for r in cache.list_cache_records())
    return BuiltBook(output / "_build" / "html", before, after, result.stdout + result.stderr)


@dataclasses.dataclass
class ChineseBuild:
    html: pathlib.Path  # <build>/html/zh_CN, beside the English pages
    notebooks: pathlib.Path  # <build>/notebooks/zh_CN
    returncode: int
    log: str
    seconds: float


@pytest.fixture(scope="session")
def chinese_build(book_build):
    """The Chinese edition, built as ``make book`` builds it after the English book: from the
    same jupyter-cache, with warnings as errors (``python -m tools.translation build``)."""
    build = book_build.html.parent
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("MPLBACKEND", None)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "tools.translation", "build", str(build)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return ChineseBuild(
        build / "html" / "zh_CN",
        build / "notebooks" / "zh_CN",
        result.returncode,
        result.stdout + result.stderr,
        time.perf_counter() - start,
    )


@pytest.fixture(scope="session")
def chinese_book(chinese_build):
    """The Chinese edition's HTML folder, once its build passed."""
    if chinese_build.returncode != 0:
        pytest.fail(
            f"the Chinese edition's build failed:\n{chinese_build.log[-6000:]}", pytrace=False
        )
    return chinese_build.html


@pytest.fixture(scope="session")
def built_book(book_build):
    """The built book's HTML folder; tests/test_book.py and tests/test_browser.py share it."""
    return book_build.html


def pytest_collection_modifyitems(config, items):
    """Mark and order the tests that need the chapters' runs.

    Every test that needs the built book is marked ``book``, so ``make
    test-fast`` can leave it out. Tests that wait for the chapters run last
    (in their usual order), so the other tests run while the chapters execute.
    """
    for item in items:
        if "book_build" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.book)
    waiting = [item for item in items if "chapter_runs" in getattr(item, "fixturenames", ())]
    if waiting:
        ids = {id(item) for item in waiting}
        items[:] = [item for item in items if id(item) not in ids] + waiting


# ---------------------------------------------------------------------------------------------
# The suite's phases, for the Performance page

# A test belongs to the first of these phases whose marker it carries; tests with none are the
# package's unit tests and doctests. A phase's seconds are the wall time of its tests, set-up
# and teardown included, so the phases add up to the session (the chapters execute in the
# background while the unit tests run: "notebooks" is what remained to wait for after them).
PHASES = (
    ("hosted", "hosted"),
    ("backends", "JAX backend"),
    ("browser", "browser"),
    ("book", "book"),
    ("notebooks", "notebooks"),
)
UNIT_PHASE = "unit tests and doctests"
_PHASE_SECONDS = {}
_SESSION_START = time.perf_counter()


def phase_of(item):
    for marker, phase in PHASES:
        if item.get_closest_marker(marker) is not None:
            return phase
    return UNIT_PHASE


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.perf_counter()
    yield
    phase = phase_of(item)
    _PHASE_SECONDS[phase] = _PHASE_SECONDS.get(phase, 0.0) + time.perf_counter() - start


def phase_table(seconds_by_phase, session_seconds, setup_file=None):
    """The phases in the order a run meets them, with the last set-up's seconds when recorded."""
    phases = {}
    if setup_file is not None and setup_file.exists():
        phases["set-up (make's .venv, last run)"] = round(float(setup_file.read_text()), 1)
    phases["collection and start-up"] = round(session_seconds - sum(seconds_by_phase.values()), 1)
    for phase in (UNIT_PHASE, *(name for _, name in reversed(PHASES))):
        if phase in seconds_by_phase:
            phases[phase] = round(seconds_by_phase[phase], 1)
    phases["pytest in all"] = round(session_seconds, 1)
    return phases


def _write_phases():
    """Write the phases to ``MMTUTORIAL_TEST_PHASES`` (``make test`` sets it) for ``make bench``."""
    path = os.environ.get("MMTUTORIAL_TEST_PHASES")
    if not path or os.environ.get("PYTEST_XDIST_WORKER") or not _PHASE_SECONDS:
        return
    phases = phase_table(
        _PHASE_SECONDS, time.perf_counter() - _SESSION_START, ROOT / ".venv" / ".setup-seconds"
    )
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(phases, indent=2) + "\n")


def model_for(task, builder=None, **options):
    """``builder`` (``build_classifier`` by default) sized for ``task``: its image shape,
    vocabulary, caption length and classes, then ``options``."""
    builder = builder or mt.models.build_classifier
    return builder(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes, **options
    )


def weights_of(model):
    return [np.array(w) for w in model.get_weights()]


def shipped_log(name, experiments):
    """The log of the shipped experiment ``name`` of the module ``experiments``, once the checks
    every shipped experiment passes hold: a model under 2 MiB, and a log of the full run with the
    module's settings."""
    model_file = mt.experiments.result_path(name, ".keras")
    assert model_file.stat().st_size < 2 * 1024 * 1024
    log = json.loads(mt.experiments.result_path(name, ".json").read_text())
    assert log["name"] == name and not log["quick"]
    assert log["settings"] == experiments.EXPERIMENTS[name]
    return log
