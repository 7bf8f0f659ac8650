"""Streamlit's browser protocol, as much of it as a tab drawing on the Draw page uses.

One websocket per tab at `/_stcore/stream`, offering the `streamlit` subprotocol (Streamlit 1.67 reads an XSRF
token and a session id to resume from the same header, both optional: a fresh tab sends neither). The browser
sends `BackMsg` protobufs and receives `ForwardMsg` ones. A fresh tab opened at `/draw` sends one `rerun_script`
with no page hash and the page's URL path as `page_name`; later reruns name the page by the hash the server
announced (`navigation.page_script_hash`). A widget inside an `st.fragment` reruns only that fragment: its rerun
names the fragment and carries every widget state the tab holds (what the frontend's `sendRerunBackMsg` does).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from pipelines.benchmarks.load.settings import BROWSER, BrowserSettings

STREAM_PATH = "/_stcore/stream"
SUBPROTOCOL = "streamlit"
SCRIPT_FINISHED = {
    ForwardMsg.FINISHED_SUCCESSFULLY: "finished",
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment finished",
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile error",
    ForwardMsg.FINISHED_EARLY_FOR_RERUN: "interrupted",
}
"""How a script run ended, by the `script_finished` status; "interrupted" is a run stopped for a newer rerun."""


def stream_url(app_url: str) -> str:
    """The websocket address of the app at `app_url` (http://host:port[/base])."""
    parts = urlsplit(app_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + STREAM_PATH, "", ""))


def page_url(app_url: str, page_name: str) -> str:
    return f"{app_url.rstrip('/')}/{page_name}"


def context_info(url: str, settings: BrowserSettings = BROWSER) -> ContextInfo:
    """What every rerun says about the browser: time zone, locale, address, theme."""
    return ContextInfo(timezone=settings.timezone, timezone_offset=0, locale=settings.locale, url=url,
                       is_embedded=False, color_scheme=settings.color_scheme)


def page_load(page_name: str, url: str, settings: BrowserSettings = BROWSER) -> bytes:
    """The first message of a tab opened at `url`: run the app for the page at that path."""
    message = BackMsg()
    message.rerun_script.page_name = page_name
    message.rerun_script.context_info.CopyFrom(context_info(url, settings))
    return message.SerializeToString()


def rerun(page_script_hash: str, widgets: Iterable[WidgetState], fragment_id: str, url: str,
          settings: BrowserSettings = BROWSER) -> bytes:
    """A widget's rerun inside a fragment, carrying every widget state the tab holds."""
    message = BackMsg()
    state = message.rerun_script
    state.page_script_hash = page_script_hash
    state.fragment_id = fragment_id
    state.widget_states.widgets.extend(widgets)
    state.context_info.CopyFrom(context_info(url, settings))
    return message.SerializeToString()


def json_widget(widget_id: str, value_json: str) -> WidgetState:
    """A component's state as the frontend sends it: the whole state object, JSON-encoded."""
    return WidgetState(id=widget_id, json_value=value_json)


def parse(data: bytes) -> ForwardMsg:
    message = ForwardMsg()
    message.ParseFromString(data)
    return message
