"""The load test: simulated browser tabs drawing on the Draw page at once, against a real `streamlit run app.py`.

Speaks Streamlit's websocket protocol (`protocol.py`) instead of driving browsers, so twenty tabs fit on two
cores: each tab (`session.py`) opens the Draw page, sends drawings of MNIST test digits exactly as the canvas
component sends them (`drawings.py`), and reads the runs that come back (`runs.py`, knowing the page through
`draw_page.py`). `simulation.py` runs a classroom of them in one event loop while `monitor.py` watches the
server's and the generator's CPU and memory apart; `report.py` prints and writes the figures; `command.py` is
`python -m pipelines.benchmarks.load`.

Imports Streamlit's protobuf messages (`streamlit.proto`) and websocket client dependency (`websockets`), never
Streamlit's API; and any stage of `pipelines`, as the other benchmarks do.
"""
