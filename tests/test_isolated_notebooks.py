"""Every chapter runs the way a hosted service (Colab, Binder) runs it: alone, under nbval.

A reader who clicks a launch button gets the notebook file and nothing else
beside it: no repository around it, no `book/` working directory, no
PYTHONPATH. Each notebook is copied alone into an empty temporary folder
outside the repository and executed there by nbval (`--nbval-lax`: every cell
must run without error; outputs are not compared, because notebooks are
committed without outputs and the book checks its claims with `assert` cells),
in a fresh kernel from the current environment (where `mmtutorial` is
installed, as `pip install` would), with that folder as the working directory
and an environment stripped of anything that points Python at the repository.
This one execution per notebook is both the nbval run of the suite and the
hosted-service check; the book build executes each notebook once more.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.notebooks

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
# Variables that would let the kernel find files through the repository or the test run.
UNSET = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "MPLBACKEND",
    "PWD",
    "OLDPWD",
    "PYTEST_CURRENT_TEST",
)


def sanitized_environment(workdir):
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env["PWD"] = str(workdir)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs_alone_in_an_empty_folder_under_nbval(source, tmp_path):
    workdir = tmp_path / "alone"
    workdir.mkdir()
    assert not workdir.resolve().is_relative_to(ROOT), (
        "the temporary folder must lie outside the repository"
    )
    shutil.copyfile(source, workdir / source.name)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            source.name,
            "--nbval-lax",
            "--nbval-current-env",
            "--nbval-cell-timeout=600",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(workdir),
        ],
        cwd=workdir,
        env=sanitized_environment(workdir),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{source.name} failed under nbval when run alone in an empty folder "
            f"(as Colab or Binder run it):\n{result.stdout[-8000:]}\n{result.stderr[-2000:]}",
            pytrace=False,
        )
    assert " passed" in result.stdout and " failed" not in result.stdout, result.stdout[-2000:]
    assert sorted(p.name for p in workdir.iterdir() if not p.name.startswith(".")) == [
        source.name
    ], (
        f"{source.name} left files in its working folder: {sorted(p.name for p in workdir.iterdir())}"
    )
