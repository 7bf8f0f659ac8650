"""How long the "Your drawings" page takes to render with 10,000 labelled drawings stored.

    .venv/bin/python scripts/bench_drawings_page.py [--drawings 10000] [--artifacts DIR]

Fills a fresh SQLite store with real MNIST digits (the bundled sample, cycled) answered by three synthetic
models (random probabilities, right about 90 % of the time), then runs the page in
Streamlit's AppTest: on the first visit (page imports and store read), after one more drawing (the store read
again) and unchanged (cached). Prints the three times.
A script, not a module of `pipelines/`: it drives Streamlit, which `pipelines/` never imports.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines import config  # noqa: E402
from pipelines.data.sources import load_sample  # noqa: E402
from pipelines.feedback import FeedbackStore  # noqa: E402
from pipelines.serving.settings import ARTIFACTS_ENV  # noqa: E402

MODELS = ("svm", "rf", "cnn")
RIGHT_SHARE = 0.9
PAGE_SECONDS = 600


def fill(store: FeedbackStore, count: int, seed: int = config.SEED) -> None:
    """`count` labelled real digits with three models' answers, recorded one by one as the Draw page would."""
    sample = load_sample()
    images = np.concatenate([sample.train_images, sample.test_images]).astype(np.float32) / 255
    labels = np.concatenate([sample.train_labels, sample.test_labels])
    rng = np.random.default_rng(seed)
    for index in range(count):
        label = int(labels[index % len(labels)])
        probabilities = {}
        for model in MODELS:
            guess = label if rng.random() < RIGHT_SHARE else int(rng.integers(config.N_CLASSES))
            vector = rng.dirichlet(np.full(config.N_CLASSES, 0.3))
            vector[guess] += 2.0
            probabilities[model] = vector / vector.sum()
        store.record(images[index % len(images)], label, {m: int(p.argmax()) for m, p in probabilities.items()},
                     confidences={m: float(p.max()) for m, p in probabilities.items()}, probabilities=probabilities,
                     session_id=f"bench-{index % 40}", source="canvas", mode="digit")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawings", type=int, default=10_000)
    parser.add_argument("--artifacts", type=Path, default=None, help="models to load (default: none, an empty folder)")
    args = parser.parse_args(argv)
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory(prefix="drawings-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'feedback.db'}"
        started = time.perf_counter()
        fill(FeedbackStore(url), args.drawings)
        print(f"stored {args.drawings:,} labelled drawings in {time.perf_counter() - started:.1f} s")
        artifacts = args.artifacts or Path(folder) / "artifacts"
        artifacts.mkdir(exist_ok=True)
        os.environ.update({ARTIFACTS_ENV: str(artifacts.resolve()), config.FEEDBACK_URL_ENV: url})
        app = AppTest.from_file(str(config.PROJECT_ROOT / "dashboard.py"), default_timeout=PAGE_SECONDS).run()
        app.switch_page("app_pages/drawings.py")
        timings = []
        for step in ("first visit", "after one more drawing", "unchanged"):
            if step == "after one more drawing":
                fill(FeedbackStore(url), 1, seed=config.SEED + 1)
            started = time.perf_counter()
            app.run()
            timings.append(f"{time.perf_counter() - started:.2f} s {step}")
            if app.exception:
                print(f"the page failed: {[e.value for e in app.exception]}", file=sys.stderr)
                return 1
        shown = next(m.value for m in app.metric if m.label == "Labelled drawings")
        print(f"'Your drawings' page with {shown} drawings: {', '.join(timings)} "
              "(one AppTest run of the router and the page each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
