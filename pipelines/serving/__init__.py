"""What the dashboard loads and reads: the arena of loaded models and the dashboard settings; and the dashboard
started as a real `streamlit run` process (for the tests and the load test).

May import every stage but `pipelines.benchmarks`; never Streamlit.
"""
