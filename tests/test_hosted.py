"""A chapter opened on a hosted service (Colab) installs the book's release and runs.

What a hosted service opens is the chapter's *reader notebook* (the launch
buttons point at them, book/_ext/reader_notebooks.py writes them with the
book): the lesson's cells without the check cells, its prose without MyST.
So the notebooks run here are the reader notebooks of the session's one build
of the book (``book_build`` in tests/conftest.py, which executes every chapter
once first); the install cell they start with is the chapter's own.

The other notebook tests run with ``mmtutorial`` already installed, so the
install cell's branch never executes there. Here it does, offline, in a
simulation of a hosted service that is honest about what such a service has:

* **The machine**: a fresh virtual environment that has TensorFlow, Keras and
  the notebook stack (those of ``.venv``) but not ``mmtutorial``. Its one
  ``.pth`` file names a folder of links to ``.venv``'s site-packages that
  leaves out ``mmtutorial``'s editable install and metadata; a path in a
  ``.pth`` file is only added to ``sys.path`` (the ``.pth`` files inside it
  are not run), so nothing there can find the checkout, and pip, which sees
  those packages as installed outside its environment, never changes them.
* **The package index**: a local folder, with pip told to use it alone
  (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``, no configuration file). It holds the
  wheel built from the checkout, and the build backend (setuptools, the
  version the lock pins, downloaded by ``make`` with the rest of ``.venv``),
  which an install from source needs.
* **The repository**: a bare repository whose ``main`` is the checkout's
  ``HEAD`` (committed work only), tagged ``v<version>``. git rewrites the repository URL of ``_config.yml`` to it
  (``url.<bare>.insteadOf``) and may use no other protocol than ``file``, so
  the committed install cell runs unchanged and nothing goes on the network.

A chapter is copied alone into an empty folder and executed there under
nbval, in a kernel of that environment. The index case runs the cell that
``python -m tools.install_cell`` writes once the project publishes on the
index; the repository case runs the committed cell. Both must fail, with the
cell's own error, for a version that does not exist.

``make test`` runs one representative chapter both ways. ``make test-hosted``
(``MMTUTORIAL_HOSTED_ALL=1``) runs every chapter once, the chapters taking the
index and the repository in turn, so each way installs about half of them:
running every chapter twice checked nothing more (the install cell is the
only difference) and took twice as long. Its chapters run a worker per CPU
core, each worker with a hosted environment of its own
(``MMTUTORIAL_HOSTED_WORKERS=N`` to change it), since a worker installs and
uninstalls the package in its environment.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import time

import nbformat
import pytest
from nbval_record import NBVAL_ARGUMENTS

from tools import install_cell

pytestmark = pytest.mark.hosted

ROOT = pathlib.Path(__file__).resolve().parents[1]
VENV = pathlib.Path(sys.prefix)
BACKEND = VENV / "build-backend"
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
REPRESENTATIVE = ROOT / "book" / "mathematics.ipynb"
ALL = bool(os.environ.get("MMTUTORIAL_HOSTED_ALL"))
CHAPTERS = [REPRESENTATIVE]  # both ways, in make test
# make test-hosted: every chapter once, the index and the repository in turn.
SOURCE_OF = {path: install_cell.SOURCES[k % 2] for k, path in enumerate(NOTEBOOKS)}
VERSION = install_cell.package_version()
MISSING = "9.9.9"
# What a hosted kernel must not inherit from this test run or this machine.
UNSET_PREFIXES = ("PIP_", "PYTHON", "PYTEST_", "GIT_", "VIRTUAL_ENV", "MPLBACKEND", "JUPYTER_")


def is_mmtutorial(name):
    """Whether a site-packages entry belongs to the editable install of mmtutorial."""
    lowered = name.lower()
    return lowered.startswith(("mmtutorial", "__editable__.mmtutorial", "__editable___mmtutorial"))


@dataclasses.dataclass
class Hosted:
    """The simulated hosted service: its Python, its index, its repository and the steps' times."""

    root: pathlib.Path
    python: pathlib.Path
    site_packages: pathlib.Path
    index: pathlib.Path
    bare: pathlib.Path
    head: str  # the commit tagged v<version> in the bare repository
    seconds: dict

    def environment(self, workdir, *, repository=False):
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(UNSET_PREFIXES) and name not in ("PWD", "OLDPWD")
        }
        env.update(
            PWD=str(workdir),
            HOME=str(self.root / "home"),
            TF_CPP_MIN_LOG_LEVEL="2",
            PIP_CONFIG_FILE=os.devnull,
            PIP_NO_INDEX="1",
            PIP_FIND_LINKS=str(self.index),
            PIP_NO_CACHE_DIR="1",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            GIT_ALLOW_PROTOCOL="file",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
        )
        if repository:
            env.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0=f"url.{self.bare.as_uri()}.insteadOf",
                GIT_CONFIG_VALUE_0=install_cell.repository_url(),
            )
        return env

    def run_notebook(self, notebook, name, *, repository=False):
        """Execute ``notebook`` (an nbformat node) alone in a new empty folder, under nbval."""
        workdir = self.root / "runs" / name
        workdir.mkdir(parents=True)
        nbformat.write(notebook, workdir / "chapter.ipynb")
        start = time.perf_counter()
        result = subprocess.run(
            [str(self.python), "-m", "pytest", "chapter.ipynb", *NBVAL_ARGUMENTS],
            cwd=workdir,
            env=self.environment(workdir, repository=repository),
            capture_output=True,
            text=True,
            timeout=1200,
        )
        self.seconds[name] = round(time.perf_counter() - start, 1)
        return result

    def installed(self):
        """The ``direct_url.json`` of the mmtutorial pip installed in the environment, or None."""
        found = list(self.site_packages.glob("mmtutorial-*.dist-info"))
        if not found:
            return None
        assert [path.name for path in found] == [f"mmtutorial-{VERSION}.dist-info"], found
        direct = found[0] / "direct_url.json"
        return json.loads(direct.read_text()) if direct.exists() else {}

    def uninstall(self):
        for path in self.site_packages.iterdir():
            if is_mmtutorial(path.name):
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def new_environment(root):
    """A virtual environment under ``root`` with ``.venv``'s packages but not mmtutorial's
    install; returns its Python and its site-packages."""
    packages = pathlib.Path(sysconfig.get_paths()["purelib"])
    shared = root / "preinstalled"
    shared.mkdir()
    for entry in packages.iterdir():
        if not is_mmtutorial(entry.name) and entry.name != "__pycache__":
            (shared / entry.name).symlink_to(entry)
    environment = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", environment])
    python = environment / "bin" / "python"
    site_packages = pathlib.Path(
        run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    (site_packages / "00-preinstalled.pth").write_text(f"{shared}\n")
    return python, site_packages


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    if not sorted(BACKEND.glob("setuptools-*.whl")):
        pytest.fail(
            f"{BACKEND} holds no setuptools wheel (the hosted index's build backend); "
            "rerun `make .venv/.installed` after `touch requirements-lock.txt`",
            pytrace=False,
        )
    root = tmp_path_factory.mktemp("hosted")
    seconds = {}

    start = time.perf_counter()
    index = root / "index"
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", index, ROOT])
    for wheel in BACKEND.glob("*.whl"):
        shutil.copy(wheel, index)
    seconds["wheel and index"] = round(time.perf_counter() - start, 1)

    start = time.perf_counter()
    python, site_packages = new_environment(root)
    seconds["environment"] = round(time.perf_counter() - start, 1)

    start = time.perf_counter()
    bare = root / "repository.git"
    run(["git", "init", "--quiet", "--bare", "--initial-branch=main", bare])
    run(
        [
            "git",
            "-C",
            ROOT,
            "push",
            "--quiet",
            bare,
            "HEAD:refs/heads/main",
            f"HEAD:refs/tags/v{VERSION}",
        ]
    )
    head = run(["git", "-C", ROOT, "rev-parse", "HEAD"]).stdout.strip()
    seconds["tagged repository"] = round(time.perf_counter() - start, 1)

    (root / "home").mkdir()
    yield Hosted(root, python, site_packages, index, bare, head, seconds)
    print(f"\nhosted simulation, seconds per step: {seconds}")


def test_the_environment_has_the_notebook_stack_but_not_mmtutorial(hosted):
    probe = (
        "import importlib.util, sys\n"
        "names = ['tensorflow', 'keras', 'numpy', 'matplotlib', 'ipykernel', 'nbval', 'pip']\n"
        "missing = [n for n in names if importlib.util.find_spec(n) is None]\n"
        "assert not missing, f'the hosted environment lacks {missing}'\n"
        "assert importlib.util.find_spec('mmtutorial') is None, 'mmtutorial is importable'\n"
        "from importlib import metadata\n"
        "found = [d.metadata['Name'] for d in metadata.distributions()]\n"
        "assert 'mmtutorial' not in found, 'mmtutorial metadata is visible to pip'\n"
    )
    env = hosted.environment(hosted.root)
    run([hosted.python, "-c", probe], cwd=hosted.root, env=env)
    assert hosted.installed() is None


def with_install_cell(path, source, *, version=VERSION, only_install=False):
    """The chapter at ``path`` with the install cell ``tools.install_cell`` renders for ``source``."""
    notebook = nbformat.read(path, as_version=4)
    install_cell.install_cell(notebook).source = install_cell.render(source, version=version)
    if only_install:
        first = notebook.cells.index(install_cell.install_cell(notebook))
        notebook.cells = notebook.cells[: first + 1]
    return notebook


def report(result):
    """nbval's first failure (the cause) and its summary (the count), without the cascade between."""
    out = result.stdout
    text = out if len(out) < 9000 else f"{out[:6000]}\n[...]\n{out[-2000:]}"
    return f"{text}\n{result.stderr[-2000:]}"


def passed(result):
    return result.returncode == 0 and " passed" in result.stdout and " failed" not in result.stdout


@pytest.fixture(scope="module")
def reader_notebooks(book_build):
    """The folder of the reader notebooks the session's build of the book wrote."""
    return book_build.html.parent / "notebooks"


def reader_notebook(folder, chapter):
    path = folder / chapter.name
    assert path.is_file(), f"the book's build wrote no reader notebook for {chapter.name}"
    return path


@dataclasses.dataclass
class HostedRun:
    """One chapter run on a simulated hosted service, and what its install cell installed."""

    chapter: pathlib.Path
    source: str  # "index" or "repository"
    result: subprocess.CompletedProcess
    direct: dict | None  # the installed package's direct_url.json (None: nothing installed)


def run_hosted(hosted, folder, chapter, source, *, label=""):
    """Install from ``source`` and run the reader notebook of ``chapter`` in ``hosted``
    (in a folder named after ``label``, the source and the chapter)."""
    hosted.uninstall()
    path = reader_notebook(folder, chapter)
    if source == "index":
        notebook = with_install_cell(path, "index")
    else:
        notebook = nbformat.read(path, as_version=4)
        assert install_cell.install_cell(notebook).source == install_cell.render("repository")
    result = hosted.run_notebook(
        notebook, f"{label}{source}-{chapter.stem}", repository=source == "repository"
    )
    return HostedRun(chapter, source, result, hosted.installed())


def check_hosted(run, head):
    """The chapter passed, and its install cell installed the release from its source."""
    name, source = run.chapter.name, run.source
    assert passed(run.result), (
        f"{name} failed on the simulated hosted service ({source}):\n{report(run.result)}"
    )
    direct = run.direct
    assert direct is not None, "the chapter passed, but its install cell installed nothing"
    if source == "index":
        assert "vcs_info" not in direct, f"installed from {direct}, not from the index"
    else:
        assert direct.get("vcs_info", {}).get("requested_revision") == f"v{VERSION}", direct
        assert direct["url"] == install_cell.repository_url(), direct
        assert direct["vcs_info"]["commit_id"] == head, direct


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_a_chapter_installs_the_release_from_the_index_and_runs(hosted, reader_notebooks, chapter):
    check_hosted(run_hosted(hosted, reader_notebooks, chapter, "index"), hosted.head)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_a_chapter_installs_the_tagged_release_from_the_repository_and_runs(
    hosted, reader_notebooks, chapter
):
    check_hosted(run_hosted(hosted, reader_notebooks, chapter, "repository"), hosted.head)


def hosted_workers():
    """Environments run at once: ``MMTUTORIAL_HOSTED_WORKERS``, else one per CPU core."""
    value = os.environ.get("MMTUTORIAL_HOSTED_WORKERS", "")
    if value:
        return max(1, int(value))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


@pytest.fixture(scope="module")
def every_chapter_hosted(hosted, reader_notebooks):
    """``make test-hosted``: every chapter once, a worker per environment, longest first."""
    workers = hosted_workers()
    environments = [hosted]
    for k in range(1, workers):
        root = hosted.root / f"worker-{k}"
        root.mkdir()
        (root / "home").mkdir()
        python, site_packages = new_environment(root)
        environments.append(
            dataclasses.replace(hosted, root=root, python=python, site_packages=site_packages)
        )
    free = list(environments)
    order = sorted(NOTEBOOKS, key=lambda path: -path.stat().st_size)

    def job(chapter):
        environment = free.pop()  # one job per environment at a time: the pool has as many
        try:
            return run_hosted(
                environment, reader_notebooks, chapter, SOURCE_OF[chapter], label="every-"
            )
        finally:
            free.append(environment)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        runs = dict(zip(order, pool.map(job, order)))
    hosted.seconds[f"every chapter, {workers} at once"] = round(time.perf_counter() - start, 1)
    return runs


if ALL:  # make test-hosted; make test runs only the representative chapter above

    @pytest.mark.parametrize(
        "chapter", NOTEBOOKS, ids=[f"{path.stem}-{SOURCE_OF[path]}" for path in NOTEBOOKS]
    )
    def test_every_chapter_installs_the_release_and_runs(every_chapter_hosted, hosted, chapter):
        check_hosted(every_chapter_hosted[chapter], hosted.head)


@pytest.mark.parametrize("source", install_cell.SOURCES)
def test_the_install_cell_fails_loudly_for_a_release_that_does_not_exist(hosted, source):
    hosted.uninstall()
    notebook = with_install_cell(REPRESENTATIVE, source, version=MISSING, only_install=True)
    result = hosted.run_notebook(notebook, f"missing-{source}", repository=source == "repository")
    assert not passed(result), f"an install cell naming {MISSING} passed:\n{result.stdout[-3000:]}"
    assert "ModuleNotFoundError" in result.stdout and "pip could not install" in result.stdout, (
        result.stdout[-3000:]
    )
    assert hosted.installed() is None
