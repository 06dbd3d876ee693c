"""The benchmark suite (dualtape.bench): the runner on tiny settings writes JSON and Markdown with the
machine and every table, the progress bar, plots, the training-step skip row, and `dualtape bench` end to end."""

import dataclasses
import importlib.util
import io
import json
import re
import subprocess
import sys

import pytest

from dualtape.bench import WORKLOADS, Settings, eager, plots, report, runner, scaling

TINY = Settings(rounds=2, target_s=0.0005, repeats=1, quick=True, peers=False)


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory):
    """One run of two small workloads, written out: (report dict, paths, progress text, echoed text)."""
    out = tmp_path_factory.mktemp("results")
    progress, echoed = io.StringIO(), []
    data = runner.run_suite(["tiny_elementwise", "compile_time"], TINY, progress, echo=echoed.append)
    paths = report.write(data, out, report.file_stem(data, WORKLOADS))
    return data, paths, progress.getvalue(), echoed


def test_json_holds_the_machine_settings_and_every_table(suite_run):
    data, paths, _, _ = suite_run
    json_path = next(p for p in paths if p.suffix == ".json")
    assert json_path.name.endswith("-tiny_elementwise-compile_time-quick.json")
    saved = json.loads(json_path.read_text())
    assert saved["suite"] == "dualtape bench" and saved["quick"] is True
    assert {"date", "platform", "cpu", "cores", "python", "numpy", "dualtape", "peers", "threads"} <= set(
        saved["machine"])
    assert saved["settings"]["rounds"] == 2 and saved["machine"]["peers"] == {}  # peers switched off
    assert list(saved["workloads"]) == ["tiny_elementwise", "compile_time"]
    tiny = saved["workloads"]["tiny_elementwise"]
    assert tiny["error"] is None and tiny["skipped"] is None and tiny["seconds"] > 0
    chain, grads = tiny["tables"]
    assert chain["columns"] == ["contender", "time per call", "vs NumPy by hand"]
    assert [row[0] for row in chain["rows"]] == ["dualtape dt.jit", "NumPy by hand", "dnp eager (op by op)"]
    assert grads["columns"][:5] == ["contender", "f x (8,)", "grad x (8,)", "grad/f", "grad vs NumPy grad by hand"]
    # every ratio in a table comes from the raw medians of the same run
    times = tiny["data"]["chain50_s"]
    assert chain["rows"][0][2] == f"{times['dualtape dt.jit'] / times['NumPy by hand']:.2f}"
    assert chain["rows"][1][2] == "1.00"
    assert set(tiny["grad_over_f"]) == {"sum(sin x cos x + x^2 e^-x), x (8,)",
                                        "sum(sin x cos x + x^2 e^-x), x (100000,)"}
    compiled = saved["workloads"]["compile_time"]
    assert compiled["data"]["equations"] == 1000 and compiled["data"]["first_call_s"]["dualtape dt.jit"] > 0


def test_markdown_has_the_machine_table_and_the_workload_tables(suite_run):
    data, paths, _, echoed = suite_run
    text = next(p for p in paths if p.suffix == ".md").read_text()
    assert text.startswith("# dualtape benchmark suite, ")
    for row in ("| platform |", "| CPU |", "| cores |", "| Python |", "| NumPy |", "| date |", "| threads |"):
        assert row in text
    assert "## tiny_elementwise: " in text and "## compile_time: " in text
    assert "| contender | time per call | vs NumPy by hand |\n|---|---|---|\n| dualtape dt.jit | " in text
    assert "| dualtape dt.jit | " in text.split("## compile_time")[1]
    assert echoed == [report.workload_markdown(w) for w in data["workloads"].values()]


def test_targets_are_marked_met_or_missed_in_notes_and_tables():
    w = {"name": "w", "title": "t", "error": None, "skipped": None,
         "tables": [{"title": "", "columns": ["case", "ratio", "ratio (target <= 3)"],
                     "rows": [["small", "9.00", "2.50"], ["large", "1.00", "3.45"], ["odd", "1.00", "n/a"]]}],
         "notes": ["grad/f (fori_loop): 3.45 (target <= 3); compiled grad / hand-written adjoint: 1.10 "
                   "(target <= 1.2).",
                   "dualtape eager / PyTorch eager: 1.05 (target <= 1: not slower than PyTorch).",
                   "dt.jit / NumPy by hand: 0.950 (target <= 1.2).", "No target here: 3.45."]}
    text = report.workload_markdown(w)
    assert "| small | 9.00 | 2.50 met |" in text and "| large | 1.00 | 3.45 MISSED |" in text  # only that column
    assert "| odd | 1.00 | n/a |" in text
    assert ("grad/f (fori_loop): 3.45 (target <= 3) MISSED; compiled grad / hand-written adjoint: 1.10 "
            "(target <= 1.2) met.") in text
    assert "1.05 (target <= 1: not slower than PyTorch) MISSED." in text
    assert "0.950 (target <= 1.2) met." in text and "No target here: 3.45.\n" in text
    assert report.verdict(3.0, "<=", 3) == report.MET and report.verdict(3.01, "<", 3) == report.MISSED


