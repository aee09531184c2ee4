"""Pretraining losses and metadata targets: masked values contribute nothing, no NaNs, correct values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from prism.losses import (
    acquisition_loss,
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    info_nce_loss,
    metadata_loss,
    reconstruction_loss,
    region_loss,
)
from prism.vocabulary import (
    BODY_REGIONS,
    REGION_IGNORE_INDEX,
    denormalise_acquisition,
    normalise_acquisition,
    region_index,
)


def test_normalise_acquisition_scale_mask_and_inverse():
    values, valid = normalise_acquisition([2000.0, 5.0, None], [90.0, 2.0, float("nan")], [90.0, 15.0, 30.0])
    assert values.shape == valid.shape == (3, 3) and values.dtype == torch.float32
    assert valid.tolist() == [[True, True, True], [True, True, True], [False, False, True]]
    assert values[2, :2].tolist() == [0.0, 0.0]  # missing values are zero-filled, never invented
    assert values[0, 2] == pytest.approx(1.0)
    assert values[0, 0] == pytest.approx(math.log1p(2000) / math.log1p(10000))
    assert 0.0 < values[:2, :].min() and values.max() <= 1.0
    tr, te, fa = denormalise_acquisition(values[:2])
    assert torch.allclose(tr, torch.tensor([2000.0, 5.0]), rtol=1e-4)
    assert torch.allclose(te, torch.tensor([90.0, 2.0]), rtol=1e-4)
    assert torch.allclose(fa, torch.tensor([90.0, 15.0]), rtol=1e-5)
    scalar, scalar_valid = normalise_acquisition(500.0, None, 90)
    assert scalar.shape == (3,) and scalar_valid.tolist() == [True, False, True]


def test_normalise_acquisition_rejects_impossible_values():
    with pytest.raises(ValueError, match="TR contains a negative"):
        normalise_acquisition([-1.0], [10.0], [90.0])
    with pytest.raises(ValueError, match="flip angle contains an infinite"):
        normalise_acquisition([1.0], [10.0], [float("inf")])
    with pytest.raises(ValueError, match="shapes differ"):
        normalise_acquisition([1.0, 2.0], [10.0], [90.0])


def test_region_vocabulary():
    assert BODY_REGIONS[0] == "brain" and "other" in BODY_REGIONS
    assert region_index("Prostate") == BODY_REGIONS.index("pelvis")
    assert region_index("heart") == BODY_REGIONS.index("chest")
    assert region_index("head neck") == BODY_REGIONS.index("head_neck")
    assert region_index(None) == region_index("") == REGION_IGNORE_INDEX
    with pytest.raises(ValueError, match="did you mean 'brain'"):
        region_index("brian")


def test_masked_metadata_value_contributes_nothing():
    target, valid = normalise_acquisition([2000.0, 500.0], [90.0, None], [90.0, float("nan")])
    pred = torch.rand(2, 3, requires_grad=True)
    loss = acquisition_loss(pred, target, valid)
    loss.backward()
    assert pred.grad[1, 1] == 0 and pred.grad[1, 2] == 0
    assert (pred.grad[valid] != 0).all()
    expected = (pred.detach() - target).abs()[valid].mean()
    assert torch.allclose(loss, expected)
    # Changing the prediction or the (even NaN) target at a missing entry changes nothing.
    pred2 = pred.detach().clone()
    pred2[1, 1] = 100.0
    target2 = target.clone()
    target2[1, 2] = float("nan")
    assert torch.equal(acquisition_loss(pred2, target2, valid), loss.detach())


def test_all_missing_batch_is_zero_with_graph_not_nan():
    pred = torch.rand(2, 3, requires_grad=True)
    target = torch.full((2, 3), float("nan"))
    loss = acquisition_loss(pred, target, torch.zeros(2, 3, dtype=torch.bool))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros(2, 3))
    logits = torch.randn(2, len(BODY_REGIONS), requires_grad=True)
    rloss = region_loss(logits, torch.tensor([REGION_IGNORE_INDEX, REGION_IGNORE_INDEX]))
    assert rloss.item() == 0.0 and rloss.requires_grad
    total = metadata_loss(pred, target, torch.zeros(2, 3, dtype=torch.bool), logits, torch.tensor([-1, -1]))
    assert not torch.isnan(total) and total.item() == 0.0


def test_region_loss_ignores_unknown():
    logits = torch.randn(3, len(BODY_REGIONS), requires_grad=True)
    target = torch.tensor([0, REGION_IGNORE_INDEX, 5])
    loss = region_loss(logits, target)
    assert torch.allclose(loss, F.cross_entropy(logits[[0, 2]], target[[0, 2]]))
    loss.backward()
    assert torch.equal(logits.grad[1], torch.zeros(len(BODY_REGIONS)))


def test_metadata_loss_shape_check():
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        acquisition_loss(torch.zeros(2, 3), torch.zeros(2, 2), torch.ones(2, 3, dtype=torch.bool))


def test_reconstruction_loss():
    pred, target = torch.zeros(1, 1, 4, 4, 4), torch.ones(1, 1, 4, 4, 4)
    assert reconstruction_loss(pred, target).item() == 1.0
    mask = torch.zeros(1, 1, 4, 4, 4)
    mask[..., :2] = 1
    target2 = target.clone()
    target2[..., 2:] = 5.0  # outside the mask: ignored
    assert reconstruction_loss(pred, target2, mask).item() == 1.0
    p = torch.zeros(1, 1, 4, 4, 4, requires_grad=True)
    empty = reconstruction_loss(p, target, torch.zeros_like(mask))
    assert empty.item() == 0.0 and empty.requires_grad
    with pytest.raises(ValueError, match="differs"):
        reconstruction_loss(pred, torch.ones(1, 1, 4, 4, 2))


def test_adversarial_losses_softplus_form():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    assert torch.allclose(generator_adversarial_loss(fake), F.softplus(-fake).mean())
    assert torch.allclose(
        discriminator_adversarial_loss(real, fake), F.softplus(-real).mean() + F.softplus(fake).mean()
    )
    # A perfect discriminator has (near) zero loss, and the generator then has a large one.
    assert discriminator_adversarial_loss(torch.full((4,), 20.0), torch.full((4,), -20.0)) < 1e-6
    assert generator_adversarial_loss(torch.full((4,), -20.0)) > 19


def test_info_nce():
    torch.manual_seed(0)
    a = F.normalize(torch.randn(4, 16), dim=1)
    # Twins identical, others orthogonal-ish: low loss; shuffled twins: high loss.
    aligned = info_nce_loss(a, a.clone(), temperature=0.1)
    shuffled = info_nce_loss(a, a[[1, 2, 3, 0]], temperature=0.1)
    assert aligned < shuffled
    # Hand-computed value for direction anchor->positive with negatives from both views.
    p = F.normalize(torch.randn(4, 16), dim=1)
    t = 0.2
    manual = []
    for x, y in ((a, p), (p, a)):
        for i in range(4):
            pos = torch.exp(x[i] @ y[i] / t)
            neg = sum(torch.exp(x[i] @ y[j] / t) for j in range(4) if j != i) + sum(
                torch.exp(x[i] @ x[j] / t) for j in range(4) if j != i
            )
            manual.append(-torch.log(pos / (pos + neg)))
    assert torch.allclose(info_nce_loss(a, p, temperature=t), torch.stack(manual).mean(), atol=1e-5)
    single = info_nce_loss(a[:1].requires_grad_(), p[:1])
    assert single.item() == 0.0 and single.requires_grad
    with pytest.raises(ValueError, match="temperature"):
        info_nce_loss(a, p, temperature=0.0)
    with pytest.raises(ValueError, match=r"\(B, P\)"):
        info_nce_loss(a, p[:2])
