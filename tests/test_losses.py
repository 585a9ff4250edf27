"""skflux.nn.GeneralizedCrossEntropyLoss: formula, limits, noise robustness, use as criterion."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skflux import FluxEmergenceClassifier
from skflux.nn import GeneralizedCrossEntropyLoss

logit_lists = st.lists(st.floats(-30, 30, allow_nan=False), min_size=1, max_size=20)


def test_q_one_is_mean_absolute_error():
    z = torch.tensor([-2.0, 0.0, 3.0, 1.5])
    y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    p_y = torch.where(y == 1, torch.sigmoid(z), 1 - torch.sigmoid(z))
    loss = GeneralizedCrossEntropyLoss(q=1.0, reduction="none")(z, y)
    torch.testing.assert_close(loss, 1 - p_y)


def test_small_q_tends_to_binary_cross_entropy():
    z = torch.linspace(-6, 6, 13)
    y = (torch.arange(13) % 2).float()
    bce = torch.nn.BCEWithLogitsLoss()(z, y)
    gce = GeneralizedCrossEntropyLoss(q=1e-4)(z, y)
    assert abs(float(gce) - float(bce)) < 1e-3 * float(bce)


@settings(max_examples=60, deadline=None)
@given(logit_lists, st.floats(0.05, 1.0))
def test_bounded_symmetric_and_decreasing_in_the_margin(logits, q):
    z = torch.tensor(logits, dtype=torch.float64)
    loss = GeneralizedCrossEntropyLoss(q=q, reduction="none")
    ones, zeros = torch.ones_like(z), torch.zeros_like(z)
    l1 = loss(z, ones)
    assert torch.all(l1 >= 0) and torch.all(l1 <= 1 / q + 1e-12)
    # the label's sign only flips the logit
    torch.testing.assert_close(l1, loss(-z, zeros))
    # a larger margin for the given label never costs more
    assert torch.all(loss(z + 1.0, ones) <= l1 + 1e-12)


def test_gradients_stay_finite_for_huge_logits():
    z = torch.tensor([-1e4, 1e4, -50.0, 50.0], requires_grad=True)
    y = torch.tensor([1.0, 0.0, 0.0, 1.0])
    GeneralizedCrossEntropyLoss(q=0.3)(z, y).backward()
    assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize("q", [0.3, 0.7])
def test_fits_the_majority_label_not_the_noise_rate(q):
    """A kind of video labelled 1 in 35 % of cases: cross-entropy learns 0.35,
    the robust loss a smaller probability, at its closed-form optimum."""
    noise = 0.35
    y = torch.tensor([1.0] * 35 + [0.0] * 65)
    z = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([z], lr=0.5, max_iter=500, tolerance_grad=1e-12,
                            tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = GeneralizedCrossEntropyLoss(q=q)(z.expand(100), y)
        loss.backward()
        return loss

    opt.step(closure)
    odds = ((1 - noise) / noise) ** (1 / (q - 1))  # from d/dp of the expected loss = 0
    expected = odds / (1 + odds)
    p = float(torch.sigmoid(z.detach()))
    assert p == pytest.approx(expected, abs=1e-3)
    assert p < noise - 0.05


def test_bad_parameters_and_shapes_are_refused():
    with pytest.raises(ValueError, match="q must be in"):
        GeneralizedCrossEntropyLoss(q=0)
    with pytest.raises(ValueError, match="reduction"):
        GeneralizedCrossEntropyLoss(reduction="max")
    with pytest.raises(ValueError, match="3 logits for 2 labels"):
        GeneralizedCrossEntropyLoss()(torch.zeros(3), torch.zeros(2))


def test_classifier_with_the_robust_criterion_gives_sigmoid_probabilities():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 300, size=(12, 16, 16, 16)).astype("float32")
    y = np.array([0, 1] * 6)
    months = np.repeat([1, 2, 3], 4)
    clf = FluxEmergenceClassifier(
        max_epochs=2, valid_months=[3], random_state=0, module__widths=(4, 4, 8, 8),
        module__top=8, module__dense=8, criterion=GeneralizedCrossEntropyLoss,
        criterion__q=0.5)
    clf.fit(X, y, groups=months)
    assert isinstance(clf.criterion_, GeneralizedCrossEntropyLoss) and clf.criterion_.q == 0.5
    # the validation accuracy (computed through predict) was recorded every epoch
    assert len([h["valid_acc"] for h in clf.history]) == 2
    proba = clf.predict_proba(X)
    with torch.no_grad():
        logits = clf.module_(torch.as_tensor(np.clip(X, -1000, 1000) / 1000)).numpy()
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-logits)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
