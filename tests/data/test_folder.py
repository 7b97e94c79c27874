"""Folder data sets: images + a CSV file of captions and labels (mmtutorial.data.folder and its
stages, mmtutorial.data.folder_csv and mmtutorial.data.folder_images).

The happy path is compared with the synthetic task the shipped sample was made
from, and the tokens with a tokenizer written here in plain Python. Every kind
of bad input is made on a temporary copy of the sample, and the error must
name the CSV file, the line and the value.
"""

import collections
import re
import shutil
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

import mmtutorial as mt
from mmtutorial.data import (
    FolderDataError,
    SkippedRowsWarning,
    folder_csv,
    folder_images,
    load_folder,
)

SAMPLE_SEED = 48  # tools/make_sample.py found this seed
SIZES = {"train": 40, "validation": 10, "test": 10}


@pytest.fixture(scope="module")
def sample():
    return load_folder(mt.data.sample_folder())


@pytest.fixture(scope="module")
def reference():
    return mt.data.ShapeMaterialTask().splits(**SIZES, seed=SAMPLE_SEED)


@pytest.fixture
def copy(tmp_path):
    """A private copy of the shipped sample to damage."""
    target = tmp_path / "shapes"
    shutil.copytree(mt.data.sample_folder(), target)
    return target


def csv_lines(folder):
    return (folder / "captions.csv").read_text().splitlines()


def write_lines(folder, lines):
    (folder / "captions.csv").write_text("\n".join(lines) + "\n")


def edit_line(folder, number, new):
    """Replace CSV line ``number`` (1 = header) and return the old line."""
    lines = csv_lines(folder)
    old = lines[number - 1]
    lines[number - 1] = new
    write_lines(folder, lines)
    return old


def image_of_line(folder, number):
    return csv_lines(folder)[number - 1].split(",")[0]


def load_error(folder, **kwargs):
    with pytest.raises(FolderDataError) as caught:
        load_folder(folder, **kwargs)
    return caught.value


# -- the happy path ---------------------------------------------------------------
def test_sample_has_the_documented_sizes_types_and_ranges(sample):
    task = mt.data.ShapeMaterialTask()
    assert list(sample.splits) == ["train", "validation", "test"]
    assert {name: len(split) for name, split in sample.splits.items()} == SIZES
    assert sample.rows == 60 and sample.skipped == ()
    assert sample.class_names == tuple(sorted(task.class_names))
    assert sample.num_classes == 21 and sample.image_shape == (32, 32, 3)
    for name, split in sample.splits.items():
        n = SIZES[name]
        assert split.images.shape == (n, 32, 32, 3) and split.images.dtype == np.float32
        assert 0.0 <= split.images.min() and split.images.max() <= 1.0
        assert split.tokens.shape == (n, sample.sequence_length) and split.tokens.dtype == np.int32
        assert 0 <= split.tokens.min() and split.tokens.max() < sample.vocab_size
        assert split.labels.shape == (n,) and split.labels.dtype == np.int32
        assert 0 <= split.labels.min() and split.labels.max() < sample.num_classes
        assert len(split.files) == len(split.lines) == len(split.captions) == n
        assert isinstance(split, mt.data.Split) and isinstance(split, mt.data.FolderSplit)
        assert not hasattr(
            split, "shape"
        )  # real data come without the synthetic task's hidden causes
        assert set(split.features) == {"image", "text"}
    assert len(np.unique(sample["train"].labels)) == 21


def test_sample_holds_the_task_samples_up_to_8_bit_rounding(sample, reference):
    task = mt.data.ShapeMaterialTask()
    for name, split in sample.splits.items():
        expected = reference[name]
        # round(255 x) / 255 differs from x by at most 1/510
        assert np.abs(split.images - expected.images).max() <= 1 / 510 + 1e-6
        assert split.captions == expected.captions
        assert [sample.class_names[i] for i in split.labels] == [
            task.class_names[i] for i in expected.labels
        ]
    first_test_line = 2 + SIZES["train"] + SIZES["validation"]
    assert sample["train"].lines[0] == 2 and sample["test"].lines[0] == first_test_line
    assert sample["train"].files[0] == "images/00000.png"


