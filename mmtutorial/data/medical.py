"""Medical-style fusion: a synthetic scan plus a short report.

**Synthetic and illustrative only; not medical knowledge or advice.** The four
"diagnoses" and the rules that link them to images and words are invented
caricatures, chosen so that the task needs both modalities and has exact
ceilings.

Each patient has one of four conditions with unequal prevalence. The **scan**
(a 32 x 32 grey image of textured tissue) shows a *finding*: no lesion, a round
lesion or an irregular lesion. The **report** (a short sentence) states a
*history*: a routine visit, fever, or weight loss. In this toy world

=========  ================  ===============
condition  typical finding   typical history
=========  ================  ===============
healthy    no lesion         routine
cyst       round lesion      routine
abscess    round lesion      fever
tumour     irregular lesion  weight loss
=========  ================  ===============

so the scan cannot tell a cyst from an abscess and the report cannot tell a
cyst from a healthy patient. Each channel is faithful with its reliability and
otherwise shows a uniformly random finding or history (an artefact, a lesion
too small to see, an unrelated illness). Because the finding and the history
are discrete, the Bayes-optimal decision and its accuracy and per-class recall
follow from the joint table ``P(condition, finding, history)``
(:meth:`ScanReportTask.joint`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import _checks
from . import words
from .base import Split, Task

__all__ = ["CONDITIONS", "FINDINGS", "HISTORIES", "ScanReportSplit", "ScanReportTask"]

CONDITIONS = ("healthy", "cyst", "abscess", "tumour")
FINDINGS = ("no lesion", "round lesion", "irregular lesion")
HISTORIES = ("routine", "fever", "weight loss")
_TYPICAL_FINDING = np.array([0, 1, 1, 2])
_TYPICAL_HISTORY = np.array([0, 0, 1, 2])

_INTROS = ("", "{sex} in {their} {decade}")
_SEXES = (("man", "his"), ("woman", "her"))
_DECADES = ("thirties", "forties", "fifties", "sixties", "seventies")
_PHRASES = (
    (
        "routine check",
        "no complaints",
        "no fever and no weight loss",
        "referred for a routine scan",
    ),
    (
        "fever",
        "fever for a week",
        "fever and night sweats",
        "reports fever and local pain",
    ),
    (
        "weight loss",
        "unexplained weight loss",
        "weight loss and tiredness for months",
        "reports weight loss and poor appetite",
    ),
)
_MODALITIES = ("scan", "report")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ScanReportSplit(Split):
    """One split of :class:`ScanReportTask`: scans, reports, labels and the hidden causes.

    ``features`` is ``{"scan": scans, "text": tokens}``; ``labels`` is the
    condition index.

    Attributes:
        reports: the reports, as strings.
        finding: what the scan shows (index into :data:`FINDINGS`).
        history: what the report states (index into :data:`HISTORIES`).
    """

    reports: tuple
    finding: np.ndarray
    history: np.ndarray

    @property
    def scans(self) -> np.ndarray:
        """float32 ``(n, 32, 32, 1)`` in [0, 1]."""
        return self.features["scan"]


@dataclasses.dataclass(frozen=True)
class ScanReportTask(words.FixedVocabulary, Task):
    """Name the (invented) condition from a synthetic scan and a short report.

    The joint distribution of condition ``d``, finding ``f`` and history ``h``
    is ``P(d, f, h) = pi_d * P(f | d) * P(h | d)`` with ``P(f | d) = p * [f =
    typical_finding(d)] + (1 - p) / 3`` and likewise for the history with
    ``q``. A decision rule ``g`` that sees ``(f, h)`` is right with probability
    ``sum_{f,h} P(g(f, h), f, h)``; the Bayes rule picks ``argmax_d P(d, f,
    h)``, so its accuracy is ``sum_{f,h} max_d P(d, f, h)``. The same sums over
    ``f`` or ``h`` alone give the one-modality ceilings.

    Args:
        prevalence: the four conditions' probabilities (summing to 1).
        scan_reliability: ``p`` in [0, 1].
        report_reliability: ``q`` in [0, 1].
        sequence_length: length the token ids are padded to (>= 10).

    Example:
        >>> task = ScanReportTask()
        >>> round(task.bayes_accuracy, 3), round(task.scan_only_accuracy, 3)
        (0.884, 0.72)
    """

    prevalence: tuple = (0.40, 0.25, 0.20, 0.15)
    scan_reliability: float = 0.85
    report_reliability: float = 0.85
    sequence_length: int = 10

    image_size = 32

    split_sizes = (3000, 500, 2000)

    def __post_init__(self):
        owner = type(self).__name__
        try:
            values = tuple(self.prevalence)
        except TypeError:
            values = ()
        if (
            isinstance(self.prevalence, str)
            or len(values) != len(CONDITIONS)
            or not all(_checks.is_number(v) and v >= 0 for v in values)
            or not np.isclose(sum(values), 1.0)
        ):
            raise ValueError(
                f"{owner}: prevalence must be {len(CONDITIONS)} non-negative numbers summing to 1; "
                f"received {self.prevalence!r}"
            )
        longest = max(
            len(self._report(i, phrase, 0, 0).split())
            for i in range(len(_INTROS))
            for group in _PHRASES
            for phrase in group
        )
        self._store(
            prevalence=tuple(float(v) for v in values),
            **self._probabilities("scan_reliability", "report_reliability"),
            sequence_length=self._sequence_length(longest, "report"),
        )

    # -- what the task is ---------------------------------------------------
    @property
    def class_names(self) -> tuple:
        return CONDITIONS

    @property
    def scan_shape(self) -> tuple:
        return (self.image_size, self.image_size, 1)

    def input_specs(self) -> dict:
        """``{"scan": ((32, 32, 1), "float32"), "text": ((sequence_length,), "int32")}``."""
        return {"scan": (self.scan_shape, "float32"), "text": ((self.sequence_length,), "int32")}

    @property
    def vocabulary(self) -> tuple:
        words = [w for group in _PHRASES for phrase in group for w in phrase.split()]
        words += [w for intro in _INTROS for w in intro.split() if not w.startswith("{")]
        words += [w for pair in _SEXES for w in pair] + list(_DECADES)
        return tuple(dict.fromkeys(words))

    def tokenize(self, reports) -> np.ndarray:
        """Token ids (int32, ``(n, sequence_length)``) for a list of strings."""
        return words.tokenize(reports, self.vocabulary, self.sequence_length, name="reports")

    # -- exact ceilings from the joint table ------------------------------------
    def joint(self) -> np.ndarray:
        """``P(condition, finding, history)`` as a ``(4, 3, 3)`` array summing to 1."""
        p, q = self.scan_reliability, self.report_reliability
        finding = p * np.eye(len(FINDINGS))[_TYPICAL_FINDING] + (1 - p) / len(FINDINGS)
        history = q * np.eye(len(HISTORIES))[_TYPICAL_HISTORY] + (1 - q) / len(HISTORIES)
        return (
            np.asarray(self.prevalence)[:, None, None] * finding[:, :, None] * history[:, None, :]
        )

    def _table(self, modalities) -> np.ndarray:
        modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
        if not modalities or not set(modalities) <= set(_MODALITIES):
            raise ValueError(
                f"modalities must be a non-empty selection of {list(_MODALITIES)}; received {modalities!r}"
            )
        table = self.joint()
        if "scan" not in modalities:
            table = table.sum(axis=1, keepdims=True)
        if "report" not in modalities:
            table = table.sum(axis=2, keepdims=True)
        return table

    def _weights(self, weights):
        w = np.ones(len(CONDITIONS)) if weights is None else np.asarray(weights, dtype="float64")
        if w.shape != (len(CONDITIONS),) or not (w > 0).all():
            raise ValueError(
                f"weights must be {len(CONDITIONS)} positive numbers, one per condition; received {weights!r}"
            )
        return w

    def decision(self, modalities=_MODALITIES, weights=None) -> np.ndarray:
        """The rule ``argmax_d weights[d] * P(d, observed)``, as a table over what is observed.

        With ``weights=None`` this is the Bayes (most probable) rule. Larger
        weights for a condition trade accuracy for its recall.
        """
        table = self._table(modalities)
        return np.argmax(self._weights(weights)[:, None, None] * table, axis=0)

    def accuracy(self, modalities=_MODALITIES, weights=None) -> float:
        """Probability that :meth:`decision` names the true condition."""
        table, rule = self._table(modalities), self.decision(modalities, weights)
        return float(sum(table[d][rule == d].sum() for d in range(len(CONDITIONS))))

    def recall(self, modalities=_MODALITIES, weights=None) -> np.ndarray:
        """Per-condition recall of :meth:`decision`: ``P(decision = d | condition = d)``."""
        table, rule = self._table(modalities), self.decision(modalities, weights)
        return np.array(
            [table[d][rule == d].sum() / table[d].sum() for d in range(len(CONDITIONS))]
        )

    def ceilings(self) -> dict:
        """``{"bayes", "scan", "text", "chance", "majority"}`` accuracies from :meth:`joint`.

        ``"text"`` is the report-only ceiling (the report is the ``"text"`` input).

        >>> {k: round(v, 3) for k, v in ScanReportTask().ceilings().items()}
        {'bayes': 0.884, 'scan': 0.72, 'text': 0.675, 'chance': 0.25, 'majority': 0.4}
        """
        return self._with_baselines(
            bayes=self.bayes_accuracy, scan=self.scan_only_accuracy, text=self.report_only_accuracy
        )

    @property
    def bayes_accuracy(self) -> float:
        return self.accuracy(_MODALITIES)

    @property
    def scan_only_accuracy(self) -> float:
        return self.accuracy(("scan",))

    @property
    def report_only_accuracy(self) -> float:
        return self.accuracy(("report",))

    @property
    def majority_accuracy(self) -> float:
        """Always answering the most common condition."""
        return float(max(self.prevalence))

    # -- generation ---------------------------------------------------------
    def generate(self, n: int, seed: int = 0) -> ScanReportSplit:
        """Draw ``n`` patients; the same ``seed`` gives the same patients."""
        n, rng = self._generator(n, seed)
        condition = rng.choice(
            len(CONDITIONS), size=n, p=np.asarray(self.prevalence) / np.sum(self.prevalence)
        )
        finding = np.where(
            rng.random(n) < self.scan_reliability,
            _TYPICAL_FINDING[condition],
            rng.integers(0, len(FINDINGS), n),
        )
        history = np.where(
            rng.random(n) < self.report_reliability,
            _TYPICAL_HISTORY[condition],
            rng.integers(0, len(HISTORIES), n),
        )
        scans = self._draw(finding, rng)
        intro = rng.integers(0, len(_INTROS), n)
        phrase = rng.integers(0, len(_PHRASES[0]), n)
        sex = rng.integers(0, len(_SEXES), n)
        decade = rng.integers(0, len(_DECADES), n)
        reports = tuple(
            self._report(i, _PHRASES[h][p], s, d)
            for i, h, p, s, d in zip(intro, history, phrase, sex, decade)
        )
        return ScanReportSplit(
            features={"scan": scans, "text": self.tokenize(reports)},
            labels=condition.astype("int32"),
            reports=reports,
            finding=finding.astype("int32"),
            history=history.astype("int32"),
        )

    @staticmethod
    def _report(intro, phrase, sex, decade) -> str:
        head = _INTROS[intro].format(
            sex=_SEXES[sex][0], their=_SEXES[sex][1], decade=_DECADES[decade]
        )
        return f"{head}, {phrase}" if head else phrase

    def _draw(self, finding, rng) -> np.ndarray:
        """Textured tissue; a bright lesion with a smooth (round) or spiky (irregular) edge."""
        n, size = finding.shape[0], self.image_size
        tissue = 0.35 + 0.07 * smooth_noise(rng, n, size, scale=1.5)
        tissue += 0.03 * rng.standard_normal((n, size, size), dtype="float32")
        cy, cx = (rng.uniform(10, size - 10, n)[:, None, None] for _ in range(2))
        grid = np.arange(size, dtype="float32")
        dy, dx = grid[None, :, None] - cy, grid[None, None, :] - cx
        distance, angle = np.hypot(dx, dy), np.arctan2(dy, dx)
        radius = rng.uniform(4.0, 6.0, n)[:, None, None]
        lobes = rng.integers(3, 6, n)[:, None, None]
        phase = rng.uniform(0, 2 * np.pi, n)[:, None, None]
        wobble = rng.uniform(0, 2 * np.pi, n)[:, None, None]
        spiky = radius * (
            1.0 + 0.5 * np.cos(lobes * angle + phase) + 0.2 * np.cos((lobes + 2) * angle + wobble)
        )
        edge = np.where((finding == 2)[:, None, None], spiky, radius)
        lesion = 1.0 / (1.0 + np.exp(-2.5 * (edge - distance)))  # soft edge
        lesion *= (finding > 0)[:, None, None] * rng.uniform(0.35, 0.5, n)[:, None, None]
        scans = np.clip(tissue + lesion, 0.0, 1.0)
        return scans[..., None].astype("float32")


def smooth_noise(rng, n, size, scale) -> np.ndarray:
    """``n`` fields of Gaussian noise low-pass filtered with a Gaussian of width ``scale`` pixels,
    normalised to unit standard deviation (float32, ``(n, size, size)``)."""
    white = rng.standard_normal((n, size, size))
    frequency = np.fft.fftfreq(size)
    k2 = frequency[:, None] ** 2 + frequency[None, :] ** 2
    kernel = np.exp(-2.0 * (np.pi * scale) ** 2 * k2)
    field = np.fft.ifft2(np.fft.fft2(white) * kernel).real
    field /= field.std(axis=(1, 2), keepdims=True)
    return field.astype("float32")
