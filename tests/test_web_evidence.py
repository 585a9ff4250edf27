"""The review page's evidence equals the library's (issue 27, finding 1).

On 32-frame videos the page used to show the last point of a masking curve
computed with the full-size lower bound (30 of 32 frames masked) as the
ensemble's probability, and the frame of that flattened curve as the located
emergence. Here the page's payload (``/api/video/<i>``, what ``review.js``
shows) is compared with :meth:`MonthBlockEnsemble.predict_proba_members` and
:class:`~skflux.EmergenceTimeLocator` for the same ensemble and videos.
"""

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
import warnings

import numpy as np
import pytest

from skflux import EmergenceTimeLocator
from skflux._paper import STABILITY_BAND, lower_bound_for
from skflux.relabel import EnsembleEvidence, ReviewPending, ReviewRequest, WebOracle
from skflux.timing import NoEmergenceLocatedWarning

N_FRAMES = 32
#: Longest wait for the server or the page: a hang guard, not a speed requirement.
WAIT = 600
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def videos32():
    """24 simulated 32-frame videos of 16 x 16 (one per crude label and month)."""
    from conftest import make_tiny_videos

    return make_tiny_videos(per_month_and_class=1, n_frames=N_FRAMES)


def _responsive(module, seed, x):
    """Variance-preserving random weights, the logit calibrated to spread ~3 over ``x``.

    Two epochs of a tiny network on tiny videos collapse to a constant output,
    and a constant network hides exactly the bug under test (every masked
    video gets the same probability); these weights make the probability
    depend on every frame, as a real model's does.
    """
    import torch
    from torch import nn

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for c in module.modules():
            if isinstance(c, nn.BatchNorm2d):
                n = c.num_features
                c.running_mean.copy_(torch.rand(n, generator=gen) * 0.6 - 0.3)
                c.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            if isinstance(c, (nn.Conv2d, nn.Linear)):
                c.weight.normal_(0.0, 2.0 / c.weight[0].numel() ** 0.5, generator=gen)
        module.eval()
        logits = module(x).ravel()
        last = module.head[-1]
        a = 3.0 / logits.std()
        last.weight.mul_(a)
        last.bias.copy_(a * (last.bias - logits.mean()))


@pytest.fixture(scope="module")
def ensemble32(videos32):
    """A fitted MonthBlockEnsemble of three tiny members on the 32-frame videos.

    Blocks {1,2}, {3,4}, {5,6}, one seed; after fitting, each member's weights
    are made responsive (see :func:`_responsive`).
    """
    import torch
    from conftest import TINY_NET

    from skflux import FluxEmergenceClassifier, MonthBlockEnsemble, MonthBlockSplit

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        base = FluxEmergenceClassifier(**TINY_NET, max_epochs=1, lr=0.01, batch_size=8,
                                       random_state=0, verbose=0)
        ens = MonthBlockEnsemble(base, cv=MonthBlockSplit(blocks=((1, 2), (3, 4), (5, 6))),
                                 n_seeds=1, random_state=0)
        ens.fit(videos32, videos32["label"].values)
        x = torch.from_numpy(videos32.values.astype("float32"))
        for seed, member in enumerate(ens.estimators_):
            _responsive(member.module_, seed, x)
        spread = np.ptp(ens.predict_proba_members(videos32), axis=1)
        assert (spread > 0.3).all(), "the members must respond to the videos"
        return ens
    finally:
        torch.set_num_threads(n)


def make_request(videos, indices):
    ids = [str(videos["bmr_id"].values[i]) for i in indices]
    return ReviewRequest(list(indices), [0] * len(indices), [0.5] * len(indices), ids, None,
                         1, videos)


def http_json(oracle, path):
    url = f"http://127.0.0.1:{oracle.port_}{path}?token={oracle.token_}"
    with _OPENER.open(urllib.request.Request(url), timeout=WAIT) as r:
        assert r.status == 200
        return json.loads(r.read())


class Reviewing:
    """``oracle.review(request)`` in a thread until the test stops the server."""

    def __init__(self, oracle, request):
        def run():
            try:
                list(oracle.review(request))
            except ReviewPending:  # the test stops the server with every video pending
                pass

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + WAIT
        while getattr(oracle._hub, "session", None) is None:
            assert time.monotonic() < deadline, "the review did not start"
            time.sleep(0.01)


def page_evidence(videos, ensemble, indices, **evidence_params):
    """``{index: evidence payload}`` the page receives for ``indices``."""
    with WebOracle(open_browser=False, evidence=EnsembleEvidence(ensemble, **evidence_params),
                   print_func=lambda *a: None) as oracle:
        Reviewing(oracle, make_request(videos, indices))
        out = {i: http_json(oracle, f"/api/video/{i}")["evidence"] for i in indices}
        oracle.stop()
    return out


INDICES = [0, 5, 11, 16, 23]


def test_page_median_and_spread_equal_predict_proba_members(videos32, ensemble32):
    members = ensemble32.predict_proba_members(videos32.isel(video=INDICES))
    shown = page_evidence(videos32, ensemble32, INDICES)
    lo, hi = (100 * q for q in STABILITY_BAND)
    for k, i in enumerate(INDICES):
        ev = shown[i]
        assert "error" not in ev, ev.get("error")
        q25, q50, q75 = np.percentile(members[:, k], [lo, 50, hi])
        assert ev["n_members"] == members.shape[0] == 3
        np.testing.assert_allclose([ev["proba_q25"], ev["proba_median"], ev["proba_q75"]],
                                   [q25, q50, q75], rtol=0, atol=1e-5, err_msg=f"video {i}")