def test_compile_scaling_times_each_stage_for_each_program_length(monkeypatch):
    monkeypatch.setattr(scaling, "QUICK_SIZES", (200, 2_000))
    monkeypatch.setattr(scaling, "QUICK_GRAD_SIZES", (200,))
    result = scaling.compile_scaling(TINY)
    assert "compile_scaling" in WORKLOADS and result.error is None
    (table,) = result.tables
    assert table.columns[3:7] == ["trace (s)", "optimise (s)", "emit + compile (s)", "first run (s)"]
    assert [row[:3] for row in table.rows[:2]] == [["dt.jit(f)", "200", "200"], ["dt.jit(f)", "2,000", "2,000"]]
    grad = result.data["grad"][200]
    assert table.rows[2][:3] == ["dt.jit(dt.grad(f))", "200", f"{grad['equations']:,}"] and grad["equations"] > 400
    for run in (*result.data["forward"].values(), grad):
        assert list(run["cpu_s"]) == list(run["wall_s"]) == ["trace", "optimise", "emit + compile", "first run"]
        assert all(s >= 0 for s in run["cpu_s"].values()) and sum(run["wall_s"].values()) > 0
    (note,) = result.notes
    assert re.fullmatch(r"CPU time per equation at 2,000 / at 200 equations: [\d.]+ \(target <= 2: linear\)\.",
                        note)
    assert result.plots[0]["x"] == [200, 2_000] and len(result.plots[0]["series"]["dualtape dt.jit"]) == 2


def test_progress_bar_lines_name_each_workload_and_the_total_time(suite_run):
    progress = suite_run[2].splitlines()
    assert progress[0] == "[" + "." * 20 + "] 1/2 tiny_elementwise"
    assert progress[1] == "[" + "#" * 10 + "." * 10 + "] 2/2 compile_time"
    assert progress[2].startswith("[" + "#" * 20 + "] 2/2 done in ") and progress[2].endswith(" s")


def test_progress_bar_redraws_in_place_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    bar = runner.Progress(4, screen, width=8)
    bar.update(0, "first_workload")
    bar.update(2, "x")
    bar.clear()
    bar.finish(1.5)
    assert "\n" not in screen.getvalue()[:-1]  # one line, redrawn
    frames = screen.getvalue().split("\r")
    assert frames[1] == "[........] 1/4 first_workload"
    assert frames[2] == "[####....] 3/4 x".ljust(len(frames[1]))  # the longer line before is overwritten
    assert frames[-1] == "[########] 4/4 done in 1.5 s\n"


def test_plots_are_png_files(tmp_path):
    pytest.importorskip("matplotlib")
    data = {"workloads": {"w": {"plots": [{"name": "sizes", "kind": "line", "title": "t", "x": [8, 64, 512],
                                           "xlabel": "n", "ylabel": "us", "log": True,
                                           "series": {"dualtape jacfwd": [1.0, 2.0, 8.0], "peer": [2.0, 2.0, 2.0]}}],
                                "grad_over_f": {"MLP": {"dualtape": 2.5, "NumPy by hand": 2.0}}}}}
    paths, note = plots.write_plots(data, tmp_path, "run")
    assert note is None
    assert [p.name for p in paths] == ["run-sizes.png", "run-grad_over_f.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_plots_are_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    data = {"workloads": {"w": {"plots": [], "grad_over_f": {"MLP": {"dualtape": 2.5}}}}}
    paths, note = plots.write_plots(data, tmp_path, "run")
    assert paths == [] and "matplotlib is not installed" in note and "dualtape[bench]" in note
    assert list(tmp_path.iterdir()) == []


def test_training_step_is_a_not_available_row_without_nn(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(eager.importlib.util, "find_spec",
                        lambda name, *a: None if name == "dualtape.nn" else real(name, *a))
    result = eager.training_step(TINY)
    assert result.skipped == "dualtape.nn / dualtape.optim are not built yet"
    rows = result.tables[0].rows
    assert rows[0][0] == "dualtape eager" and rows[0][1].startswith("not available: dualtape.nn")
    assert rows[1][0] == "dualtape dt.compile" and rows[1][1].startswith("not available")
    assert "Skipped: dualtape.nn" in report.workload_markdown(dataclasses.asdict(result))


def test_a_failing_workload_is_reported_and_the_others_still_run(monkeypatch):
    def broken(settings):
        """A workload that breaks."""
        raise RuntimeError("lost the numbers")

    monkeypatch.setitem(runner.WORKLOADS, "broken", broken)
    stream = io.StringIO()
    data = runner.run_suite(["broken", "training_step"], TINY, stream)
    failed = data["workloads"]["broken"]
    assert failed["error"] == "RuntimeError: lost the numbers" and failed["title"] == "A workload that breaks."
    assert "Traceback" in stream.getvalue() and "2/2 training_step" in stream.getvalue()
    assert data["workloads"]["training_step"]["tables"]
    assert "**Failed:** `RuntimeError: lost the numbers`" in report.markdown(data)


def test_unknown_workload_names_are_refused(capsys):
    assert runner.main(only=["tiny_elementwise", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown workload(s): nope" in err and "mlp_grad" in err


def test_default_output_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.default_out() == tmp_path / "dualtape-bench-results"
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "src" / "dualtape").mkdir(parents=True)
    assert runner.default_out() == tmp_path / "benchmarks" / "results"


def test_dualtape_bench_end_to_end(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "dualtape", "bench", "--quick", "--only", "tiny_elementwise",
                             "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "[" + "#" * 20 + "] 1/1 done in " in result.stderr
    assert "## tiny_elementwise: " in result.stdout and "| dualtape dt.jit | " in result.stdout
    assert re.search(r"dt\.jit / NumPy by hand: [\d.]+ \(target <= 1\.2\) (met|MISSED)\.", result.stdout)
    written = sorted(p.name for p in out.iterdir())
    stem = next(name for name in written if name.endswith(".md"))[:-3]
    assert stem.endswith("-tiny_elementwise-quick") and f"{stem}.json" in written
    saved = json.loads((out / f"{stem}.json").read_text())
    assert saved["workloads"]["tiny_elementwise"]["error"] is None
    if importlib.util.find_spec("matplotlib") is not None:
        assert f"{stem}-grad_over_f.png" in written
    else:
        assert "plots: skipped, matplotlib is not installed" in result.stdout
