"""Packaging: notebooks pin the package's version, the wheel builds, the environments agree."""

import pathlib
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import mmtutorial
from tools import install_cell

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_first_cell_is_the_install_cell_rendered_by_the_tool(path):
    expected = install_cell.render()
    cell = install_cell.install_cell(nbformat.read(path, as_version=4))
    assert cell is not None and cell.source == expected, (
        f"{path.name}: the first code cell is not the install cell; run `python -m tools.install_cell`"
    )


def test_the_install_cell_installs_this_release_from_the_configured_repository():
    url = install_cell.repository_url()
    cell = install_cell.render("repository")
    assert f'REPOSITORY = "{url}"' in cell
    assert f"git+{{REPOSITORY}}@v{mmtutorial.__version__}" in cell
    assert f'"mmtutorial=={mmtutorial.__version__}"' in install_cell.render("index")
    assert install_cell.package_version() == mmtutorial.__version__
    for source in install_cell.SOURCES:
        cell = install_cell.render(source)
        assert 'if importlib.util.find_spec("mmtutorial") is None:' in cell
        assert "raise ModuleNotFoundError" in cell, "a failed install must stop the chapter"


def test_the_install_cell_source_is_checked():
    with pytest.raises(ValueError, match=r"source must be one of .*received 'pypi'"):
        install_cell.render("pypi")


def test_the_repository_url_lives_in_config_only():
    url = install_cell.repository_url()
    hits = [
        path.relative_to(ROOT).as_posix()
        for path in [*ROOT.glob("*.md"), *ROOT.glob("*.toml"), *ROOT.glob("tools/*.py")]
        if url in path.read_text()
    ]
    assert not hits, f"{url} is spelled out in {hits}; read it from _config.yml instead"


def _pyproject():
    import tomllib

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
