"""The OpenML source end to end, against a local stand-in for openml.org.

`fetch_openml` talks to hard-coded https://www.openml.org URLs. Here a real HTTP
server on 127.0.0.1 answers the calls it makes for a tiny fake `mnist_784`
(data id 554: 30 rows of 784 uint8 pixels and a nominal `class`), and
scikit-learn's `urlopen` is routed there. So the whole path runs without
network and without skipping: name lookup, description, features, qualities,
the gzip-encoded ARFF download and its md5 check, the on-disk cache, parsing,
and then our reshaping, label conversion, split and error wrapping.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from urllib.request import ProxyHandler, Request, build_opener

import numpy as np
import pytest
from sklearn.datasets import _openml

from pipelines import config
from pipelines.data.sources import DataSourceError, load_data, load_openml

DATA_ID = 554
FILE_ID = 52667
N_ROWS = 30
TEST_ROWS = 10
N_PIXELS = config.IMAGE_SIDE**2
ARFF_PATH = f"/data/v1/download/{FILE_ID}/{config.OPENML_NAME}.arff"
"""Where the stand-in serves the data file; the description names it on OpenML's own host, as OpenML does."""

quiet_retries = pytest.mark.filterwarnings("ignore:A network error occurred:UserWarning")
"""scikit-learn warns on every retry of a failed request; expected in the outage tests, noise there."""


# --- the fake dataset ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeMnist:
    """The arrays the stand-in serves, kept so the tests can compare what comes back with what went out."""

    pixels: np.ndarray  # (N_ROWS, 784) uint8, in the row order of the ARFF file
    labels: np.ndarray  # (N_ROWS,) int64, 0-9

    @classmethod
    def make(cls, n_rows: int = N_ROWS, seed: int = 0) -> FakeMnist:
        """Random pixels (with 0 and 255 present) and every digit at least twice, in shuffled order."""
        rng = np.random.default_rng(seed)
        pixels = rng.integers(0, 256, size=(n_rows, N_PIXELS), dtype=np.uint8)
        pixels[0, :2] = (0, 255)  # both ends of the range must survive the text round trip
        labels = rng.permutation(np.arange(n_rows) % config.N_CLASSES).astype(np.int64)
        return cls(pixels, labels)

    def arff(self) -> bytes:
        """The ARFF file as OpenML stores mnist_784: pixel1..pixel784 NUMERIC, then the nominal class."""
        digits = ",".join(str(digit) for digit in range(config.N_CLASSES))
        lines = [f"@RELATION {config.OPENML_NAME}", ""]
        lines += [f"@ATTRIBUTE pixel{column} NUMERIC" for column in range(1, N_PIXELS + 1)]
        lines += [f"@ATTRIBUTE class {{{digits}}}", "", "@DATA"]
        lines += [",".join(map(str, row + [label])) for row, label in zip(self.pixels.tolist(), self.labels.tolist())]
        return ("\n".join(lines) + "\n").encode()


def _feature(index: int, name: str, data_type: str, **extra: object) -> dict[str, object]:
    """One entry of OpenML's features listing (flags are the strings "true"/"false", as the API sends them)."""
    return {
        "index": str(index), "name": name, "data_type": data_type, "is_target": "false",
        "is_ignore": "false", "is_row_identifier": "false", "number_of_missing_values": "0", **extra,
    }


