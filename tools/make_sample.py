"""Make the small folder data set shipped in ``mmtutorial/data/samples/shapes/``.

It holds 60 samples of ``ShapeMaterialTask`` (40 train, 10 validation, 10
test) as 32x32 PNG files plus ``captions.csv`` with the columns image,
caption, label, split: the layout ``mmtutorial.data.load_folder`` reads. The
seed is the first one from ``FIRST_SEED`` on whose training split all 21
classes occur, so the sample's class list is the task's whole class list.

Run from the repository root; it replaces the sample's files::

    .venv/bin/python tools/make_sample.py

The book (``book/own_data.ipynb``) and the tests regenerate the same samples
from ``SEED`` and compare them with the files, so change ``SEED`` there too if
it ever changes here.
"""

import pathlib
import shutil

import numpy as np

import mmtutorial as mt

SIZES = {"train": 40, "validation": 10, "test": 10}
FIRST_SEED = 0
OUT = pathlib.Path(__file__).resolve().parents[1] / "mmtutorial" / "data" / "samples" / "shapes"


def find_seed(task):
    seed = FIRST_SEED
    while True:
        splits = task.splits(**SIZES, seed=seed)
        if len(np.unique(splits["train"].labels)) == task.num_classes:
            return seed, splits
        seed += 1


def main():
    task = mt.data.ShapeMaterialTask()
    seed, splits = find_seed(task)
    if OUT.exists():
        shutil.rmtree(OUT)
    csv_path = mt.data.write_folder(OUT, splits, task.class_names)
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(
        f"seed {seed}: wrote {csv_path} and {sum(SIZES.values())} images, {total / 1024:.0f} KiB in all"
    )


if __name__ == "__main__":
    main()
