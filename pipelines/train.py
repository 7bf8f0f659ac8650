"""`python -m pipelines.train`: the training command, kept at this path (the code is in `pipelines.training.train`)."""

import sys

from pipelines.training.train import main

if __name__ == "__main__":
    sys.exit(main())
