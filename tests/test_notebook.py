"""Notebook helpers: the exact Markdown of a table, the text of an error, the code of a function."""

import sys
import types
import warnings

import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial import notebook
from mmtutorial.metrics import AccuracyWithError

# -- table ----------------------------------------------------------------------------


def test_a_list_of_dicts_becomes_a_table_with_one_row_per_dict():
    rows = [
        {"model": "image + text", "accuracy": 0.85321, "epochs": 5},
        {"model": "image only", "accuracy": np.float32(0.3049), "epochs": np.int64(5)},
    ]
    assert notebook.table(rows).data == (
        "| model | accuracy | epochs |\n"
        "|---|---|---|\n"
        "| image + text | 0.853 | 5 |\n"
        "| image only | 0.305 | 5 |"
    )


def test_a_column_mapping_becomes_the_same_table_as_its_rows():
    columns = {"model": ["a", "b"], "accuracy": np.array([0.5, 0.25])}
    rows = [{"model": "a", "accuracy": 0.5}, {"model": "b", "accuracy": 0.25}]
    expected = "| model | accuracy |\n|---|---|\n| a | 0.500 |\n| b | 0.250 |"
    assert notebook.table(columns).data == expected
    assert notebook.table(rows).data == expected
    assert notebook.table([("a", 0.5), ("b", 0.25)], columns=["model", "accuracy"]).data == expected


def test_formats_and_digits_set_how_numbers_show():
    rows = {
        "model": ["a"],
        "accuracy": [0.8532],
        "gap": [-0.0121],
        "weights": [11_075_712],
        "note": ["x"],
    }
    shown = notebook.table(
        rows, formats={"accuracy": ".1%", "gap": "+.3f", "weights": ",", "note": ".2f"}
    )
    assert shown.data.splitlines()[2] == "| a | 85.3% | -0.012 | 11,075,712 | x |"
    assert (
        notebook.table(rows, digits=1).data.splitlines()[2] == "| a | 0.9 | -0.0 | 11075712 | x |"
    )
    upper = notebook.table(rows, formats={"model": str.upper})
    assert upper.data.splitlines()[2].startswith("| A |")


def test_accuracies_with_errors_show_both_numbers():
    rows = [{"model": "fused", "accuracy": AccuracyWithError(0.8532, 0.0112, 1000)}]
    assert notebook.table(rows).data.splitlines()[2] == "| fused | 0.853 ± 0.011 |"
    assert (
        notebook.table(rows, formats={"accuracy": ".1%"}).data.splitlines()[2]
        == "| fused | 85.3% ± 1.1% |"
    )


def test_missing_values_leave_cells_empty_and_pipes_are_escaped():
    rows = [{"a": 1, "b": "x|y"}, {"a": None, "c": True}]
    assert (
        notebook.table(rows).data
        == "| a | b | c |\n|---|---|---|\n| 1 | x\\|y |  |\n|  |  | True |"
    )
    assert notebook.table(rows, columns=["c", "a"]).data.splitlines()[0] == "| c | a |"
    assert notebook.table([], columns=["a", "b"]).data == "| a | b |\n|---|---|"


@pytest.mark.parametrize(
    "rows, kwargs, message",
    [
        (
            {"a": [1, 2], "b": [1]},
            {},
            r"same number of values; received lengths \{'a': 2, 'b': 1\}",
        ),
        ({"a": 1}, {}, r"columns \['a'\] hold single values"),
        ([(1, 2)], {}, r"rows given as sequences need columns="),
        (
            [(1, 2), (3,)],
            {"columns": ["a", "b"]},
            r"one value per column \(2\); received rows of length \[1\]",
        ),
        ([{"a": 1}, (1,)], {}, r"all be dicts or all be sequences"),
        ("abc", {}, r"received str"),
        ([{"a": 1}], {"columns": ["b"]}, r"columns \['b'\] are not in the data; it has \['a'\]"),
        ([{"a": 1}], {"formats": {"b": ".3f"}}, r"formats names columns \['b'\]"),
        (
            [{"a": 1}],
            {"formats": {"a": 3}},
            r"the format of column 'a' must be a format spec or a function",
        ),
        ([{"a": 1}], {"digits": -1}, r"table: digits must be an integer >= 0; received -1"),
        ([], {}, r"at least one column"),
    ],
)
def test_table_names_bad_input(rows, kwargs, message):
    with pytest.raises(ValueError, match=message):
        notebook.table(rows, **kwargs)


