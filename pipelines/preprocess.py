"""The public front end, kept at this import path for outside callers: a drawing or photo in, MNIST-like 28×28 out.

The code lives in `pipelines.reading`.
"""

from pipelines.reading.canvas import FRONT_END, FrontEndConfig, canvas_to_mnist, ink_intensity, naive_resize
from pipelines.reading.segment import split_digits

__all__ = ["FRONT_END", "FrontEndConfig", "canvas_to_mnist", "ink_intensity", "naive_resize", "split_digits"]