def _openml_routes(fake: FakeMnist) -> dict[str, bytes]:
    """Every URL path fetch_openml("mnist_784", version=1) requests, with OpenML's answer for the fake dataset."""
    arff = fake.arff()
    digits = [str(digit) for digit in range(config.N_CLASSES)]
    name, version = config.OPENML_NAME, config.OPENML_VERSION
    features = [_feature(column, f"pixel{column + 1}", "numeric") for column in range(N_PIXELS)]
    features.append(_feature(N_PIXELS, "class", "nominal", is_target="true", nominal_value=digits))
    documents: dict[str, object] = {
        f"/api/v1/json/data/list/data_name/{name}/limit/2/data_version/{version}": {"data": {"dataset": [
            {"did": DATA_ID, "name": name, "version": version, "status": "active", "format": "ARFF"},
        ]}},
        f"/api/v1/json/data/{DATA_ID}": {"data_set_description": {
            "id": str(DATA_ID), "name": name, "version": str(version), "format": "ARFF", "status": "active",
            "description": "A stand-in for the MNIST database, served by the tests.",
            "file_id": str(FILE_ID), "url": f"https://api.openml.org{ARFF_PATH}",
            "default_target_attribute": "class", "md5_checksum": hashlib.md5(arff).hexdigest(),
        }},
        f"/api/v1/json/data/features/{DATA_ID}": {"data_features": {"feature": features}},
        f"/api/v1/json/data/qualities/{DATA_ID}": {"data_qualities": {"quality": [
            {"name": "NumberOfInstances", "value": f"{len(fake.labels)}.0"},
            {"name": "NumberOfFeatures", "value": f"{N_PIXELS + 1}.0"},
        ]}},
    }
    return {path: json.dumps(document).encode() for path, document in documents.items()} | {ARFF_PATH: arff}


# --- the stand-in server ------------------------------------------------------------------------------------------


class StandInServer(HTTPServer):
    """openml.org in miniature: fixed answers by path, every request logged, and a switch to fail them all."""

    def __init__(self, routes: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _StandInHandler)
        self.routes = routes
        self.requests: list[str] = []
        self.failure: HTTPStatus | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def count(self, path: str) -> int:
        """How many times `path` was requested."""
        return self.requests.count(path)


class _StandInHandler(BaseHTTPRequestHandler):
    """Answers GET from the server's routes, gzip-encoded when the client accepts it (scikit-learn always does)."""

    server: StandInServer

    def do_GET(self) -> None:
        routes = self.server.routes
        self.server.requests.append(self.path)
        status = self.server.failure or (HTTPStatus.OK if self.path in routes else HTTPStatus.NOT_FOUND)
        if status == HTTPStatus.OK:
            body = routes[self.path]
        else:
            body = json.dumps({"error": {"code": str(status.value), "message": status.phrase}}).encode()
        self.send_response(status)
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet; the server's `requests` list is the log that matters."""


def _route_openml_to(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    """Send every request scikit-learn's OpenML loader makes to `base_url`, keeping path, query and headers.

    Whatever host the URL names (www.openml.org for the API, api.openml.org for files) is replaced, so nothing
    can reach the network. The opener ignores proxy settings from the environment, which would otherwise be
    applied to 127.0.0.1 too.
    """
    opener = build_opener(ProxyHandler({}))
    target = urlsplit(base_url)

    def redirected_urlopen(request: Request, *args: Any, **kwargs: Any) -> Any:
        url = urlunsplit(urlsplit(request.full_url)._replace(scheme=target.scheme, netloc=target.netloc))
        return opener.open(Request(url, headers=dict(request.header_items())), *args, **kwargs)

    monkeypatch.setattr(_openml, "urlopen", redirected_urlopen)


def _closed_port() -> int:
    """A local port nobody listens on: bound once so the OS picks a free one, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_openml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test here may read or fill the user's scikit-learn cache, obey MNIST_SOURCE, or sleep between retries.

    `load_data` calls `load_openml()` with no data_home, so scikit-learn falls back to $SCIKIT_LEARN_DATA or
    ~/scikit_learn_data; a real mnist_784 cached there would answer the outage tests from disk, not the server.
    """
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "scikit_learn_data"))
    monkeypatch.delenv(config.DATA_SOURCE_ENV, raising=False)
    retry_on_network_error = _openml._retry_on_network_error

    def retry_without_delay(n_retries: int = 3, delay: float = 1.0, url: str = "") -> Callable[..., Any]:
        return retry_on_network_error(n_retries, 0.0, url)

    monkeypatch.setattr(_openml, "_retry_on_network_error", retry_without_delay)


@pytest.fixture(scope="module")
def fake_mnist() -> FakeMnist:
    return FakeMnist.make()