def reference_tokens(train_captions, captions, length):
    """Keras's TextVectorization, re-done in Python: lower-case, strip punctuation, split,
    rank words by count (ties: reverse alphabetical), ids from 2, 1 for unknown words."""

    def words(text):
        return re.sub(r"[^\w\s]", "", text.lower()).split()

    counts = collections.Counter(w for c in train_captions for w in words(c))
    vocabulary = sorted(counts, key=lambda w: (counts[w], w), reverse=True)
    ids = {w: i + 2 for i, w in enumerate(vocabulary)}
    rows = [[ids.get(w, 1) for w in words(c)][:length] for c in captions]
    return vocabulary, np.array([r + [0] * (length - len(r)) for r in rows], dtype="int32")


def test_vocabulary_is_learnt_from_the_training_split_only(sample):
    train = sample["train"].captions
    vocabulary, _ = reference_tokens(train, [], 1)
    assert sample.vocabulary == tuple(vocabulary)
    assert sample.sequence_length == max(len(c.split()) for c in train)
    for split in sample.splits.values():
        _, expected = reference_tokens(train, split.captions, sample.sequence_length)
        np.testing.assert_array_equal(split.tokens, expected)
    np.testing.assert_array_equal(
        sample.tokenize(["glass ZZZ, wood!"])[0, :3],
        [sample.vocabulary.index("glass") + 2, 1, sample.vocabulary.index("wood") + 2],
    )


def test_loading_is_deterministic(sample):
    again = load_folder(mt.data.sample_folder())
    assert again.vocabulary == sample.vocabulary and again.class_names == sample.class_names
    for name in SIZES:
        np.testing.assert_array_equal(again[name].images, sample[name].images)
        np.testing.assert_array_equal(again[name].tokens, sample[name].tokens)
        np.testing.assert_array_equal(again[name].labels, sample[name].labels)


def test_images_are_resized_and_converted_as_documented(copy):
    data = load_folder(copy, image_shape=(24, 40, 1))
    split = data["validation"]
    assert split.images.shape == (10, 24, 40, 1)
    with Image.open(copy / split.files[3]) as image:
        expected = np.asarray(
            image.convert("L").resize((40, 24), Image.Resampling.BILINEAR), dtype="float32"
        )
    np.testing.assert_allclose(split.images[3, ..., 0], expected / 255, atol=1e-6)


def test_jpeg_grey_and_palette_images_load_as_rgb_without_warnings(copy):
    lines = csv_lines(copy)
    Image.new("RGB", (200, 100), (255, 0, 0)).save(copy / "big.jpg", quality=95)
    Image.new("L", (32, 32), 128).save(copy / "grey.png")
    palette = Image.new("P", (32, 32), 0)
    palette.putpalette([0, 0, 255] * 256)
    palette.save(copy / "palette.png", transparency=b"\x00" * 256)
    lines[1:4] = [
        f"{name},a picture,glass disk,test" for name in ("big.jpg", "grey.png", "palette.png")
    ]
    write_lines(copy, lines)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_folder(copy)
    red, grey, blue = data["test"].images[:3]
    assert (
        red.shape == (32, 32, 3)
        and abs(red[..., 0].mean() - 1) < 0.02
        and red[..., 1:].max() < 0.05
    )
    np.testing.assert_allclose(grey, 128 / 255, atol=1e-6)
    np.testing.assert_allclose(blue, np.broadcast_to([0, 0, 1], blue.shape), atol=1e-6)


