"""What training leaves on disk and how it is read back: the checksummed artifact store and the model registry.

May import `pipelines.models` and the stages below it.
"""
