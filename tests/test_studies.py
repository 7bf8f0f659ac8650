"""Studies: planning, local and Dask runs giving the same numbers, durable fits across Ctrl-C and kills."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_fixtures import free_port
from conftest import STUDY_SEEDS, STUDY_SIZES

from pipelines import config
from pipelines.data.sources import MnistData
from pipelines.studies import frames
from pipelines.studies.engine import ClusterError
from pipelines.studies.plans import StudyError, plan
from pipelines.studies.run import run_study
from pipelines.studies.settings import STUDY_SETTINGS
from pipelines.studies.store import FITS, RUNNING_PREFIX, Study, StudyStore
from pipelines.studies.tasks import FitTask, hyperparameters

CLUSTER_START_SECONDS = 60
STUDY_SECONDS = 300
COMPARED = ("accuracy", "log_loss", "macro_f1", "predictions_sha256", "n_train", "n_scored")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Dask scheduler and two single-threaded worker processes on loopback, run from this checkout."""
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(config.PROJECT_ROOT)}
    bin_dir = Path(sys.executable).parent
    processes = []
    with open(logs / "scheduler.log", "wb") as log:
        processes.append(subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                                           str(port), "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT,
                                          env=env, cwd=config.PROJECT_ROOT))
    with open(logs / "worker.log", "wb") as log:
        processes.append(subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nworkers", "2", "--nthreads",
                                           "1", "--host", "127.0.0.1", "--no-dashboard"], stdout=log,
                                          stderr=subprocess.STDOUT, env=env, cwd=config.PROJECT_ROOT))
    try:
        with Client(address, timeout=CLUSTER_START_SECONDS) as client:
            client.wait_for_workers(2, timeout=CLUSTER_START_SECONDS)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def _assert_same_fits(local: Study, remote: Study) -> dict[str, dict]:
    """Both studies complete, with the same fits giving the same numbers, on different processes."""
    assert remote.manifest["status"] == local.manifest["status"] == "complete"
    local_fits, remote_fits = ({fit["key"]: fit for fit in study.fits()} for study in (local, remote))
    assert set(local_fits) == set(remote_fits)
    for key, fit in local_fits.items():
        assert {name: fit[name] for name in COMPARED} == {name: remote_fits[key][name] for name in COMPARED}, key
    workers = {fit["worker"] for fit in remote_fits.values()}
    assert workers and not workers & {fit["worker"] for fit in local_fits.values()}
    return local_fits


def test_the_cluster_gives_the_same_numbers_as_local_processes(studied_artifacts: Path, sample: MnistData,
                                                               dask_cluster: str, tmp_path: Path) -> None:
    local = StudyStore(studied_artifacts).studies("learning-curve")[0]
    remote = run_study("learning-curve", ["svm", "rf"], sample, tmp_path, cluster=dask_cluster, sizes=STUDY_SIZES,
                       seeds=STUDY_SEEDS, show_bar=False)
    local_fits = _assert_same_fits(local, remote)
    assert len(local_fits) == 2 * len(STUDY_SIZES) * len(STUDY_SEEDS)
    accuracies = [fit["accuracy"] for fit in local_fits.values()]
    assert len(set(accuracies)) > 1 and min(accuracies) > 0.6  # real fits: different, and far above chance


def test_the_cnn_gives_the_same_numbers_on_the_cluster(sample: MnistData, dask_cluster: str, tmp_path: Path) -> None:
    """Its initial weights once came from Python's shared `random`, which a Dask worker's own threads draw from."""
    local, remote = (run_study("sweep", ["cnn"], sample, tmp_path / place, workers=2, cluster=cluster,
                               sizes=[STUDY_SIZES[-1]], grid=["epochs=1,2"], show_bar=False)
                     for place, cluster in (("local", None), ("cluster", dask_cluster)))
    fits = _assert_same_fits(local, remote).values()
    assert len(fits) == 2 * STUDY_SETTINGS.sweep_folds
    assert {fit["hyperparameters"]["epochs"] for fit in fits} == {1, 2} and all(
        fit["n_train"] < STUDY_SIZES[-1] for fit in fits)