def test_rows_without_a_split_column_are_split_at_random_reproducibly(tmp_path, reference):
    task = mt.data.ShapeMaterialTask()
    mt.data.write_folder(tmp_path, reference["train"], task.class_names)  # 40 rows, no split column
    assert csv_lines(tmp_path)[0] == "image,caption,label"
    with pytest.raises(FolderDataError, match="no column 'split'.*split_column=None"):
        load_folder(tmp_path)
    data = load_folder(tmp_path, split_column=None, validation_fraction=0.2, test_fraction=0.1)
    assert {name: len(split) for name, split in data.splits.items()} == {
        "train": 28,
        "validation": 8,
        "test": 4,
    }
    files = [f for split in data.splits.values() for f in split.files]
    assert sorted(files) == [f"images/{i:05d}.png" for i in range(40)]
    again = load_folder(tmp_path, split_column=None, validation_fraction=0.2, test_fraction=0.1)
    other = load_folder(
        tmp_path, split_column=None, validation_fraction=0.2, test_fraction=0.1, seed=1
    )
    assert again["test"].files == data["test"].files != other["test"].files
    default = load_folder(tmp_path, split_column=None)
    assert (len(default["validation"]), len(default["test"])) == (4, 4)


def test_split_spellings_columns_and_delimiter_are_configurable(copy):
    lines = csv_lines(copy)
    rows = [line.split(",") for line in lines]
    spellings = {"train": " Train", "validation": "VAL", "test": "dev"}  # dev = validation
    converted = ["file\ttext\tclass\tsubset"] + [
        "\t".join(row[:3] + [spellings[row[3]]]) for row in rows[1:]
    ]
    write_lines(copy, converted)
    data = load_folder(
        copy,
        image_column="file",
        caption_column="text",
        label_column="class",
        split_column="subset",
        delimiter="\t",
    )
    assert {name: len(split) for name, split in data.splits.items()} == {
        "train": 40,
        "validation": 20,
    }


def test_given_vocabulary_and_class_names_are_used_as_given(copy, sample):
    names = list(reversed(sample.class_names))
    data = load_folder(copy, vocabulary=["glass", "wood"], class_names=names, sequence_length=4)
    assert data.vocab_size == 4 and data.sequence_length == 4 and data.class_names == tuple(names)
    np.testing.assert_array_equal(data.tokenize(["wood metal glass"]), [[3, 1, 2, 0]])
    np.testing.assert_array_equal(data["train"].labels, 20 - sample["train"].labels)


def test_a_quoted_caption_may_span_lines_and_line_numbers_stay_right(copy):
    lines = csv_lines(copy)
    image, _, label, split = lines[2].split(",")
    lines[2] = f'{image},"a caption over\ntwo lines, with a comma",{label},{split}'
    lines[5] = lines[5].replace(",train", ",training")  # line 6 before the edit, line 7 after
    write_lines(copy, lines)
    error = load_error(copy)
    assert [p.line for p in error.problems] == [7]
    with pytest.warns(
        SkippedRowsWarning,
        match=r"skipped 1 of 60 rows of .*captions.csv \(line 7\): line 7: unknown",
    ):
        data = load_folder(copy, on_error="skip")
    assert data["train"].captions[1] == "a caption over\ntwo lines, with a comma"
    assert data["train"].lines[:3] == (2, 3, 5)


# -- every kind of bad input names the file, the line and the value --------------------
def truncate(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[:keep] if keep >= 0 else data[:keep])


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda p: truncate(p, 200), r"(?i)is truncated or corrupt \(.*truncated"),
        (
            lambda p: truncate(p, -12),
            r"is truncated or corrupt",
        ),  # only the closing IEND chunk lost
        (
            lambda p: p.write_bytes(b"this is not a picture"),
            r"is not an image file Pillow can read \(it starts with b'this is ",
        ),
        (lambda p: p.write_bytes(b""), r"is empty \(0 bytes\)"),
        (lambda p: p.unlink(), r"not found \(looked for '.*images/00004.png'\)"),
    ],
    ids=["truncated", "no-end-chunk", "garbage", "empty", "missing"],
)
def test_a_bad_image_file_names_the_csv_line_and_the_file(copy, damage, expected):
    line = 6  # the fifth data row
    name = image_of_line(copy, line)
    assert name == "images/00004.png"
    damage(copy / name)
    error = load_error(copy)
    message = str(error)
    assert message.startswith(f"{copy / 'captions.csv'}, line {line}: image file '{name}' ")
    assert re.search(expected, message), message
    assert "on_error='skip'" in message
    (problem,) = error.problems
    assert (problem.line, problem.column, problem.value) == (line, "image", name)
    assert error.csv_path == str(copy / "captions.csv")


