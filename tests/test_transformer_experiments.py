"""python -m mmtutorial.experiments.transformers: the --quick run writes a complete log, bad
names are refused, and the shipped five-seed log was written by the settings the chapter uses
and supports, seed by seed, the claims the chapter makes from it."""

import json

import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.data import ShapeMaterialTask
from mmtutorial.experiments import transformers as study

NAME = "transformers_seeds"


def test_a_quick_run_writes_every_seed_and_model(tmp_path):
    record = study.main(["--quick", "--output", str(tmp_path)])[NAME]
    assert record == json.loads((tmp_path / f"{NAME}.json").read_text())
    assert record["quick"] and record["seeds"] == study.QUICK["seeds"]
    for seed in map(str, study.QUICK["seeds"]):
        assert set(record["book_task"][seed]) == set(study.BOOK_MODELS)
        assert set(record["scene_task"][seed]) == set(study.SCENE_MODELS)
        for row in [*record["book_task"][seed].values(), *record["scene_task"][seed].values()]:
            assert 0.0 <= row["accuracy"] <= 1.0 and row["weights"] > 0
        assert 0.0 < record["scene_ceilings"][seed] <= 1.0
    values = [record["book_task"][s]["fused pair"]["accuracy"] for s in ("0", "1")]
    assert record["book_summary"]["fused pair"]["mean"] == pytest.approx(np.mean(values))
    assert record["book_summary"]["fused pair"]["stderr"] == pytest.approx(
        np.std(values, ddof=1) / np.sqrt(2)
    )


def test_bad_names_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"name must be one of .*received 'nope'"):
        study.run("nope", tmp_path)
    with pytest.raises(SystemExit):
        study.main(["--quick"])  # would overwrite the shipped log


@pytest.fixture(scope="module")
def shipped():
    return json.loads(mt.experiments.result_path(NAME, ".json").read_text())


def test_the_shipped_log_used_the_chapters_settings_on_five_seeds(shipped):
    assert not shipped["quick"] and shipped["seeds"] == [0, 1, 2, 3, 4]
    assert shipped["book_settings"] == study.BOOK_SETTINGS
    assert shipped["scene_settings"] == study.SCENE_SETTINGS
    assert "cores" in shipped["machine"] and shipped["seconds"] > 0


def test_the_shipped_seeds_support_the_chapters_claims(shipped):
    # The chapter asserts the same of its live run; here, of every shipped seed.
    text_ceiling = ShapeMaterialTask().text_only_accuracy
    for seed in map(str, shipped["seeds"]):
        book = {name: row["accuracy"] for name, row in shipped["book_task"][seed].items()}
        assert book["fused pair"] > 0.6, (seed, book)
        assert abs(book["ViLT, patches"] - text_ceiling) < 0.08, (seed, book)
        assert book["fused pair"] > book["ViLT, patches"] + 0.4, (seed, book)
        scene = {name: row["accuracy"] for name, row in shipped["scene_task"][seed].items()}
        ceiling = shipped["scene_ceilings"][seed]
        two, one = scene["single stream, 2 blocks"], scene["single stream, 1 block"]
        assert two > scene["concatenation"] + 0.2, (seed, scene)
        assert two > one + 0.2 and two > ceiling - 0.12, (seed, scene)
        assert scene["cross-attention"] > two, (seed, scene)
        # One block does no better than concatenation (0.045 below to 0.018 above).
        assert abs(one - scene["concatenation"]) < 0.06, (seed, scene)
