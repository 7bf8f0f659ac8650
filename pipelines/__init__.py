"""MNIST model arena: data, preprocessing, models, training, evaluation, artifacts, inference.

Importable without Streamlit. TensorFlow's start-up chatter is silenced here,
before any module can import it.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
