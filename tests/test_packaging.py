"""Packaging: notebooks pin the package's version, the wheel builds, the environments agree."""

import json
import pathlib
import re
import subprocess
import sys
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import mmtutorial

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
INSTALL = re.compile(r"%pip install (?:--\S+ )*mmtutorial==(\S+)")


def _first_code_cell(path):
    cells = json.loads(path.read_text())["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_first_cell_installs_this_version_only_when_missing(path):
    source = _first_code_cell(path)
    pins = INSTALL.findall(source)
    assert pins, (
        f"{path.name}: the first code cell must install mmtutorial==<version> when it is missing"
    )
    assert pins == [mmtutorial.__version__], (
        f"{path.name} installs mmtutorial=={pins[0]}, but the package is version {mmtutorial.__version__}"
    )
    assert 'if importlib.util.find_spec("mmtutorial") is None:' in source, (
        f"{path.name}: install only when the package is missing"
    )


def _pyproject():
    import tomllib  # Python 3.11+; the lock pins the test environment to 3.11 or newer here

    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _locked_versions():
    """name -> version for the lock lines that apply to this interpreter."""
    from packaging.markers import Marker

    versions = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        requirement, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        name, _, version = requirement.strip().partition("==")
        versions[name.lower().replace("_", "-")] = Version(version)
    return versions


def test_the_lock_satisfies_every_declared_dependency():
    project = _pyproject()["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    locked = _locked_versions()
    for line in declared:
        requirement = Requirement(line)
        name = requirement.name.lower().replace("_", "-")
        assert name in locked, (
            f"{name} is declared in pyproject.toml but missing from requirements-lock.txt"
        )
        assert locked[name] in requirement.specifier, (
            f"requirements-lock.txt pins {name}=={locked[name]}, outside pyproject's {requirement}"
        )


def test_tensorflow_is_locked_to_one_exact_version():
    lines = [
        line
        for line in (ROOT / "requirements-lock.txt").read_text().splitlines()
        if line.startswith("tensorflow==")
    ]
    assert len(lines) == 1 and ";" not in lines[0], lines


def test_environment_yml_agrees_with_pyproject():
    text = (ROOT / "environment.yml").read_text()
    python = re.search(r"^\s*-\s*python\s*=+\s*([\d.]+)", text, re.M)
    assert python, "environment.yml must pin a Python version"
    requires = _pyproject()["project"]["requires-python"]
    from packaging.specifiers import SpecifierSet

    assert Version(python.group(1)) in SpecifierSet(requires), (python.group(1), requires)
    # The conda environment installs exactly the lock and the package itself; repo2docker (Binder)
    # sees these local references and copies the repository in before it installs them.
    assert re.search(r"^\s*-\s*-r requirements-lock\.txt\s*$", text, re.M)
    assert re.search(r"^\s*-\s*(-e )?\.\s*$", text, re.M)


def test_the_wheel_builds_with_the_right_version_and_contents(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = list(tmp_path.glob("*.whl"))
    assert [w.name for w in wheels] == [f"mmtutorial-{mmtutorial.__version__}-py3-none-any.whl"]
    names = zipfile.ZipFile(wheels[0]).namelist()
    # Every module of the source tree, sub-packages included, and the shipped sample data.
    sources = sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "mmtutorial").rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix in {".py", ".csv", ".png"}
    )
    assert "mmtutorial/fusion/base.py" in sources and "mmtutorial/data/__init__.py" in sources
    missing = [name for name in sources if name not in names]
    assert not missing, f"the wheel lacks {missing}"
    assert not [n for n in names if n.startswith(("tests/", "book/"))]
