"""How good the models are and why they answer what they do: metrics, robustness curves, the drawn-digit and
out-of-style sets and the generalisation scores, explanations, the neighbour index, the scores on people's held-out drawings and the comparisons the
dashboard shows.

May import `pipelines.store`, `pipelines.models`, `pipelines.data`, `pipelines.feedback` and `pipelines.reading`.
"""