def test_a_flipped_byte_inside_a_png_is_caught(copy):
    path = copy / image_of_line(copy, 9)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert "line 9: image file 'images/00007.png' is truncated or corrupt" in str(load_error(copy))


@pytest.mark.parametrize(
    "row, expected, column",
    [
        (
            "images/00010.png,wood painted red",
            r"expected 4 fields \(image, caption, label, split\) but found 2: \['images/00010.png', 'wood painted red'\]",
            None,
        ),
        (
            "images/00010.png,,wood disk,train",
            r"column 'caption' is empty \(received ''\)",
            "caption",
        ),
        (
            "images/00010.png,   ,wood disk,train",
            r"column 'caption' is empty \(received '   '\)",
            "caption",
        ),
        (
            "images/00010.png,?!,wood disk,train",
            r"column 'caption' has no words .* \(received '\?!'\)",
            "caption",
        ),
        (
            "images/00010.png,wood painted red,,train",
            r"column 'label' is empty \(received ''\)",
            "label",
        ),
        (
            "images/00010.png,wood painted red,wood disk,training",
            r"unknown split 'training' in column 'split'; use train, validation or test",
            "split",
        ),
        ("images/00010.png,wood painted red,wood disk,", r"column 'split' is empty", "split"),
        (",wood painted red,wood disk,train", r"column 'image' is empty", "image"),
        (",,,", r"the row has no values", None),
        (
            'images/00010.png,"wood painted red"x,wood disk,train',
            r"malformed CSV \(',' expected after '\"'\) in line 12",
            None,
        ),
    ],
    ids=[
        "too-few-fields",
        "empty-caption",
        "blank-caption",
        "no-words",
        "empty-label",
        "unknown-split",
        "empty-split",
        "empty-image",
        "empty-row",
        "bad-quote",
    ],
)
def test_a_malformed_row_names_the_csv_line_and_the_value(copy, row, expected, column):
    edit_line(copy, 12, row)
    error = load_error(copy)
    message = str(error)
    assert message.startswith(f"{copy / 'captions.csv'}, line 12: "), message
    assert re.search(expected, message), message
    (problem,) = error.problems
    assert problem.line == 12 and problem.column == column


def test_an_unterminated_quote_is_reported_where_it_starts(copy):
    edit_line(copy, 59, 'images/00057.png,"the quote never closes,wood disk,test')
    error = load_error(copy)
    assert (
        "line 59: malformed CSV (unexpected end of data) in lines 59-61; check the quotes"
        in str(error)
    )


def test_a_label_outside_the_given_class_names_is_named(copy, sample):
    edit_line(copy, 30, "images/00028.png,wood painted red,wooden disk,train")
    error = load_error(copy, class_names=sample.class_names)
    assert "line 30: label 'wooden disk' is not one of the class_names ['glass bar'," in str(error)


def test_several_problems_are_reported_together(copy):
    edit_line(copy, 3, "images/00001.png,,metal square,train")
    (copy / image_of_line(copy, 20)).unlink()
    edit_line(copy, 45, "images/00043.png,glass,glass ring,holdout")
    error = load_error(copy)
    assert [p.line for p in error.problems] == [3, 20, 45]
    message = str(error)
    assert message.startswith(
        f"{copy / 'captions.csv'}: 3 problems in 3 of 60 rows:\n  line 3: column 'caption'"
    )
    assert "\n  line 20: image file 'images/00018.png' not found" in message
    assert "\n  line 45: unknown split 'holdout'" in message


def test_a_non_utf8_file_names_the_line(copy):
    raw = (copy / "captions.csv").read_bytes().splitlines(keepends=True)
    raw[7] = "images/00006.png,wood painted r\u00e9d,wood disk,train\n".encode("latin-1")
    (copy / "captions.csv").write_bytes(b"".join(raw))
    with pytest.raises(FolderDataError, match=r"captions.csv, line 8: the file is not UTF-8 text"):
        load_folder(copy)


