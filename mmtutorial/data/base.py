"""The data contract: what a split holds and what a task or data set tells a model builder.

Every source of data in the book follows the same two shapes.

* A :class:`Split` holds the model inputs, ``features`` (a dict from modality
  key to an array whose first axis is the sample), and the integer
  ``labels``. Each task's split subclasses it and adds what that task knows
  beyond the inputs (the hidden causes, the raw text, file names), so
  ``mt.train.fit``, ``predict`` and ``evaluate`` take a split of any task.
* A :class:`DataSource` names its classes (``class_names``, ``num_classes``),
  describes its inputs (:meth:`~DataSource.input_specs`) and states the
  accuracies it knows on paper (:meth:`~DataSource.ceilings`). A
  :class:`Task` is a data source that draws samples: :meth:`~Task.generate`
  ``n`` of them from a seed, and :meth:`~Task.splits` three independent splits
  from one seed.

The keys of :meth:`~DataSource.ceilings`:

* ``"bayes"``: the best accuracy any classifier can reach with every modality;
* one key per modality of :meth:`~DataSource.input_specs` (``"image"``,
  ``"text"``, ...): the best accuracy with that modality alone;
* ``"chance"``: a uniform guess over the classes, ``1 / num_classes``;
* ``"majority"``: always answering the most common class.

A source includes only the keys it knows (a folder of real images knows no
Bayes ceiling).

Example:
    >>> import numpy as np
    >>> split = Split({"image": np.zeros((3, 2, 2, 1)), "text": np.ones((3, 4), "int32")}, [0, 1, 1])
    >>> len(split), split.take([2, 0]).labels.tolist()
    (3, [1, 0])
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping

import numpy as np

from .. import _checks

# The widest repr that stays on one line: the chapters' code column (book/ruff.toml).
REPR_WIDTH = 72

__all__ = ["Split", "DataSource", "Task", "check_count", "split_seeds"]


# -- argument checks the data modules share -----------------------------------------
def check_count(n, *, owner=None, name="n") -> int:
    """``n`` as an ``int`` if it is a positive integer (NumPy integers too, booleans never).

    ``name`` is the argument the caller wrote, as the message names it.
    """
    if not (_checks.is_integer(n) and n >= 1):
        prefix = f"{owner}: " if owner else ""
        raise ValueError(f"{prefix}{name} must be a positive integer; received {n!r}")
    return int(n)


def integer_with_reason(name, value, minimum, reason, *, owner=None) -> int:
    """:func:`mmtutorial._checks.integer` with the reason for the bound in the message.

    >>> integer_with_reason("sequence_length", 3, 9, "the longest caption")
    Traceback (most recent call last):
        ...
    ValueError: sequence_length must be an integer >= 9 (the longest caption); received 3
    """
    try:
        return _checks.integer(name, value, minimum=minimum, owner=owner)
    except ValueError as error:
        raise ValueError(str(error).replace("; received", f" ({reason}); received", 1)) from None


def split_seeds(seed) -> list:
    """Three independent seeds (train, validation, test) drawn from one."""
    seed = _checks.integer("seed", seed, minimum=0)
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(3)]


# -- splits ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Split:
    """One split of a data set: the model inputs and the labels.

    A task's split subclasses this and adds its own fields after these two;
    every field that holds one entry per sample (an array whose first axis
    has ``len(split)`` entries, or a tuple of that length) is cut along with
    the inputs by :meth:`take`.

    Attributes:
        features: modality key -> array ``(n, ...)``, the dict every model
            in the book takes (``{"image": ..., "text": ...}``).
        labels: int array ``(n,)`` of class ids.
    """

    features: Mapping
    labels: np.ndarray

    # What the messages call one label: a split of label maps says "label map".
    _label_noun = "label"

    def __post_init__(self):
        owner = type(self).__name__
        if not isinstance(self.features, Mapping) or not self.features:
            raise ValueError(
                f"{owner}: features must be a non-empty dict of modality key -> array; "
                f"received {type(self.features).__name__}"
            )
        labels = self._checked_labels(np.asarray(self.labels))
        features = {}
        for key, value in self.features.items():
            array = np.asarray(value)
            if not isinstance(key, str) or array.ndim == 0 or array.shape[0] != labels.shape[0]:
                raise ValueError(
                    f"{owner}: features[{key!r}] must hold one entry per {self._label_noun} "
                    f"({labels.shape[0]}); received shape {array.shape}"
                )
            features[key] = array
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "labels", labels)

    def _checked_labels(self, labels: np.ndarray) -> np.ndarray:
        """``labels`` if they fit this kind of split: here one class id per sample.

        A split whose labels are not class ids (a target sequence per sample)
        overrides this check; the rest of the contract stays the same.
        """
        if labels.ndim != 1:
            raise ValueError(
                f"{type(self).__name__}: labels must be a 1-D array of class ids; received shape "
                f"{labels.shape}"
            )
        return labels

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def _input(self, key):
        if key not in self.features:
            raise AttributeError(
                f"{type(self).__name__} has no {key!r} input; its inputs are {list(self.features)}"
            )
        return self.features[key]

    @property
    def images(self) -> np.ndarray:
        """The ``"image"`` input: float32 ``(n, height, width, channels)`` in [0, 1]."""
        return self._input("image")

    @property
    def tokens(self) -> np.ndarray:
        """The ``"text"`` input: int32 ``(n, sequence_length)`` token ids, 0 = padding."""
        return self._input("text")

    def _repr_head(self) -> str:
        return f"{len(self)} samples"

    def __repr__(self):
        # One line where it fits the book's 72-character code column, else
        # the inputs on a second, indented line, so no page scrolls sideways.
        inputs = ", ".join(f"{key} {tuple(a.shape)} {a.dtype}" for key, a in self.features.items())
        line = f"{type(self).__name__}({self._repr_head()}; {inputs})"
        if len(line) <= REPR_WIDTH:
            return line
        return f"{type(self).__name__}({self._repr_head()};\n    {inputs})"

    def take(self, indices) -> Split:
        """The samples at ``indices`` (integers, a boolean mask or a slice), as a split of the same kind.

        Every per-sample field is cut the same way, so the hidden causes stay
        aligned with the inputs.
        """
        n = len(self)
        if isinstance(indices, slice):
            index = np.arange(n)[indices]
        else:
            index = np.asarray(indices)
            if index.dtype == bool:
                if index.shape != (n,):
                    raise ValueError(
                        f"a boolean mask must have one entry per sample, shape ({n},); received shape {index.shape}"
                    )
                index = np.flatnonzero(index)
            elif index.size == 0:
                index = np.zeros(0, dtype="intp")
            elif index.ndim != 1 or index.dtype.kind not in "iu":
                raise ValueError(
                    "indices must be a 1-D array of integers, a boolean mask or a slice; "
                    f"received dtype {index.dtype} and shape {index.shape}"
                )
            if index.size and (index.min() < -n or index.max() >= n):
                raise ValueError(
                    f"indices must lie in [-{n}, {n}) for a split of {n} samples; "
                    f"received min {int(index.min())} and max {int(index.max())}"
                )
        changes = {"features": {key: array[index] for key, array in self.features.items()}}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "features":
                continue
            if isinstance(value, np.ndarray) and value.ndim and value.shape[0] == n:
                changes[field.name] = value[index]
            elif isinstance(value, tuple) and len(value) == n:
                changes[field.name] = tuple(value[i] for i in index)
        return dataclasses.replace(self, **changes)


# -- tasks and data sets ---------------------------------------------------------------
class DataSource(abc.ABC):
    """What every data source tells a model builder: the classes, the inputs, the ceilings.

    A subclass provides ``class_names`` (an attribute or a property),
    :meth:`input_specs` and :meth:`ceilings`.
    """

    @property
    def num_classes(self) -> int:
        """The number of classes, ``len(class_names)``."""
        return len(self.class_names)

    @property
    def chance_accuracy(self) -> float:
        """Accuracy of a uniform guess, ``1 / num_classes``."""
        return 1.0 / self.num_classes

    @abc.abstractmethod
    def input_specs(self) -> dict:
        """``{key: (shape_without_batch, dtype)}`` for each modality of ``split.features``."""

    @abc.abstractmethod
    def ceilings(self) -> dict:
        """The accuracies the source knows on paper; the keys are listed in :mod:`mmtutorial.data.base`."""


class Task(DataSource):
    """A data source that draws samples: :meth:`generate` and :meth:`splits`.

    A subclass provides :meth:`generate` and may set ``split_sizes``, the
    default ``(train, validation, test)`` sizes of :meth:`splits`.
    """

    split_sizes = (3000, 500, 1500)

    @property
    def majority_accuracy(self) -> float:
        """Always answering the most common class; with equally likely classes, the chance level."""
        return self.chance_accuracy

    @abc.abstractmethod
    def generate(self, n: int, seed: int = 0) -> Split:
        """Draw ``n`` samples; the same ``seed`` gives the same samples."""

    def splits(
        self,
        train: int | None = None,
        validation: int | None = None,
        test: int | None = None,
        seed: int = 0,
    ) -> dict:
        """Independent train, validation and test splits from one seed.

        Each split is drawn with its own seed from ``SeedSequence(seed)``, so
        changing one split's size leaves the other two as they were. A size
        left out is the task's ``split_sizes`` default.

        Returns:
            ``{"train": Split, "validation": Split, "test": Split}``.
        """
        sizes = dict(zip(("train", "validation", "test"), self.split_sizes))
        given = {"train": train, "validation": validation, "test": test}
        owner = f"{type(self).__name__}.splits"
        for name, size in given.items():
            if size is not None:  # checked here, so that the message names the caller's argument
                sizes[name] = check_count(size, owner=owner, name=name)
        seeds = split_seeds(seed)
        return {
            name: self.generate(sizes[name], seed=split_seed)
            for name, split_seed in zip(given, seeds)
        }

    # -- helpers for subclasses ------------------------------------------------------
    def _generator(self, n, seed):
        """Check ``n`` and ``seed`` and return ``(n, numpy Generator)``."""
        owner = type(self).__name__
        n = check_count(n, owner=owner)
        seed = _checks.integer("seed", seed, minimum=0, owner=owner)
        return n, np.random.default_rng(seed)

    def _with_baselines(self, **known) -> dict:
        """``known`` ceilings followed by ``"chance"`` and ``"majority"``."""
        return {
            **{k: float(v) for k, v in known.items()},
            "chance": self.chance_accuracy,
            "majority": self.majority_accuracy,
        }

    def _probabilities(self, *names) -> dict:
        """The fields ``names``, each checked to be a probability in [0, 1], by name."""
        owner = type(self).__name__
        return {name: _checks.probability(name, getattr(self, name), owner=owner) for name in names}

    def _sequence_length(self, longest, text) -> int:
        """The field ``sequence_length``, checked to hold the ``longest`` of the task's ``text``."""
        return integer_with_reason(
            "sequence_length",
            self.sequence_length,
            longest,
            f"the longest {text}",
            owner=type(self).__name__,
        )

    def _store(self, **values):
        """Set checked (converted) values on a frozen dataclass instance."""
        for name, value in values.items():
            object.__setattr__(self, name, value)


class SquarePictures:
    """A mixin for a task whose pictures are ``image_size`` x ``image_size`` RGB."""

    @property
    def image_shape(self) -> tuple:
        """``(image_size, image_size, 3)``, the shape of one picture."""
        return (self.image_size, self.image_size, 3)
