"""Concurrent writers into one feedback store: rows kept and the time of one record.

    python -m pipelines.benchmarks.feedback                       # 4 processes × 250 records, a fresh SQLite file
    python -m pipelines.benchmarks.feedback --url postgresql+psycopg://user@host/db --processes 8

Prints the rows found against the rows written, and the median and 95th
percentile of one `FeedbackStore.record` call as each writer saw it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from pipelines.feedback import FeedbackStore
from pipelines.feedback.concurrency import concurrent_writes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=None, help="an empty database's URL; default: a fresh temporary SQLite file")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--records", type=int, default=250, help="per process")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="feedback-bench-") as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'feedback.db'}"
        report = concurrent_writes(url, args.processes, args.records)
        store = FeedbackStore(url)
        stored, expected = store.count(), args.processes * args.records
        print(f"{store.backend}: {args.processes} processes × {args.records} records at once")
        print(f"rows stored: {stored:,} of {expected:,} written ({len(set(report.ids)):,} distinct ids); "
              f"{'none lost' if stored == expected == len(set(report.ids)) else 'ROWS LOST'}")
        print(f"one record: median {np.median(report.milliseconds):.2f} ms, "
              f"95th percentile {np.percentile(report.milliseconds, 95):.2f} ms, "
              f"max {report.milliseconds.max():.1f} ms; wall time {report.wall_seconds:.1f} s")
        store.close()
    return 0 if stored == expected else 1


if __name__ == "__main__":
    sys.exit(main())
