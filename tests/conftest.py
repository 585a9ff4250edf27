import os

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

settings.register_profile(
    "skflux", deadline=None, max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("skflux")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def one_torch_thread():
    """One torch thread for tiny networks: thread synchronization would dominate."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# --------------------------------------------------------------------------- shared tiny fixtures
#: The tiny network every test uses (contract C7): a few channels per layer.
TINY_NET = dict(module__widths=(2, 2, 4, 4), module__top=4, module__dense=4)
#: Videos per calendar month and class in ``tiny_videos``.
TINY_PER_MONTH_AND_CLASS = 2


@pytest.fixture
def tiny_classifier():
    """Factory of unfitted tiny classifiers: ``tiny_classifier(**params)``.

    A :class:`~skflux.FluxEmergenceClassifier` with a tiny VGG, ``max_epochs=2``,
    ``lr=0.01``, ``batch_size=8``, ``random_state=0``, ``verbose=0``; keyword
    arguments override any of these (and add others).
    """
    from skflux import FluxEmergenceClassifier

    def make(**params):
        kw = dict(TINY_NET, max_epochs=2, lr=0.01, batch_size=8, random_state=0, verbose=0)
        kw.update(params)
        return FluxEmergenceClassifier(**kw)

    return make


def make_tiny_videos(per_month_and_class=TINY_PER_MONTH_AND_CLASS, n_frames=8, size=16,
                     seed=0):
    """Simulated videos, every month 1-12 holding both crude-label classes.

    ``per_month_and_class`` videos of each crude ``label`` per month (48 by
    default), ``n_frames`` frames of ``size`` x ``size`` pixels, with the
    simulator's coordinates (``label``, ``true_label``, ``emergence_frame``,
    ``bmr_id``, ``observed`` ...); ``time`` and ``month`` are moved so that the
    months are balanced (same year and day as simulated, clipped to day 28),
    ``emergence_time`` with them.
    """
    import numpy as np

    from skflux.datasets import make_flux_emergence

    need = 12 * per_month_and_class
    pool = make_flux_emergence(4 * need, random_state=seed, n_frames=n_frames, size=size)
    label = pool["label"].values
    picks = [np.flatnonzero(label == c)[:need] for c in (0, 1)]
    if min(p.size for p in picks) < need:  # pragma: no cover - the simulator's mix is ~50/50
        raise RuntimeError("the simulated pool holds too few videos of one class")
    order = np.sort(np.concatenate(picks))
    videos = pool.isel(video=order)
    months = np.empty(order.size, dtype=int)
    for p in picks:  # each class: per_month_and_class videos per month, in simulation order
        months[np.searchsorted(order, p)] = np.repeat(np.arange(1, 13), per_month_and_class)
    t = videos["time"].values
    years = t.astype("datetime64[Y]").astype(int) + 1970
    days = np.minimum((t - t.astype("datetime64[M]")).astype("timedelta64[D]").astype(int), 27)
    start = np.array([np.datetime64(f"{y:04d}-{m:02d}-01") for y, m in zip(years, months)])
    time = (start + days.astype("timedelta64[D]") + (t - t.astype("datetime64[D]")))
    time = time.astype("datetime64[ns]")
    coords = {"time": ("video", time), "month": ("video", months)}
    if "emergence_time" in videos.coords:  # moves with the video (NaT stays NaT)
        coords["emergence_time"] = ("video", videos["emergence_time"].values + (time - t))
    return videos.assign_coords(coords)


@pytest.fixture(scope="session")
def tiny_videos():
    """48 simulated videos (8 frames of 16 x 16): 2 per crude label and month 1-12.

    Shared by the whole session: never modify it in place (``.copy()`` first).
    """
    return make_tiny_videos()


@pytest.fixture(scope="session")
def tiny_fitted_ensemble(tiny_videos):
    """A :class:`~skflux.MonthBlockEnsemble` of tiny classifiers fitted on ``tiny_videos``.

    Two month blocks ({1, 2, 3, 4} and {5, 6, 7, 8}), one seed: two members,
    each trained 2 epochs on the crude labels; ``threshold="benchmark"`` sets
    ``threshold_`` on the videos of months 9-10. Shared by the whole session:
    never refit or modify it.
    """
    import torch

    from skflux import FluxEmergenceClassifier, MonthBlockEnsemble, MonthBlockSplit

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        base = FluxEmergenceClassifier(**TINY_NET, max_epochs=2, lr=0.01, batch_size=8,
                                       random_state=0, verbose=0)
        ens = MonthBlockEnsemble(base, cv=MonthBlockSplit(blocks=((1, 2, 3, 4), (5, 6, 7, 8))),
                                 n_seeds=1, threshold="benchmark", random_state=0)
        return ens.fit(tiny_videos, tiny_videos["label"].values)
    finally:
        torch.set_num_threads(n)
