"""The scan + report task (mmtutorial.data.medical): synthetic and illustrative only.

Shapes, the exact ceilings against a loop over every patient type and Monte
Carlo, the weighted rules that trade accuracy for recall, what the scans and
reports show, and the tokenizer against Keras's.
"""

import itertools

import numpy as np
import pytest

from mmtutorial.data import medical

from .helpers import N_MC, close, enumerate_ceiling


@pytest.fixture(scope="module")
def med():
    return medical.ScanReportTask()


def test_the_scan_shape_and_the_prevalence(med):
    assert med.scan_shape == (32, 32, 1)
    assert med.majority_accuracy == 0.4 and med.prevalence == (0.40, 0.25, 0.20, 0.15)


# -- ceilings: a loop over every patient type, Monte Carlo -------------------------------------------


def test_medical_ceilings_match_a_loop_over_every_patient_type(med):
    p, q, prior = med.scan_reliability, med.report_reliability, med.prevalence
    typical_finding, typical_history = (0, 1, 1, 2), (0, 0, 1, 2)
    joint = np.zeros((4, 3, 3))
    for d, f, h in itertools.product(range(4), range(3), range(3)):
        pf = p * (f == typical_finding[d]) + (1 - p) / 3
        ph = q * (h == typical_history[d]) + (1 - q) / 3
        joint[d, f, h] = prior[d] * pf * ph
    np.testing.assert_allclose(med.joint(), joint)
    assert med.bayes_accuracy == pytest.approx(enumerate_ceiling(joint, (1, 2)))
    assert med.scan_only_accuracy == pytest.approx(enumerate_ceiling(joint, (1,)))
    assert med.report_only_accuracy == pytest.approx(enumerate_ceiling(joint, (2,)))


def test_medical_bayes_rules_match_monte_carlo(med):
    split = med.generate(N_MC, seed=5)
    for modalities, weights in (
        (("scan", "report"), None),
        (("scan",), None),
        (("report",), None),
        (("scan", "report"), (1, 1, 1, 3)),
    ):
        rule = med.decision(modalities, weights)
        f = split.finding if "scan" in modalities else np.zeros_like(split.finding)
        h = split.history if "report" in modalities else np.zeros_like(split.history)
        predicted = rule[f, h]
        assert close(np.mean(predicted == split.labels), med.accuracy(modalities, weights))
        recall = med.recall(modalities, weights)
        for d in range(4):
            rows = split.labels == d
            assert close(np.mean(predicted[rows] == d), recall[d], int(rows.sum()))


def test_medical_weights_trade_accuracy_for_tumour_recall(med):
    assert med.recall(weights=(1, 1, 1, 3))[3] > med.recall()[3] + 0.15
    assert med.accuracy(weights=(1, 1, 1, 3)) < med.accuracy()
    # Any scan-only rule: cysts and abscesses look alike, so their recalls add up to at most 1.
    recall = med.recall(("scan",))
    assert recall[1] + recall[2] <= 1.0 + 1e-12


# -- what the scans and reports show -----------------------------------------------------------------


def test_medical_reports_state_the_history_and_scans_show_the_finding(med):
    split = med.generate(600, seed=11)
    for report, history in zip(split.reports, split.history):
        phrase = report.split(", ")[-1]
        assert phrase in medical._PHRASES[history]
    contrast = split.scans.max(axis=(1, 2, 3)) - np.median(split.scans, axis=(1, 2, 3))
    assert contrast[split.finding > 0].mean() > contrast[split.finding == 0].mean() + 0.2
    # irregular lesions have a longer edge for their area than round ones
    bright = split.scans[..., 0] > np.median(split.scans, axis=(1, 2, 3))[:, None, None] + 0.25
    edges = (bright != np.roll(bright, 1, axis=1)).sum(axis=(1, 2)) + (
        bright != np.roll(bright, 1, axis=2)
    ).sum(axis=(1, 2))
    ratio = edges / np.sqrt(np.maximum(bright.sum(axis=(1, 2)), 1))
    assert np.median(ratio[split.finding == 2]) > np.median(ratio[split.finding == 1]) + 0.3


def test_medical_rejects_bad_modalities_and_weights(med):
    with pytest.raises(
        ValueError, match=r"modalities must be a non-empty selection of \['scan', 'report'\]"
    ):
        med.accuracy(("image",))
    with pytest.raises(ValueError, match="weights must be 4 positive numbers"):
        med.recall(weights=(1, 1, 0, 1))
