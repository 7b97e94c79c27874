"""The benchmark's FLOP count, its JSON schema, and the Performance page's renderer.

Speeds are never asserted here (they are what the benchmark reports); these
tests check that its counting is right and that its output is complete.
"""

import importlib.util
import json
import pathlib
import types

import keras
import pytest
import tensorflow as tf

import benchmarks
import mmtutorial as mt
from benchmarks import machine, run, timing
from benchmarks.flops import layer_forward_flops, model_flops

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def profiled_forward_flops(model, input_shape):
    """FLOPs of one forward pass as TensorFlow's own profiler counts them on the traced graph."""
    spec = tf.TensorSpec((1, *input_shape), tf.float32)
    graph = tf.function(lambda x: model(x)).get_concrete_function(spec).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops


def test_the_hand_count_of_convolutions_and_dense_layers_matches_tensorflows_profiler():
    # No biases and no activations: the profiler then counts the matrix products alone.
    model = keras.Sequential(
        [
            keras.Input((12, 10, 3)),
            keras.layers.Conv2D(8, 3, use_bias=False),
            keras.layers.Conv2D(4, (3, 2), strides=2, use_bias=False),
            keras.layers.Flatten(),
            keras.layers.Dense(7, use_bias=False),
        ]
    )
    counted = sum(layer_forward_flops(layer) for layer in model.layers)
    assert counted == profiled_forward_flops(model, (12, 10, 3))


def test_an_lstm_costs_four_gate_products_per_step():
    inputs = keras.Input((5, 6))
    lstm = keras.layers.LSTM(4)
    keras.Model(inputs, lstm(inputs))
    # per step: the input (6) and the previous state (4) times four gates of 4 units
    assert layer_forward_flops(lstm) == 5 * 2 * (4 * 4) * (6 + 4)


def test_the_first_layer_on_the_data_needs_no_input_gradient():
    task = mt.data.ShapeMaterialTask()
    model = mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes
    )
    flops = model_flops(model)
    layers = flops["layers"]
    assert set(layers) == {"conv1", "conv2", "conv3", "lstm", "hidden", "probabilities"}
    assert flops["forward"] == sum(layers.values())
    # conv1 reads the image: forward and weight gradient only. The LSTM reads a
    # trainable embedding, so it needs its input gradient like every later layer.
    assert flops["train_step"] == 3 * flops["forward"] - layers["conv1"]


def test_the_keys_are_the_ones_the_issue_fixed():
    # Spelled out here, not imported: readers' scripts depend on these names.
    assert benchmarks.KEYS == (
        "naive_samples_per_s",
        "pipeline_samples_per_s",
        "train_step_flops_per_s",
        "matmul_flops_per_s",
        "chapter_seconds",
        "book_seconds",
        "import_overhead_s",
        "cold_build_s",
        "warm_build_s",
        "device",
    )


def test_a_tiny_quick_run_writes_every_key(tmp_path, capsys):
    path = tmp_path / "out.json"
    figures = run.main(["--tiny", "--json", str(path)])
    written = json.loads(path.read_text())
    assert tuple(written) == benchmarks.KEYS + benchmarks.DETAIL_KEYS
    assert written == figures
    assert written["pipeline_samples_per_s"] > 0 and written["naive_samples_per_s"] > 0
    assert 0 < written["train_step_flops_per_s"] and 0 < written["matmul_flops_per_s"]
    assert written["cold_build_s"] is None and written["warm_build_s"] is None
    assert written["device"].startswith(("CPU: ", "GPU: "))
    # Every rate says what it measured: dtype, policy, batch, median, range and repeats.
    measured = written["measurements"]
    assert measured["naive"]["batch"] == 32 and measured["pipeline"]["batch"] == run.PIPELINE_BATCH
    for key in ("naive", "pipeline", "matmul_float32"):
        record = measured[key]
        assert record["dtype"] == "float32" == record["precision_policy"], key
        assert record["min"] <= record["median"] <= record["max"] and record["repeats"] >= 1, key
    # The limit is float32 whatever else ran, and the step's share is of that limit.
    assert written["matmul_flops_per_s"] == pytest.approx(
        measured["matmul_float32"]["median"], rel=1e-5
    )
    assert written["utilisation"] == pytest.approx(
        written["train_step_flops_per_s"] / written["matmul_flops_per_s"], rel=1e-3
    )
    peak = written["machine"]["peak"]["float32"]["flops_per_s"]
    assert peak is None or written["matmul_flops_per_s"] <= peak
    assert {row["part"].split(" (")[0] for row in written["profile"]} >= {
        "image encoder",
        "text encoder",
        "head",
        "tf.data input pipeline alone",
    }
    assert written["quick"] is True and written["quick_verdict"], "a quick run says how it compares"
    printed = capsys.readouterr().out
    assert "training step (recommended pipeline, float32)" in printed
    assert written["device"] in printed and "peak float32:" in printed


EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9B14
cpu MHz\t\t: 2596.142
flags\t\t: fpu sse sse2 avx fma avx2 avx512f avx512_bf16 avx512_vnni

processor\t: 1
model name\t: something else
cpu MHz\t\t: 1.0
flags\t\t: fpu
"""
SAPPHIRE = "model name\t: Intel(R) Xeon(R)\ncpu MHz\t\t: 2000.000\nflags\t\t: avx avx2 fma avx512f amx_bf16 amx_tile\n"
HASWELL = "model name\t: Intel(R) Core(TM) i7\ncpu MHz\t\t: 3000.000\nflags\t\t: avx avx2 fma\n"


def test_the_peak_is_cpus_times_flops_per_cycle_times_clock_from_the_flags():
    epyc = machine.describe(EPYC, affinity=2, quota=None, max_freq_khz=None)
    assert epyc["model"] == "AMD EPYC 9B14" and epyc["usable_cpus"] == 2.0
    assert epyc["clock_ghz"] == pytest.approx(2.596142)
    # AVX-512: 16 lanes x 2 FMA units x 2 FLOPs; AVX512-BF16 doubles it.
    assert epyc["peak"]["float32"]["flops_per_s"] == round(2 * 64 * 2.596142e9)
    assert epyc["peak"]["bfloat16"]["flops_per_s"] == round(2 * 128 * 2.596142e9)
    assert "2 CPUs x 64 FLOPs/cycle" in epyc["peak"]["float32"]["formula"]
    assert epyc["flags"] == ["avx", "avx2", "avx512_bf16", "avx512_vnni", "avx512f", "fma"]
    # AMX: 1,024 bfloat16 FLOPs per cycle; the cpufreq maximum wins over cpu MHz.
    amx = machine.describe(SAPPHIRE, affinity=4, quota=None, max_freq_khz="3500000")
    assert amx["clock_source"] == "cpufreq cpuinfo_max_freq"
    assert amx["peak"]["bfloat16"]["flops_per_s"] == round(4 * 1024 * 3.5e9)
    assert amx["peak"]["float32"]["flops_per_s"] == round(4 * 64 * 3.5e9)
    # AVX2 + FMA, no native bfloat16: bfloat16's peak is float32's.
    haswell = machine.describe(HASWELL, affinity=1, quota=None, max_freq_khz=None)
    assert haswell["peak"]["float32"]["flops_per_s"] == round(32 * 3e9)
    assert haswell["peak"]["bfloat16"]["flops_per_s"] == haswell["peak"]["float32"]["flops_per_s"]
    assert (
        len(machine.describe(EPYC, affinity=2, quota=None, max_freq_khz=None)["assumptions"]) == 3
    )


def test_the_usable_cpus_are_the_affinity_capped_by_the_cgroup_quota():
    assert machine.parse_cgroup_quota(cpu_max="max 100000") is None
    assert machine.parse_cgroup_quota(cpu_max="150000 100000") == 1.5
    assert machine.parse_cgroup_quota(quota_us="-1", period_us="100000") is None
    assert machine.parse_cgroup_quota(quota_us="200000", period_us="100000") == 2.0
    assert machine.usable_cpus(4, 1.5) == 1.5 and machine.usable_cpus(2, None) == 2.0
    capped = machine.describe(EPYC, affinity=8, quota=1.5, max_freq_khz=None)
    assert capped["usable_cpus"] == 1.5 and capped["threads"] == 1
    assert capped["peak"]["float32"]["flops_per_s"] == round(1.5 * 64 * 2.596142e9)
    with pytest.raises(ValueError, match="affinity must name at least one CPU; got 0"):
        machine.usable_cpus(0, None)
    with pytest.raises(ValueError, match=r"dtype must be 'float32' or 'bfloat16'; got 'int8'"):
        machine.flops_per_cycle({"avx2"}, "int8")


def test_a_rate_above_the_peak_is_an_error_that_names_it():
    machine.check_below_peak("x", 1e9, 2e9)
    machine.check_below_peak("x", 1e9, None)  # an unreadable clock gives no peak to check
    with pytest.raises(machine.PeakExceededError, match=r"float32 matrix product: measured 3\.0 "):
        machine.check_below_peak("float32 matrix product", 3e9, 2e9)


def test_the_benchmark_stops_on_a_matrix_product_above_the_peak(monkeypatch):
    described = machine.describe(EPYC, affinity=1, quota=None, max_freq_khz="1")  # 1 kHz: tiny peak
    monkeypatch.setattr(machine, "describe", lambda: dict(described))
    with pytest.raises(machine.PeakExceededError, match="float32 matrix product: measured"):
        run.measure(tiny=True, quick=True, log=lambda message: None)


class FakeClock:
    """A clock that advances by the next duration of ``durations`` on every call of the timed function."""

    def __init__(self, durations):
        self.durations, self.now, self.calls = list(durations), 0.0, 0

    def __call__(self):
        return self.now

    def work(self):
        self.calls += 1
        self.now += self.durations.pop(0)


def test_timing_warms_up_untimed_and_stops_when_the_median_settles():
    clock = FakeClock([100.0, 1.0, 1.25, 1.0, 1.0, 1.0, 9.0, 9.0])
    result = timing.repeat_until_stable(
        clock.work, warmup=1, min_repeats=3, max_repeats=8, window=2, tolerance=0.05, clock=clock
    )
    # The 100 s warm-up (tracing) is not among the times; medians 1.0, 1.0 agree after 4 calls.
    assert result["seconds"] == [1.0, 1.25, 1.0, 1.0] and result["stable"]
    assert (result["median"], result["min"], result["max"]) == (1.0, 1.0, 1.25)
    assert clock.calls == 5


def test_timing_that_never_settles_stops_at_the_cap_and_says_so():
    clock = FakeClock([1.0, 1.0, 4.0, 16.0, 64.0, 256.0])
    result = timing.repeat_until_stable(
        clock.work, warmup=0, min_repeats=2, max_repeats=6, window=3, tolerance=0.01, clock=clock
    )
    assert result["repeats"] == 6 and not result["stable"]
    rate = timing.rate(result, 100.0)
    assert rate["min"] == 100 / 256 and rate["max"] == 100.0
    with pytest.raises(ValueError, match="min_repeats=3, max_repeats=2"):
        timing.repeat_until_stable(clock.work, min_repeats=3, max_repeats=2)


def test_quick_ratios_within_15_percent_of_the_full_run_or_it_says_it_cannot():
    full = {"pipeline over naive": 2.0, "training step over the float32 limit": 0.30}
    near = {"pipeline over naive": 2.2, "training step over the float32 limit": 0.29}
    far = {"pipeline over naive": 1.0, "training step over the float32 limit": 0.29}
    tight = {name: 0.05 for name in full}
    lines = timing.quick_verdict(near, tight, full)
    assert len(lines) == 2 and all("agrees within 15%" in line for line in lines)
    lines = timing.quick_verdict(far, tight, full)
    assert any(
        "pipeline over naive: quick 1.00, full 2.00" in line and "NOT" in line for line in lines
    )
    # Repeats that spread wider than 15%, or no full run to compare with: it says so.
    wide = dict(tight, **{"pipeline over naive": 0.4})
    lines = timing.quick_verdict(near, wide, full)
    assert any(line.startswith("--quick cannot promise pipeline over naive") for line in lines)
    assert any("cannot check" in line for line in timing.quick_verdict(near, tight, None))
    spread = timing.ratio_spread(
        {"median": 2.0, "min": 1.9, "max": 2.1}, {"median": 1.0, "min": 1.0, "max": 1.0}
    )
    assert spread == pytest.approx(0.1)


def test_quick_times_the_same_epochs_as_the_full_run_with_fewer_repeats():
    # Same samples per timed epoch, so each epoch carries the same fixed costs and the ratios
    # can agree; only the repeat rule (and the skipped variants and book builds) differ.
    quick, full = run.settings(quick=True), run.settings(quick=False)
    assert quick["samples"] == full["samples"]
    assert quick["max_repeats"] <= full["max_repeats"]
    assert quick["tolerance"] >= full["tolerance"]


def test_a_quick_run_finds_the_full_run_of_the_same_machine(tmp_path):
    described = machine.describe(EPYC, affinity=2, quota=None, max_freq_khz=None)
    figures = dict(
        naive_samples_per_s=1000.0,
        pipeline_samples_per_s=2000.0,
        train_step_flops_per_s=3e10,
        matmul_flops_per_s=1e11,
        device=f"CPU: AMD EPYC 9B14 (TensorFlow {tf.__version__})",
        quick=False,
        machine=described,
    )
    (tmp_path / "epyc.json").write_text(json.dumps(figures))
    assert run.full_run_for(described, tmp_path) == {
        "pipeline over naive": 2.0,
        "training step over the float32 limit": 0.3,
    }
    other = dict(described, usable_cpus=4.0)
    assert run.full_run_for(other, tmp_path) is None
    (tmp_path / "epyc.json").write_text(json.dumps(dict(figures, quick=True)))
    assert run.full_run_for(described, tmp_path) is None


def load_renderer():
    spec = importlib.util.spec_from_file_location(
        "benchmark_table", ROOT / "book" / "_ext" / "benchmark_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_results_have_every_key_the_page_renders():
    files = sorted(RESULTS.glob("*.json"))
    assert files, "benchmarks/results/ holds no run for the Performance page"
    renderer = load_renderer()
    assert renderer.KEYS is benchmarks.KEYS
    for path in files:
        figures = json.loads(path.read_text())
        assert tuple(figures)[: len(benchmarks.KEYS)] == benchmarks.KEYS, path.name
        assert set(figures) <= set(benchmarks.KEYS + benchmarks.DETAIL_KEYS + ("test_phases",))
        assert figures["chapter_seconds"], f"{path.name}: no chapter times"
        rows = dict(renderer.headline_rows(figures))
        ratio = figures["pipeline_samples_per_s"] / figures["naive_samples_per_s"]
        assert rows["Pipeline over the article's pattern"] == f"{ratio:.2f}x"
        if "machine" not in figures:
            # Written before figures said their dtype: the page says it was not recorded.
            assert "Dense matrix product, dtype not recorded (GFLOP/s)" in rows


def test_the_page_shows_the_limit_beside_its_peak_the_settings_and_the_profile():
    renderer = load_renderer()
    described = machine.describe(EPYC, affinity=2, quota=1.5, max_freq_khz=None)

    def record(median, unit="samples/s", batch=32, dtype="float32"):
        return dict(
            what="w",
            unit=unit,
            dtype=dtype,
            precision_policy=dtype,
            batch=batch,
            median=median,
            min=0.9 * median,
            max=1.1 * median,
            repeats=5,
            stable=True,
        )

    figures = dict(
        naive_samples_per_s=1000.0,
        pipeline_samples_per_s=2000.0,
        train_step_flops_per_s=6e10,
        matmul_flops_per_s=2e11,
        chapter_seconds={"code_walkthrough": 10.0, "fusion_layers": 20.0},
        book_seconds=30.0,
        import_overhead_s=0.1,
        cold_build_s=None,
        warm_build_s=None,
        device="CPU: AMD EPYC 9B14",
        quick=True,
        machine=described,
        measurements={
            "naive": record(1000.0),
            "pipeline": record(2000.0, batch=256),
            "matmul_float32": record(2e11, "FLOP/s", None),
            "matmul_bfloat16": record(3e11, "FLOP/s", None, "bfloat16"),
            "variants": {},
        },
        target_utilisation=0.4,
        profile=[
            dict(
                part="image encoder",
                ms_per_batch=5.0,
                ms_range=[4.0, 6.0],
                repeats=3,
                flops_per_s=1e10,
            )
        ],
        test_phases={"unit tests": 150.0},
    )
    rows = dict(renderer.headline_rows(figures))
    assert rows["Usable CPUs (affinity; cgroup quota)"] == "1.5 (2; 1.5)"
    assert rows["Dense matrix product, float32, the limit (GFLOP/s)"] == (
        "200.0 (180.0-220.0, 5 repeats)"
    )
    assert rows["Theoretical float32 peak (GFLOP/s)"] == f"{1.5 * 64 * 2.596142:,.1f}"
    assert rows["Training step over the float32 limit (target 40%)"] == "30%"
    assert "Dense matrix product, bfloat16, its own figure (GFLOP/s)" in rows
    assert rows["Training, the book's pipeline (samples/s): batch 256, float32"].startswith("2,000")
    assert [row[1] for row in renderer.measurement_rows(figures)][:3] == ["float32"] * 3
    assert renderer.peak_rows(figures)[0][1].startswith("1.5 CPUs x 64 FLOPs/cycle")
    assert renderer.profile_rows(figures) == [["image encoder", "5.00 (4.00-6.00)", "10.0"]]
    assert renderer.phase_rows(figures) == [["unit tests", "150.0 s"]]


def test_the_directive_renders_an_old_and_a_new_file_side_by_side(tmp_path):
    renderer = load_renderer()
    folder = tmp_path / "benchmarks" / "results"
    folder.mkdir(parents=True)
    old = json.loads((RESULTS / "cpu.json").read_text())
    for key in benchmarks.DETAIL_KEYS:
        old.pop(key, None)
    (folder / "old.json").write_text(json.dumps(old))
    new = dict(old, device="CPU: new", machine=machine.describe(EPYC, 2, None, None))
    new["profile"] = [
        dict(part="head", ms_per_batch=1.0, ms_range=[1.0, 1.0], repeats=3, flops_per_s=None)
    ]
    (folder / "new.json").write_text(json.dumps(new))

    class Directive(renderer.BenchmarkTable):
        env = types.SimpleNamespace(srcdir=str(tmp_path), note_dependency=lambda path: None)

    directive = Directive.__new__(Directive)
    directive.arguments = ["benchmarks/results"]
    tables = directive.run()
    text = [table.astext() for table in tables]
    # The headline table has a column per file; rows only the new file has are blank in the old.
    assert "Usable CPUs (affinity; cgroup quota)" in text[0] and "CPU: new" in text[0]
    assert "dtype not recorded" in text[0] and "walkthrough" in text[1]
    assert any("Theoretical peak: CPU: new" in t and "64 FLOPs/cycle" in t for t in text)
    assert any("The training step, part by part" in t and "head" in t for t in text)


def test_the_renderer_names_a_file_that_lacks_a_key(tmp_path):
    renderer = load_renderer()
    (tmp_path / "machine.json").write_text(json.dumps({"device": "CPU"}))
    with pytest.raises(Exception, match=r"machine\.json lacks the keys \['naive_samples_per_s'"):
        renderer.load(tmp_path)


def test_the_suites_phases_add_up_to_the_session_and_reach_the_benchmark(tmp_path):
    from conftest import UNIT_PHASE, phase_table

    setup = tmp_path / ".setup-seconds"
    setup.write_text("95\n")
    phases = phase_table({"book": 60.0, UNIT_PHASE: 300.0, "notebooks": 200.0}, 600.0, setup)
    assert list(phases) == [
        "set-up (make's .venv, last run)",
        "collection and start-up",
        UNIT_PHASE,
        "notebooks",
        "book",
        "pytest in all",
    ]
    assert phases["collection and start-up"] == 40.0 and phases["pytest in all"] == 600.0
    assert phases["set-up (make's .venv, last run)"] == 95.0
    written = tmp_path / "phases.json"
    written.write_text(json.dumps(phases))
    assert run.read_test_phases(written) == phases
    written.write_text(json.dumps({"book": "slow"}))
    with pytest.raises(SystemExit, match=r"phases\.json must map phase names to seconds"):
        run.read_test_phases(written)
    with pytest.raises(SystemExit, match=r"cannot read .*missing\.json"):
        run.read_test_phases(tmp_path / "missing.json")


def test_test_phases_can_be_added_to_a_full_run_afterwards(tmp_path, capsys):
    figures = json.loads((RESULTS / "cpu.json").read_text())
    results = tmp_path / "cpu.json"
    results.write_text(json.dumps(figures))
    phases = tmp_path / "test-phases.json"
    phases.write_text(json.dumps({"unit tests and doctests": 300.0, "pytest in all": 900.0}))
    run.main(["--add-test-phases", "--test-phases", str(phases), "--json", str(results)])
    written = json.loads(results.read_text())
    assert written["test_phases"] == {"unit tests and doctests": 300.0, "pytest in all": 900.0}
    assert {key: written[key] for key in figures if key != "test_phases"} == {
        key: value for key, value in figures.items() if key != "test_phases"
    }
    with pytest.raises(SystemExit):
        run.main(["--add-test-phases", "--json", str(results)])


def test_the_performance_pages_reading_of_the_profile_holds_for_every_committed_full_run():
    # book/performance.md, "What holds the training step back": the step as model.fit
    # runs it, batch in memory, is slower than the forward and backward passes.
    checked = 0
    for path in sorted(RESULTS.glob("*.json")):
        figures = json.loads(path.read_text())
        if figures.get("quick", True) or not figures.get("profile"):
            continue
        parts = {row["part"].split(",")[0]: row["ms_per_batch"] for row in figures["profile"]}
        step, passes = parts["model.fit step"], parts["whole model"]
        assert step > passes, (path.name, step, passes)
        checked += 1
    assert checked, "no full run with a profile in benchmarks/results"