@pytest.fixture
def standin(fake_mnist: FakeMnist) -> Iterator[StandInServer]:
    """The stand-in, serving from a background thread for the length of one test."""
    server = StandInServer(_openml_routes(fake_mnist))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def openml(standin: StandInServer, monkeypatch: pytest.MonkeyPatch) -> StandInServer:
    """A healthy stand-in that scikit-learn's requests are routed to."""
    _route_openml_to(monkeypatch, standin.base_url)
    return standin


@dataclass(frozen=True)
class Outage:
    """One way OpenML can be unreachable, and the words the resulting error must carry."""

    name: str
    status: HTTPStatus | None  # what the stand-in answers; None: nothing listens at all
    symptom: str


OUTAGES = [
    Outage("server-error", HTTPStatus.INTERNAL_SERVER_ERROR, "HTTP Error 500"),
    Outage("not-found", HTTPStatus.NOT_FOUND, "HTTP Error 404"),
    Outage("connection-refused", None, "Connection refused"),
]


@pytest.fixture(params=OUTAGES, ids=[outage.name for outage in OUTAGES])
def outage(request: pytest.FixtureRequest, standin: StandInServer, monkeypatch: pytest.MonkeyPatch) -> Outage:
    """OpenML down in one of the OUTAGES ways, with scikit-learn's requests routed into it."""
    current: Outage = request.param
    standin.failure = current.status
    _route_openml_to(monkeypatch, standin.base_url if current.status else f"http://127.0.0.1:{_closed_port()}")
    return current


# --- tests --------------------------------------------------------------------------------------------------------


def test_openml_rows_become_28x28_uint8_digits_with_the_last_rows_as_test_set(
    openml: StandInServer, fake_mnist: FakeMnist, tmp_path: Path,
) -> None:
    """What OpenML serves must reach the models unchanged: same pixels, same labels, same row order and split."""
    loaded = load_openml(data_home=tmp_path / "cache", test_rows=TEST_ROWS)

    split = N_ROWS - TEST_ROWS
    images = fake_mnist.pixels.reshape(-1, config.IMAGE_SIDE, config.IMAGE_SIDE)
    assert (loaded.source, loaded.fallback_reason) == ("openml", None)
    assert loaded.train_images.shape == (split, config.IMAGE_SIDE, config.IMAGE_SIDE)
    assert loaded.test_images.shape == (TEST_ROWS, config.IMAGE_SIDE, config.IMAGE_SIDE)
    assert loaded.train_images.dtype == loaded.test_images.dtype == np.uint8
    assert loaded.train_labels.dtype == loaded.test_labels.dtype == np.int64
    np.testing.assert_array_equal(loaded.train_images, images[:split])
    np.testing.assert_array_equal(loaded.test_images, images[split:])
    np.testing.assert_array_equal(loaded.train_labels, fake_mnist.labels[:split])
    np.testing.assert_array_equal(loaded.test_labels, fake_mnist.labels[split:])


def test_second_load_is_served_from_the_disk_cache(openml: StandInServer, tmp_path: Path) -> None:
    """After one download OpenML is never asked again, for the data file or anything else (so it works offline)."""
    data_home = tmp_path / "cache"
    first = load_openml(data_home=data_home, test_rows=TEST_ROWS)
    assert openml.count(ARFF_PATH) == 1
    asked_before = len(openml.requests)

    second = load_openml(data_home=data_home, test_rows=TEST_ROWS)

    assert openml.requests[asked_before:] == [], "the second load went back to the server"
    assert second.fingerprint == first.fingerprint


@quiet_retries
def test_openml_outage_names_the_offline_sources(outage: Outage) -> None:
    """Asked for OpenML explicitly, an outage is an error that says what went wrong and what to use instead."""
    with pytest.raises(DataSourceError) as raised:
        load_data("openml")

    message = str(raised.value)
    assert outage.symptom in message
    assert "idx:" in message and "sample" in message


@quiet_retries
def test_openml_outage_with_no_source_named_falls_back_to_the_sample(outage: Outage) -> None:
    """With no source named, an outage must not stop training: the sample is used and the reason recorded."""
    loaded = load_data(None)

    assert loaded.source == "sample"
    assert loaded.fallback_reason is not None
    assert "OpenML" in loaded.fallback_reason and outage.symptom in loaded.fallback_reason
