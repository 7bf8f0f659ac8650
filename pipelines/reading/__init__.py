"""Reading what people give the models: canvas drawings and photos turned into MNIST-like 28×28 digits.

Owns the front end (ink, illumination, thresholds, size and centre normalisation), digit segmentation and
the checks on uploads. Imports only `pipelines.config`: every other stage may use it.
"""
