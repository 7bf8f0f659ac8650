"""Benchmark: each model served by the library it was trained with against its ONNX graph in ONNX Runtime.

    python -m pipelines.benchmarks.serving       # the models in artifacts/; the table into BENCHMARKS.md

Every (model, format) is measured in a fresh process, so imports are counted: seconds to import and load, the
resident memory it adds to an empty Python once loaded and answering single images, the median time of one
image, and how closely its probabilities match the native model's on the test images. The forest has no graph in its runs (see
`ForestClassifier.exports_onnx`); one is exported here, into a temporary folder, so the choice stays measured.
"""

from __future__ import annotations

import multiprocessing
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import config
from pipelines.benchmarks.command import benchmark_parser, provenance, trained_models
from pipelines.config import ONNX
from pipelines.evaluation.report import markdown_table, text_table, update_markdown_section
from pipelines.store.artifacts import ArtifactStore

SECTION = "serving"
COLUMNS = [
    ("model", lambda row: row["model"]),
    ("served by", lambda row: row["format"]),
    ("import + load s", lambda row: f"{row['load_seconds']:.2f}"),
    ("memory added MB", lambda row: f"{row['added_mb']:,.0f}"),
    ("one image, median ms", lambda row: f"{row['latency_ms']:.2f}"),
    ("same digit as native", lambda row: f"{row['same_label']:.2%}"),
    ("largest probability gap", lambda row: f"{row['max_gap']:.1e}"),
    ("TensorFlow imported", lambda row: "yes" if row["tensorflow"] else "no"),
]


def _measure(name: str, folder: str, serving: str, images: np.ndarray, reference: np.ndarray | None,
             single: int) -> dict[str, Any]:
    """Runs in a fresh process: load one model one way, time it, and compare its answers with `reference` (the
    native model's; None when this is the native model, whose probabilities are then returned)."""
    import psutil

    from pipelines.store.artifacts import Run, read_json
    from pipelines.store.registry import read_classifier

    before = psutil.Process().memory_info().rss
    started = time.perf_counter()
    run = Run(name, Path(folder), read_json(Path(folder) / "manifest.json"))
    classifier = read_classifier(name, run, serving)
    classifier.predict_proba(images[:1])
    load_seconds = time.perf_counter() - started
    latencies = []
    for image in images[:single]:
        clock = time.perf_counter()
        classifier.predict_proba(image[None])
        latencies.append((time.perf_counter() - clock) * 1000)
    added = psutil.Process().memory_info().rss - before  # before the big batch below, which grows the allocators
    probabilities = classifier.predict_proba(images)
    compared = probabilities if reference is None else reference
    return {"model": name, "format": classifier.engine,
            "load_seconds": load_seconds, "added_mb": added / 2**20,
            "latency_ms": float(np.median(latencies)),
            "same_label": float((probabilities.argmax(1) == compared.argmax(1)).mean()),
            "max_gap": float(np.abs(probabilities - compared).max()), "tensorflow": "tensorflow" in sys.modules,
            "probabilities": probabilities if reference is None else None}


def _in_fresh_process(*args: Any) -> dict[str, Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_measure, args)


def with_graph(model: Any, images: np.ndarray, scratch: Path) -> Path:
    """The model's run folder if it has an ONNX graph; else a copy of it with one exported into it (the forest),
    to measure what serving it so would cost."""
    if (model.run.path / ONNX.filename).is_file():
        return model.run.path
    from pipelines.models.portable import export_onnx  # not at the top: the measured processes import this module

    copy = scratch / model.run.run_id
    shutil.copytree(model.run.path, copy)
    check = export_onnx(model.classifier, copy, images, model.predict_proba(images))
    if not check.served:
        raise RuntimeError(f"the {model.name} graph was not written: {check.reason}")
    return copy


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__, data=False)
    parser.add_argument("--images", type=int, default=2000, help="test images compared with the native answers")
    parser.add_argument("--single", type=int, default=200, help="single-image calls timed")
    args = parser.parse_args(argv)
    config.configure_logging()
    models = trained_models(args.artifacts)
    if not models:
        return 1
    dataset = ArtifactStore(args.artifacts).load_dataset(next(iter(models.values())).manifest["data"]["fingerprint"])
    images = dataset["test_images"][: args.images].astype(np.float32) / 255.0
    rows = []
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as scratch:
        for name, model in models.items():
            folder = str(with_graph(model, images, Path(scratch)))
            native = _in_fresh_process(name, folder, "native", images, None, args.single)
            served = _in_fresh_process(name, folder, "onnx", images, native.pop("probabilities"), args.single)
            for row in (native, served):
                rows.append(row)
                print(text_table([row], COLUMNS).splitlines()[-1], flush=True)
    print(text_table(rows, COLUMNS))
    if args.out:  # BENCHMARKS.md unless told otherwise, like every benchmark
        facts = provenance(str(args.artifacts), "python -m pipelines.benchmarks.serving " + shlex.join(argv or []),
                           [{"model": name, "run": model.run.run_id} for name, model in models.items()])
        update_markdown_section(args.out, SECTION, "\n".join(
            ["## Serving: the training library or ONNX Runtime", "", *facts, "", markdown_table(rows, COLUMNS)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
