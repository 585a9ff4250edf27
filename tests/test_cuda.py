"""The ``device="cuda"`` path: the same results as on the CPU (skipped without a GPU)."""

import numpy as np
import pytest
import torch

from skflux import EmergenceTimeLocator, FluxEmergenceClassifier, MonthBlockEnsemble
from skflux.datasets import make_flux_emergence

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

SMALL = dict(module__widths=(4, 4, 8, 8), module__top=8, module__dense=8,
             max_epochs=2, lr=0.01, batch_size=8, random_state=0)


@pytest.fixture(scope="module")
def videos():
    return make_flux_emergence(60, random_state=0, n_frames=16, size=16)


def test_weights_saved_on_cpu_give_same_probabilities_on_cuda(videos, tmp_path):
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    y = videos["label"].values
    cpu = FluxEmergenceClassifier(valid_months=None, **SMALL).fit(videos, y)
    cpu.save_params(f_params=tmp_path / "w.pt")
    gpu = FluxEmergenceClassifier(valid_months=None, device="cuda", module__n_frames=16,
                                  module__in_size=16, **SMALL).initialize()
    gpu.load_params(f_params=tmp_path / "w.pt")
    assert next(gpu.module_.parameters()).is_cuda
    np.testing.assert_allclose(gpu.predict_proba(videos), cpu.predict_proba(videos), atol=1e-4)


def test_ensemble_and_locator_on_cuda_match_member_predictions(videos):
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    y = videos["label"].values
    ens = MonthBlockEnsemble(FluxEmergenceClassifier(device="cuda", **SMALL), n_seeds=1)
    ens.fit(videos, y)
    members = ens.predict_proba_members(videos)
    own = np.stack([m.predict_proba(videos)[:, 1] for m in ens.estimators_])
    np.testing.assert_allclose(members, own, atol=1e-5)
    fast = EmergenceTimeLocator(ens, lower_bound=2, method="fast").fit()
    naive = EmergenceTimeLocator(ens, lower_bound=2, method="naive").fit()
    cf = fast.emergence_curves(videos.isel(video=slice(0, 6)))
    cn = naive.emergence_curves(videos.isel(video=slice(0, 6)))
    np.testing.assert_allclose(cf, cn, atol=1e-4)
