"""The dashboard's router, run for every visitor's session (`app.py` serves it). The pages live in app_pages/.

Not in pages/: Streamlit 1.67 still treats a folder named pages/ as a legacy
multipage app, and then runs a page directly (skipping this router) on the
first visit to a page URL and in every AppTest run.
"""

import streamlit as st

import ui

st.set_page_config(page_title="MNIST arena", page_icon="🔢", layout="wide")

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon="🏆", default=True),
    st.Page("app_pages/compare.py", title="Compare", icon="⚖️"),
    st.Page("app_pages/mistakes.py", title="Mistakes", icon="❌"),
    st.Page("app_pages/draw.py", title="Draw", icon="✏️"),
    st.Page("app_pages/drawings.py", title="Your drawings", icon="🖍️"),
    st.Page("app_pages/robustness.py", title="Robustness", icon="🌀"),
    st.Page("app_pages/generalisation.py", title="Generalisation", icon="🧭"),
    st.Page("app_pages/data.py", title="Data", icon="🗂️"),
    st.Page("app_pages/experiments.py", title="Experiments", icon="🧪"),
    st.Page("app_pages/train.py", title="Train", icon="🏋️"),
]

navigation = st.navigation(PAGES)
ui.render_frame(ui.get_arena())
navigation.run()
ui.start_loading_models()
