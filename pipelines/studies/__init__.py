"""Studies: hundreds of fits that show how the models got where they are — learning curves (models × training
sizes × seeds) and hyperparameter sweeps cross-validated on the training set — run on local processes (joblib)
or a Dask cluster, and kept as versioned, checksummed study artifacts. It sits beside `pipelines.training` and
may import `pipelines.evaluation` and every stage below it (store, models, data, config, progress).
"""