def test_an_unreachable_cluster_is_a_clear_error_and_leaves_nothing(sample: MnistData, tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        run_study("learning-curve", ["rf"], sample, tmp_path, cluster=f"tcp://127.0.0.1:{free_port()}",
                  sizes=[200], seeds=[0], show_bar=False)
    assert StudyStore(tmp_path).studies() == [] and not list((tmp_path / "studies").glob(f"{RUNNING_PREFIX}*"))


def test_a_sweep_scores_on_training_folds_and_ranks_the_grid(studied_artifacts: Path) -> None:
    study = StudyStore(studied_artifacts).studies("sweep")[0]
    StudyStore(studied_artifacts).verify(study)  # checksums of the sealed study hold
    fits = study.fits()
    assert len(fits) == 4 * STUDY_SETTINGS.sweep_folds
    assert all(fit["scored_on"].startswith("fold") and fit["n_scored"] + fit["n_train"] == STUDY_SIZES[-1]
               for fit in fits)
    results = frames.sweep_results(frames.fits_frame(study))
    assert len(results) == 4 and (results["folds"] == STUDY_SETTINGS.sweep_folds).all()
    assert results["accuracy_mean"].is_monotonic_decreasing
    assert set(results["param C"]) == {1.0, 10.0} and set(results["param gamma"]) == {0.01, 0.04}


def test_a_failed_fit_is_recorded_and_the_others_go_on(sample: MnistData, tmp_path: Path) -> None:
    study = run_study("sweep", ["svm"], sample, tmp_path, workers=2, sizes=[200], grid=["C=-1,1"], show_bar=False)
    failed = [fit for fit in study.fits() if fit["status"] == "failed"]
    assert len(failed) == STUDY_SETTINGS.sweep_folds and all("C" in fit["error"] for fit in failed)
    assert study.manifest["finished_fits"] == STUDY_SETTINGS.sweep_folds
    assert study.manifest["failed_fits"] == STUDY_SETTINGS.sweep_folds


def _study_command(artifacts: Path) -> list[str]:
    return [sys.executable, "-m", "pipelines.study", "--kind", "learning-curve", "--models", "svm", "rf", "--data",
            "sample", "--sizes", "200", "300", "400", "600", "--seeds", "0", "1", "2", "--workers", "1",
            "--artifacts", str(artifacts), "--no-bar"]


def _start_and_wait_for_fits(artifacts: Path, fits: int) -> tuple[subprocess.Popen, Path]:
    # as from a terminal: a shell starting a job in the background would have it ignore Ctrl-C
    process = subprocess.Popen(_study_command(artifacts), cwd=config.PROJECT_ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + STUDY_SECONDS
    while time.monotonic() < deadline:
        running = list((artifacts / "studies").glob(f"{RUNNING_PREFIX}*/{FITS}"))
        if running and len(running[0].read_text().splitlines()) >= fits:
            return process, running[0].parent
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.5)
    _stop(process)
    raise AssertionError("the study did not finish a fit in time")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "terminate"])
def test_ctrl_c_keeps_the_finished_fits(stop: signal.Signals, tmp_path: Path) -> None:
    process, running = _start_and_wait_for_fits(tmp_path, 2)
    process.send_signal(stop)
    try:
        assert process.wait(timeout=60) == 130
    finally:
        _stop(process)
    (study,) = StudyStore(tmp_path).studies()
    assert study.manifest["status"] == "interrupted" and not running.exists()
    assert 2 <= study.manifest["finished_fits"] == len(study.fits()) < study.manifest["planned_fits"] == 24
    StudyStore(tmp_path).verify(study)


def test_a_killed_study_keeps_its_fits_and_is_sealed_by_the_next(tmp_path: Path) -> None:
    process, running = _start_and_wait_for_fits(tmp_path, 1)
    process.kill()
    process.wait(timeout=30)
    kept = len((running / FITS).read_text().splitlines())
    (study,) = StudyStore(tmp_path).recover_abandoned()
    assert study.manifest["status"] == "interrupted" and study.manifest["finished_fits"] == kept >= 1


@pytest.mark.parametrize(("kind", "models", "sizes", "grid", "message"), [
    ("learning-curve", ["svm"], [50], None, "too small"),
    ("learning-curve", ["svm"], [5000], None, "larger than the 3,000 training images"),
    ("sweep", ["svm", "rf"], None, None, "a sweep tunes one model"),
    ("sweep", ["svm"], [300, 400], None, "one --sizes value"),
    ("sweep", ["svm"], None, ["depth=1,2"], "one of svm's hyperparameters"),
    ("sweep", ["rf"], None, ["n_estimators=ten"], "takes int values"),
])
def test_bad_requests_get_a_clear_message(kind: str, models: list[str], sizes: list[int] | None,
                                          grid: list[str] | None, message: str) -> None:
    with pytest.raises(StudyError, match=message):
        plan(kind, models, sizes, None, 3000, STUDY_SETTINGS, grid)


def test_plans_cover_every_combination_once() -> None:
    tasks, shape = plan("learning-curve", ["svm", "cnn"], None, None, 3000, STUDY_SETTINGS)
    assert shape["sizes"] == [500, 1000, 2000] and shape["seeds"] == list(STUDY_SETTINGS.seeds)
    assert len({task.key for task in tasks}) == len(tasks) == 2 * 3 * len(STUDY_SETTINGS.seeds)
    tasks, shape = plan("sweep", ["rf"], None, None, 3000, STUDY_SETTINGS, search="random", iterations=2)
    assert shape["sizes"] == [3000] and len(tasks) == 2 * STUDY_SETTINGS.sweep_folds


def test_a_cnn_fit_on_few_images_still_makes_enough_steps() -> None:
    params = {size: hyperparameters(FitTask("cnn", size, 0), STUDY_SETTINGS, size) for size in (500, 10_000)}
    for size, cnn in params.items():
        steps_per_epoch = math.ceil(size * (1 - cnn.validation_fraction) / cnn.batch_size)
        assert steps_per_epoch * cnn.epochs >= STUDY_SETTINGS.min_cnn_steps
    profile = config.PROFILES[STUDY_SETTINGS.profile].cnn
    assert params[500].epochs > profile.epochs == params[10_000].epochs
    swept = hyperparameters(FitTask("cnn", 500, 0, (("epochs", 2),)), STUDY_SETTINGS, 500)
    assert swept.epochs == 2  # a sweep over epochs keeps the ones it asked for