# -- files, columns and empty data sets ---------------------------------------------
def test_a_missing_csv_file_names_it_and_what_the_folder_holds(copy):
    (copy / "captions.csv").rename(copy / "labels.csv")
    with pytest.raises(
        FileNotFoundError,
        match=r"no CSV file '.*captions.csv'; the folder '.*' holds \['images', 'labels.csv'\]",
    ):
        load_folder(copy)
    assert len(load_folder(copy, csv_file="labels.csv")["train"]) == 40
    with pytest.raises(FileNotFoundError, match="the data set folder '.*nowhere' does not exist"):
        load_folder(copy / "nowhere")


def test_a_missing_column_is_named_with_the_header_and_a_suggestion(copy):
    edit_line(copy, 1, "image,text,label,split")
    message = str(load_error(copy))
    assert message == (
        f"{copy / 'captions.csv'}, line 1 (header): no column 'caption'; the header has "
        "['image', 'text', 'label', 'split']; pass caption_column=... to name it"
    )
    edit_line(copy, 1, "image,captions,label,split")
    assert "did you mean caption_column='captions'?" in str(load_error(copy))
    assert len(load_folder(copy, caption_column="captions")["test"]) == 10
    edit_line(copy, 1, "image,caption,label,label")
    assert "the column 'label' occurs 2 times" in str(load_error(copy))


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "is empty: it has no header row"),
        ("\n\n", "is empty: it has no header row"),
        ("image,caption,label,split\n", "has a header but no data rows"),
    ],
    ids=["empty-file", "blank-lines", "header-only"],
)
def test_an_empty_data_set_is_an_error(copy, content, expected):
    (copy / "captions.csv").write_text(content)
    assert expected in str(load_error(copy))


def test_no_training_rows_needs_a_vocabulary(copy):
    write_lines(copy, [line.replace(",train", ",test") for line in csv_lines(copy)])
    assert "no 'train' rows to learn the vocabulary from" in str(load_error(copy))
    data = load_folder(copy, vocabulary=["wood", "metal", "glass"])
    assert list(data.splits) == ["validation", "test"] and len(data["test"]) == 50
    with pytest.raises(KeyError, match=r"no 'train' rows; its splits are \['validation', 'test'\]"):
        data["train"]


# -- skipping -------------------------------------------------------------------------
def test_skip_mode_leaves_bad_rows_out_with_one_warning_that_counts_them(copy, sample):
    truncate(copy / image_of_line(copy, 4), 100)
    (copy / image_of_line(copy, 47)).unlink()
    edit_line(copy, 10, "images/00008.png,,glass disk,train")
    edit_line(copy, 55, "images/00053.png,wood,wood bar")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_folder(copy, on_error="skip")
    skipped = [w for w in caught if issubclass(w.category, SkippedRowsWarning)]
    assert len(skipped) == 1, [str(w.message) for w in caught]
    message = str(skipped[0].message)
    assert message.startswith(
        f"skipped 4 of 60 rows of {copy / 'captions.csv'} (lines 4, 10, 47, 55): line 4: image file 'images/00002.png' is truncated"
    )
    assert "line 47: image file 'images/00045.png' not found" in message
    assert (
        "line 10: column 'caption' is empty" in message and "line 55: expected 4 fields" in message
    )
    assert [p.line for p in data.skipped] == [4, 10, 47, 55]
    assert {name: len(split) for name, split in data.splits.items()} == {
        "train": 38,
        "validation": 9,
        "test": 9,
    }
    assert 4 not in data["train"].lines and "images/00002.png" not in data["train"].files
    # the rows that were kept are exactly the clean rows
    kept = sample["train"].lines.index(5)
    np.testing.assert_array_equal(data["train"].images[2], sample["train"].images[kept])
    assert "4 skipped" in repr(data)
    # one fact per line: only the CSV's path can make a line wider than the book's column
    assert all(len(line) <= 72 for line in repr(data).splitlines()[1:]), repr(data)


