"""dask.distributed over process workers: ensemble fit/predict and frame masking.

One module-scoped LocalCluster (two single-threaded worker *processes*) serves
every test: process clusters are slow to start. Each result is compared with
the same computation in this process, torch using one thread in both.
"""

import pickle

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from joblib import parallel_config  # noqa: E402

from skflux import EmergenceTimeLocator, MonthBlockEnsemble, MonthBlockSplit  # noqa: E402
from skflux.io import open_videos, to_netcdf  # noqa: E402

pytestmark = pytest.mark.slow


def _one_thread():
    import torch

    torch.set_num_threads(1)
    return torch.get_num_threads()


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, memory_limit="2GiB")
    with distributed.Client(cluster) as c:
        assert set(c.run(_one_thread).values()) == {1}
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def lazy_videos(tiny_videos, tmp_path_factory):
    path = tmp_path_factory.mktemp("dist") / "videos.nc"
    return open_videos(to_netcdf(tiny_videos, path))


def _ensemble(tiny_classifier):
    return MonthBlockEnsemble(tiny_classifier(), cv=MonthBlockSplit(blocks=((1, 2), (3, 4))),
                              n_seeds=1, random_state=0)


def test_lazy_videos_travel_as_a_path(lazy_videos):
    # what a worker receives: the file's address and the coordinates, not the field
    assert len(pickle.dumps(lazy_videos)) < lazy_videos.nbytes / 5
    back = pickle.loads(pickle.dumps(lazy_videos.isel(video=[3, 7])))
    np.testing.assert_array_equal(back.values, lazy_videos.isel(video=[3, 7]).values)


def test_ensemble_fit_and_predict_on_process_workers(client, lazy_videos, tiny_classifier,
                                                     one_torch_thread):
    y = lazy_videos["label"].values
    local = _ensemble(tiny_classifier).fit(lazy_videos, y)
    with distributed.get_task_stream(client) as fit_tasks, parallel_config(backend="dask"):
        remote = _ensemble(tiny_classifier).fit(lazy_videos, y)
    with distributed.get_task_stream(client) as predict_tasks, parallel_config(backend="dask"):
        p_remote = remote.predict_proba_members(lazy_videos)  # blocks of videos on workers
    assert len(fit_tasks.data) >= 2 and len(predict_tasks.data) >= 2  # ran on the workers
    p_local = local.predict_proba_members(lazy_videos)
    assert p_remote.shape == (2, lazy_videos.sizes["video"])
    # same seeds, same data, one torch thread everywhere: equal up to float rounding
    np.testing.assert_allclose(p_remote, p_local, rtol=0, atol=1e-5)
    np.testing.assert_allclose(remote.predict_proba_members(lazy_videos), p_local, atol=1e-5)


def test_frame_masking_on_process_workers(client, lazy_videos, tiny_fitted_ensemble,
                                          one_torch_thread):
    videos = lazy_videos.isel(video=slice(0, 6))
    loc = EmergenceTimeLocator(tiny_fitted_ensemble, lower_bound=2).fit()
    local = loc.emergence_curves(videos)
    with distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
        remote = loc.emergence_curves(videos)
    assert len(tasks.data) >= 2
    np.testing.assert_allclose(remote, local, rtol=0, atol=1e-6)
