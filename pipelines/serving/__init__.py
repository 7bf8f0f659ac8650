"""What the dashboard loads and reads: the arena of loaded models and the dashboard settings.

May import every stage but `pipelines.benchmarks`; never Streamlit.
"""
