"""Training runs: fit, evaluate and store every model, in this process or as a background job.

May import `pipelines.evaluation` and every stage below it.
"""
