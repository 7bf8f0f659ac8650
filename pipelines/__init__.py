"""MNIST model arena: data, preprocessing, models, training, evaluation, artifacts, inference.

Importable without Streamlit. TensorFlow is set up here, before any module can
import it: its start-up chatter silenced, and its oneDNN kernels on. TensorFlow
turns those on by itself only on CPUs with AVX-512; on this AVX2 machine they
train the CNN about 1.3 times as fast.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
