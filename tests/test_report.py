"""Benchmark reporting: generated sections of BENCHMARKS.md, and the bench command end to end."""

from __future__ import annotations

from pathlib import Path

from pipelines.benchmarks import bench
from pipelines.evaluation.report import update_markdown_section


def test_a_section_is_appended_then_replaced_leaving_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nHand-written notes.\n")
    update_markdown_section(path, "training-full", "first table")
    update_markdown_section(path, "drawn", "drawn table")
    update_markdown_section(path, "training-full", "second table")
    text = path.read_text()
    assert "Hand-written notes." in text and "drawn table" in text
    assert "second table" in text and "first table" not in text
    assert text.count("<!-- begin training-full -->") == 1


def test_bench_trains_measures_and_records(tmp_path: Path, capsys) -> None:
    out = tmp_path / "BENCHMARKS.md"
    assert bench.main(["--profile", "quick", "--models", "rf", "--data", "sample",
                       "--artifacts", str(tmp_path / "artifacts"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "peak memory MB" in printed and "latency ms after load" in printed
    text = out.read_text()
    assert "## Training benchmark: `quick` profile" in text
    assert "| rf |" in text
    assert "Command: `python -m pipelines.benchmarks.bench --profile quick" in text
