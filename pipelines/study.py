"""`python -m pipelines.study`: learning curves and hyperparameter sweeps (the code is in `pipelines.studies`)."""

import sys

from pipelines.studies.run import main

if __name__ == "__main__":
    sys.exit(main())
