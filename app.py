"""The MNIST arena dashboard: `streamlit run app.py`.

The server's entry point only: every visitor's session runs the router, `dashboard.py`. Before the server
takes its first request it imports what every page needs (NumPy, pandas and its table styling, the project's
readers): about 0.7 s that the first visitor otherwise waited for, before the leaderboard (BENCHMARKS.md,
"A fresh start"). The models still load in the background, after the first page.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def import_page_libraries(_: st.App) -> AsyncIterator[None]:
    import pandas.io.formats.style  # noqa: F401 - the leaderboard's styled table

    import ui  # noqa: F401 - NumPy, pandas, Pillow and the pipelines' readers every page uses

    yield


app = st.App("dashboard.py", lifespan=import_page_libraries)