def test_skip_mode_with_nothing_left_is_an_error(copy):
    lines = csv_lines(copy)
    write_lines(copy, [lines[0]] + [line.rsplit(",", 1)[0] + ",holdout" for line in lines[1:]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning before the error
        with pytest.raises(FolderDataError, match="every one of the 60 rows has a problem"):
            load_folder(copy, on_error="skip")


def test_a_clean_folder_loads_without_any_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_folder(mt.data.sample_folder())


# -- arguments --------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"on_error": "ignore"}, "on_error must be 'raise' or 'skip'; received 'ignore'"),
        ({"image_shape": (32, 32)}, r"image_shape must be .* received \(32, 32\)"),
        ({"image_shape": (32, 32, 4)}, r"1 \(grey\) or 3 \(RGB\) channels; received \(32, 32, 4\)"),
        ({"sequence_length": 0}, "sequence_length must be a positive integer or None; received 0"),
        ({"max_tokens": 2}, "max_tokens must be an integer >= 3 or None; received 2"),
        (
            {"vocabulary": ["a", "[UNK]"]},
            r"vocabulary must hold non-empty strings; received '\[UNK\]'",
        ),
        ({"vocabulary": "glass wood"}, "vocabulary must be a list of strings, not one string"),
        ({"class_names": ["a", "a"]}, r"class_names must not repeat a name; \['a'\]"),
        (
            {"validation_fraction": 0.2},
            "validation_fraction applies only to a CSV file without a split column",
        ),
        (
            {"split_column": None, "test_fraction": 1.5},
            r"test_fraction must be a number in \[0, 1\); received 1.5",
        ),
        (
            {"split_column": None, "validation_fraction": 0.5, "test_fraction": 0.5},
            "must leave rows for training",
        ),
        ({"caption_column": "image"}, "the columns must differ from each other"),
        ({"delimiter": ";;"}, "delimiter must be one character"),
    ],
)
def test_invalid_arguments_are_named(kwargs, expected):
    with pytest.raises(ValueError, match=expected):
        load_folder(mt.data.sample_folder(), **kwargs)


def test_unknown_sample_names_the_shipped_ones():
    with pytest.raises(ValueError, match=r"unknown sample 'faces'; the package ships \['shapes'\]"):
        mt.data.sample_folder("faces")


# -- writing ----------------------------------------------------------------------------
def test_write_folder_round_trips_and_refuses_to_overwrite(tmp_path, reference):
    task = mt.data.ShapeMaterialTask()
    splits = {"train": reference["train"], "test": reference["test"]}
    path = mt.data.write_folder(tmp_path, splits, task.class_names)
    assert path == tmp_path / "captions.csv" and len(csv_lines(tmp_path)) == 51
    data = load_folder(tmp_path)
    assert np.abs(data["test"].images - reference["test"].images).max() <= 1 / 510 + 1e-6
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        mt.data.write_folder(tmp_path, splits, task.class_names)
    mt.data.write_folder(tmp_path, splits, task.class_names, overwrite=True)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\) to name a class"):
        mt.data.write_folder(tmp_path / "x", splits, ["a", "b"])
    with pytest.raises(ValueError, match="split names must be among"):
        mt.data.write_folder(tmp_path / "y", {"holdout": reference["test"]}, task.class_names)


# -- the data trains a model, which saves and loads ---------------------------------------
def test_a_model_trains_on_the_loaded_data_and_round_trips_through_keras_format(sample, tmp_path):
    mt.train.set_seed(0)
    model = mt.models.build_classifier(
        sample.image_shape, sample.vocab_size, sample.sequence_length, sample.num_classes
    )
    before = [np.array(w) for w in model.get_weights()]
    history = mt.train.fit(model, sample["train"], sample["validation"], epochs=3, batch_size=8)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(before, model.get_weights()))
    accuracy = mt.train.evaluate(model, sample["test"])
    assert 0.0 <= accuracy <= 1.0
    pipeline = mt.train.make_dataset(
        sample["test"].features, sample["test"].labels, batch_size=4, model=model
    )
    features, labels = next(iter(pipeline))
    assert tuple(features["image"].shape) == (4, 32, 32, 3) and tuple(labels.shape) == (4,)
    path = tmp_path / "folder_model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        mt.train.predict(restored, sample["test"]), mt.train.predict(model, sample["test"])
    )