# -- show_error -----------------------------------------------------------------------


def test_show_error_prints_the_type_and_the_message(capsys):
    notebook.show_error(ValueError("units must be >= 1; received 0"))
    assert capsys.readouterr().out == "ValueError: units must be >= 1; received 0\n"


def test_show_error_wraps_each_line_with_a_hanging_indent(capsys):
    message = "first line " + "word " * 30 + "\n  indented second line"
    notebook.show_error(RuntimeError(message), width=40)
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 40 for line in lines)
    assert lines[0].startswith("RuntimeError: first line")
    assert lines[1].startswith("    word")  # the continuation of the first line
    assert lines[-1] == "  indented second line"


def test_show_error_keeps_a_long_path_whole(capsys):
    path = "/tmp/" + "x" * 60 + "/captions.csv"
    notebook.show_error(FileNotFoundError(f"no CSV file {path}"), width=40)
    assert capsys.readouterr().out.splitlines() == ["FileNotFoundError: no CSV file", f"    {path}"]


def test_show_error_calls_a_function_and_checks_that_it_fails(capsys):
    notebook.show_error(lambda: mt.fusion.get("bilinear"), expected=ValueError)
    shown = capsys.readouterr().out
    assert shown.startswith("ValueError: ") and "'bilinear'" in shown
    with pytest.raises(AssertionError, match="was expected to raise ValueError, but it returned"):
        notebook.show_error(lambda: 1, expected=ValueError)
    with pytest.raises(KeyError):  # another error than the expected one is not hidden
        notebook.show_error(lambda: {}["x"], expected=ValueError)


def test_show_error_shows_warnings_strings_and_first_sentences(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("3 rows skipped", UserWarning, stacklevel=1)
    notebook.show_error(caught[0])
    notebook.show_error(caught[0].message)
    notebook.show_error("just text. More text.", sentences=1)
    notebook.show_error(ValueError("One. Two. Three."), sentences=2)
    assert capsys.readouterr().out.splitlines() == [
        "UserWarning: 3 rows skipped",
        "UserWarning: 3 rows skipped",
        "just text.",
        "ValueError: One. Two.",
    ]


def test_show_error_names_what_it_cannot_show():
    with pytest.raises(ValueError, match="received int"):
        notebook.show_error(3)
    with pytest.raises(
        ValueError, match="show_error: sentences must be an integer >= 1; received 0"
    ):
        notebook.show_error(ValueError("x"), sentences=0)


# -- source ---------------------------------------------------------------------------


def test_source_shows_the_package_code():
    shown = notebook.source(mt.encoders.text_encoder)
    assert shown.data.startswith("```python\ndef text_encoder(")
    assert shown.data.endswith("\n```")
    with pytest.raises(ValueError, match="no source code is available"):
        notebook.source(3)


# -- glue -----------------------------------------------------------------------------


def test_glue_hands_plain_numbers_to_myst_nb(monkeypatch):
    glued = []
    fake = types.ModuleType("myst_nb")
    fake.glue = lambda name, value, display: glued.append((name, value, display))
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setattr(InteractiveShell, "initialized", classmethod(lambda cls: True))
    notebook.glue("bayes", np.float64(0.8533))
    notebook.glue("estimate", AccuracyWithError(0.8532, 0.0112, 1000))
    assert glued == [("bayes", 0.8533, False), ("estimate", "0.853 ± 0.011", False)]
    assert type(glued[0][1]) is float  # MyST-NB cannot read back "np.float64(0.8533)"


def test_glue_does_nothing_outside_a_kernel_or_without_myst_nb(monkeypatch, capsys):
    notebook.glue("bayes", 0.85)  # pytest is no Jupyter kernel
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # as on Colab: import fails
    notebook.glue("bayes", 0.85)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="glue: name must be a non-empty string"):
        notebook.glue("a:b", 1.0)