def test_page_curve_and_located_frame_equal_the_locator(videos32, ensemble32):
    subset = videos32.isel(video=INDICES)
    locator = EmergenceTimeLocator(ensemble32).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoEmergenceLocatedWarning)
        result = locator.transform(subset)
    assert locator.lower_bound_ == lower_bound_for(N_FRAMES) == 4  # scaled, not 30
    shown = page_evidence(videos32, ensemble32, INDICES)
    for k, i in enumerate(INDICES):
        ev = shown[i]
        np.testing.assert_allclose(np.array(ev["curves"], dtype=float), locator.curves_[:, k],
                                   rtol=0, atol=1e-4, err_msg=f"video {i}")
        np.testing.assert_allclose(np.array(ev["curve_median"], dtype=float),
                                   np.median(locator.curves_[:, k], axis=0), rtol=0, atol=1e-4)
        assert ev["lower_bound"] == locator.lower_bound_
        assert ev["located"] is bool(result["located"].values[k])
        frame = result["emergence_frame"].values[k]
        if ev["located"]:
            assert ev["emergence_frame"] == int(round(frame))
        else:
            assert np.isnan(frame) and ev["emergence_frame"] is None


def test_too_few_observed_frames_show_no_emergence_located(videos32, ensemble32):
    """One observed frame (as real patches at the limb): no frame is located or drawn."""
    observed = videos32["observed"].values.copy()
    observed[3] = False
    observed[3, 10] = True
    videos = videos32.assign_coords(observed=(videos32["observed"].dims, observed))
    shown = page_evidence(videos, ensemble32, [3, 4])
    assert shown[3]["located"] is False and shown[3]["emergence_frame"] is None
    assert shown[3]["n_observed_frames"] == 1
    assert len(shown[3]["curves"]) == 3  # the curves still show what the members saw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoEmergenceLocatedWarning)
        truth = EmergenceTimeLocator(ensemble32).fit().transform(videos.isel(video=[4]))
    assert shown[4]["located"] is bool(truth["located"].values[0])


def test_explicit_lower_bound_and_proba_only(videos32, ensemble32, tiny_videos):
    item = make_request(videos32, [7])[0]
    raw = EnsembleEvidence(ensemble32, lower_bound=10)(item)
    assert raw["lower_bound"] == 10
    curves = EmergenceTimeLocator(ensemble32, lower_bound=10).fit() \
        .emergence_curves(videos32.isel(video=[7]))[:, 0]
    np.testing.assert_allclose(raw["curves"], curves, rtol=0, atol=1e-6)
    only = EnsembleEvidence(ensemble32, masking=False)(item)
    assert set(only) == {"member_proba"} | ({"threshold"} if hasattr(ensemble32, "threshold_")
                                            else set())
    np.testing.assert_allclose(only["member_proba"], ensemble32.predict_proba_members(
        videos32.isel(video=[7]))[:, 0], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="lower_bound=40"):  # named, for a 32-frame video
        EnsembleEvidence(ensemble32, lower_bound=40)(item)


# ---------------------------------------------------------------------- real browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.e2e
@pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                    reason="chromium/chromedriver not installed (tools/setup_env.sh "
                           "installs them)")
def test_page_says_no_emergence_located(videos32, ensemble32, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    observed = videos32["observed"].values.copy()
    observed[3] = False
    videos = videos32.assign_coords(observed=(videos32["observed"].dims, observed))
    opts = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--no-proxy-server",
                f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        with WebOracle(open_browser=False, evidence=EnsembleEvidence(ensemble32),
                       print_func=lambda *a: None) as oracle:
            Reviewing(oracle, make_request(videos, [3]))
            driver.get(oracle.url_)
            deadline = time.monotonic() + WAIT
            while not driver.execute_script(  # the page has loaded video 3 and shown it
                    "const v = window.skflux && window.skflux.view;"
                    "return !!(v && v.data && v.data.meta.video === 3 && !v.busy);"):
                assert time.monotonic() < deadline, "the page did not show video 3"
                time.sleep(0.05)
            located = driver.find_element("id", "f-located").text
            assert located.startswith("no emergence located"), located
            assert "frame 4" in located and "0 from it on" in located  # lower bound, observed
            assert driver.execute_script("return window.skflux.view.located") is None
            proba = driver.find_element("id", "f-proba").text
            median = np.median(ensemble32.predict_proba_members(videos.isel(video=[3]))[:, 0])
            assert f"ensemble median {median:.2f}" in proba, proba
            oracle.stop()
    finally:
        driver.quit()


def test_videos_asked_for_at_once_each_get_their_own_evidence(videos32, ensemble32):
    """The page prefetches: evidence of several videos computed in parallel threads."""
    from concurrent.futures import ThreadPoolExecutor

    items = list(make_request(videos32, INDICES))
    alone = [EnsembleEvidence(ensemble32)(item) for item in items]
    shared = EnsembleEvidence(ensemble32)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(shared, items * 2))
    for k, got in enumerate(together):
        want = alone[k % len(items)]
        np.testing.assert_allclose(got["curves"], want["curves"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(got["member_proba"], want["member_proba"], rtol=0, atol=1e-6)
        assert got["located"] == want["located"]
