"""`python -m pipelines.benchmarks.load`: see command.py."""

import sys

from pipelines.benchmarks.load.command import main

sys.exit(main())