# -- the data contract -------------------------------------------------------------------
def test_the_data_set_follows_the_data_contract(sample):
    assert isinstance(sample, mt.data.DataSource) and not isinstance(sample, mt.data.Task)
    specs = sample.input_specs()
    assert specs == {
        "image": ((32, 32, 3), "float32"),
        "text": ((sample.sequence_length,), "int32"),
    }
    for split in sample.splits.values():
        assert list(split.features) == list(specs)
        for key, (shape, dtype) in specs.items():
            assert split.features[key].shape[1:] == shape and split.features[key].dtype == dtype
    assert sample.ceilings() == {"chance": 1 / 21}
    assert repr(sample["validation"]) == (
        "FolderSplit('validation': 10 samples;\n"
        f"    image (10, 32, 32, 3) float32, text (10, {sample.sequence_length}) int32)"
    )


def test_take_keeps_files_and_lines_with_their_samples(sample):
    part = sample["train"].take([3, 1])
    assert part.files == (sample["train"].files[3], sample["train"].files[1])
    assert part.lines == (5, 3) and part.name == "train"
    np.testing.assert_array_equal(part.images, sample["train"].images[[3, 1]])


def test_the_removed_dataset_method_points_to_make_dataset(sample):
    assert not hasattr(sample, "dataset")
    with pytest.raises(AttributeError, match=r"mt\.train\.make_dataset\(data\[name\]\.features"):
        sample.dataset("test")


def test_numpy_integers_are_accepted_and_booleans_refused(copy):
    data = load_folder(
        copy, image_shape=np.array([16, 16, 1]), sequence_length=np.int64(5), seed=np.int64(2)
    )
    assert (
        data.image_shape == (16, 16, 1)
        and type(data.image_shape[0]) is int
        and data.sequence_length == 5
    )
    with pytest.raises(
        ValueError, match="sequence_length must be a positive integer or None; received True"
    ):
        load_folder(copy, sequence_length=True)
    with pytest.raises(ValueError, match=r"image_shape must be .* received \(32, True, 3\)"):
        load_folder(copy, image_shape=(32, True, 3))
    with pytest.raises(ValueError, match="seed must be an integer >= 0; received False"):
        load_folder(copy, split_column=None, seed=False)
    with pytest.raises(
        ValueError, match="validation_fraction must be a number in \\[0, 1\\); received True"
    ):
        load_folder(copy, split_column=None, validation_fraction=True)


def test_write_folder_needs_images_and_captions(tmp_path):
    speech = mt.data.SpokenWordTask().generate(4, seed=0)
    with pytest.raises(
        ValueError,
        match=r"splits\['train'\] must be a Split with an 'image' input and captions.*SpokenWordSplit",
    ):
        mt.data.write_folder(tmp_path, speech, mt.data.SpokenWordTask().class_names)
    with pytest.raises(
        ValueError, match="splits must be a Split or a non-empty dict of Splits; received list"
    ):
        mt.data.write_folder(tmp_path, [speech], ["a"])


# -- the stages on their own ---------------------------------------------------------------
def test_read_csv_returns_the_checked_rows_and_every_line(copy):
    edit_line(copy, 4, "images/00002.png,,metal disk,train")
    columns = {
        "image_column": "image",
        "caption_column": "caption",
        "label_column": "label",
        "split_column": "split",
    }
    table = folder_csv.read_csv(copy / "captions.csv", columns, ",", None)
    assert table.lines == list(range(2, 62)) and len(table.rows) == 60
    assert table.rows[0] == folder_csv.CsvRow(
        2, "images/00000.png", table.rows[0].caption, table.rows[0].label, "train"
    )
    (problem,) = table.problems
    assert (problem.line, problem.column, problem.value) == (4, "caption", "")


def test_read_image_says_what_is_wrong_in_words(copy):
    array, trouble = folder_images.read_image(copy / "images" / "00000.png", (8, 8, 1))
    assert trouble is None and array.shape == (8, 8, 1) and array.dtype == np.float32
    assert folder_images.read_image(copy / "nothing.png", (8, 8, 3)) == (None, "not found")
    assert folder_images.read_image(copy / "images", (8, 8, 3)) == (None, "is not a file")
