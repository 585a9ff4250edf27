"""The ``device="cuda"`` path: the same results as on the CPU (skipped without a GPU)."""

import numpy as np
import pytest
import torch

from skflux import EmergenceTimeLocator, FluxEmergenceClassifier, MonthBlockEnsemble

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

@pytest.fixture
def videos(tiny_videos):
    return tiny_videos


def test_model_saved_on_cpu_gives_same_probabilities_on_cuda(videos, tiny_classifier,
                                                             tmp_path):
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    y = np.where(videos["label"].values == 1, "emergence", "non-emergence")
    cpu = tiny_classifier(valid_months=None).fit(videos, y)
    cpu.save(tmp_path / "clf")
    gpu = FluxEmergenceClassifier.load(tmp_path / "clf", device="cuda")
    assert next(gpu.module_.parameters()).is_cuda
    np.testing.assert_allclose(gpu.predict_proba(videos), cpu.predict_proba(videos), atol=1e-4)
    np.testing.assert_array_equal(gpu.classes_, cpu.classes_)
    # and back: saved from the GPU, loaded on the CPU
    gpu.save(tmp_path / "from_gpu")
    back = FluxEmergenceClassifier.load(tmp_path / "from_gpu", device="cpu")
    np.testing.assert_allclose(back.predict_proba(videos), cpu.predict_proba(videos), atol=1e-4)


def test_ensemble_and_locator_on_cuda_match_member_predictions(videos, tiny_classifier):
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    y = videos["label"].values
    ens = MonthBlockEnsemble(tiny_classifier(device="cuda"), n_seeds=1)
    ens.fit(videos, y)
    members = ens.predict_proba_members(videos)
    own = np.stack([m.predict_proba(videos)[:, 1] for m in ens.estimators_])
    np.testing.assert_allclose(members, own, atol=1e-5)
    fast = EmergenceTimeLocator(ens, lower_bound=2, method="fast").fit()
    naive = EmergenceTimeLocator(ens, lower_bound=2, method="naive").fit()
    cf = fast.emergence_curves(videos.isel(video=slice(0, 6)))
    cn = naive.emergence_curves(videos.isel(video=slice(0, 6)))
    np.testing.assert_allclose(cf, cn, atol=1e-4)
