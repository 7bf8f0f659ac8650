"""The data the models learn from: MNIST sources (OpenML, IDX folders, the bundled sample) and varied copies.

May import `pipelines.reading` (varied copies go through the same front end as drawings) and `pipelines.progress`.
"""
