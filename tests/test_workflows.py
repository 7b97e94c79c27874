"""The GitHub workflows, which cannot run here: their schema, and what each must do.

`make lint` validates them against GitHub's workflow schema with
check-jsonschema (it ships the schema, so this works offline); the test
below runs the same check and shows it rejects a broken workflow. The other
tests pin down what the README and the issue tracker promise of each one: the
tests run `make test` on every supported Python, the book goes to Pages, and a
tag publishes the release through trusted publishing after the tests pass.
Python's version floor is stated in several files; one test reads them all.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tomllib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CHECK = pathlib.Path(sys.executable).parent / "check-jsonschema"


def workflow(name):
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job):
    return job.get("steps", [])


def uses(job):
    return [step["uses"].split("@")[0] for step in steps(job) if "uses" in step]


def runs(job):
    return "\n".join(step.get("run", "") for step in steps(job))


def floor():
    """The lowest Python pyproject.toml's requires-python admits, as (major, minor)."""
    text = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    found = re.fullmatch(r">=\s*(\d+)\.(\d+)", text)
    assert found, f"requires-python should read '>=X.Y'; it reads {text!r}"
    return int(found.group(1)), int(found.group(2))


def check_schema(*paths):
    return subprocess.run(
        [str(CHECK), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_three_workflows_exist():
    assert sorted(path.name for path in WORKFLOWS.glob("*.yml")) == [
        "book.yml",
        "release.yml",
        "tests.yml",
    ]


def test_every_workflow_matches_githubs_schema_and_a_broken_one_does_not(tmp_path):
    result = check_schema(*sorted(WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text((WORKFLOWS / "tests.yml").read_text().replace("runs-on:", "runs_on:", 1))
    assert check_schema(broken).returncode != 0, "the schema check accepted a job without runs-on"


def test_tests_run_make_test_on_every_supported_python_on_push_and_pull_request():
    tests = workflow("tests.yml")
    assert {"push", "pull_request", "workflow_call"} <= set(tests["on"])
    job = tests["jobs"]["test"]
    assert job["runs-on"].startswith("ubuntu")
    versions = [tuple(map(int, v.split("."))) for v in job["strategy"]["matrix"]["python-version"]]
    assert min(versions) == floor(), (
        f"the matrix starts at {min(versions)}, pyproject.toml's floor is {floor()}"
    )
    assert (3, 12) in versions
    assert "make test" in runs(job)
    assert job["timeout-minutes"] <= 90


def test_the_classifiers_name_the_pythons_the_workflow_tests():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    named = sorted(
        c.rsplit("::", 1)[1].strip()
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    matrix = workflow("tests.yml")["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    assert named == sorted(matrix)


def test_the_book_is_built_and_deployed_to_pages_from_main():
    book = workflow("book.yml")
    assert book["on"]["push"]["branches"] == ["main"]
    build, deploy = book["jobs"]["build"], book["jobs"]["deploy"]
    assert "make book" in runs(build)
    assert "test -f _build/html/.nojekyll" in runs(build)
    upload = next(s for s in steps(build) if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "_build/html"
    assert uses(deploy) == ["actions/deploy-pages"]
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


def test_the_book_publishes_the_reader_notebooks_where_the_launch_buttons_point():
    """The build's reader notebooks go to the branch _config.yml's launch buttons open."""
    book = workflow("book.yml")
    build, publish = book["jobs"]["build"], book["jobs"]["notebooks"]
    upload = next(
        s for s in steps(build) if s.get("uses", "").startswith("actions/upload-artifact")
    )
    assert upload["with"]["path"].split() == [
        "_build/notebooks/*.ipynb",
        "_build/notebooks/zh_CN/*.ipynb",
    ]
    # Every chapter's reader notebook was written, in both editions.
    assert "_build/notebooks/" in runs(build) and "_build/notebooks/zh_CN/" in runs(build)
    branch = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["branch"]
    assert branch != "main", "the launch buttons would open the sources, not the reader notebooks"
    assert publish["env"]["BRANCH"] == branch
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"contents": "write"}
    assert uses(publish) == ["actions/checkout", "actions/download-artifact"]
    download = next(s for s in steps(publish) if s.get("uses", "").startswith("actions/download"))
    assert download["with"]["name"] == upload["with"]["name"]
    script = runs(publish)
    assert "book/" in script and 'git push --force origin "$BRANCH"' in script
    # The Chinese pages' launch buttons open zh_CN/book/<chapter>.ipynb on the branch.
    assert "zh_CN/book/" in script and "git add book/*.ipynb zh_CN/book/*.ipynb" in script


def test_a_tag_publishes_with_trusted_publishing_after_the_tests():
    release = workflow("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    jobs = release["jobs"]
    assert jobs["tests"]["uses"] == "./.github/workflows/tests.yml"
    assert jobs["build"]["needs"] == "tests"
    script = runs(jobs["build"])
    assert "python -m build" in script and "twine check --strict dist/*" in script
    assert '"dist/mmtutorial-${version}-py3-none-any.whl"' in script, "tag and version compared"
    publish = jobs["publish"]
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}
    assert "pypa/gh-action-pypi-publish" in uses(publish)
    step = next(s for s in steps(publish) if "pypi-publish" in s.get("uses", ""))
    assert not {"password", "user"} & set(step.get("with", {})), "no token: trusted publishing"


@pytest.mark.parametrize(
    "path, pattern",
    [
        ("README.md", r"Python (\d+)\.(\d+) or newer"),
        ("Makefile", r"sys\.version_info >= \((\d+), (\d+)\)"),
        ("Makefile", r"--python-version (\d+)\.(\d+)"),
        ("requirements-lock.txt", r"--python-version (\d+)\.(\d+)"),
        ("pyproject.toml", r'target-version = "py(\d)(\d+)"'),
    ],
)
def test_every_file_states_the_same_python_floor(path, pattern):
    found = re.findall(pattern, (ROOT / path).read_text())
    assert found, f"{path} no longer states the Python floor ({pattern!r} not found)"
    stated = {(int(major), int(minor)) for major, minor in found}
    assert stated == {floor()}, f"{path} states Python {stated}; pyproject.toml says {floor()}"
