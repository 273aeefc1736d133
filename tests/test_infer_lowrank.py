"""Low-rank fits on planted networks: loadings up to a linear map, minimum-norm n, the degeneracy."""
import numpy as np
import pytest
import torch

from circuitlib.infer import lowrank as il
from circuitlib.sim import lowrank as lr


@pytest.fixture(scope="module")
def planted():
    dist = lr.task("ring")
    m, n = lr.sample(dist, 400, seed=0, device="cpu")
    x = lr.simulate(m, n, lr.initial_latents(30, seed=1) @ m.T, duration=10.0, dt=0.1, device="cpu")
    return dist, m, n, x


def corr(a, b):
    return float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])


def test_pca_recovers_m_up_to_a_linear_map(planted):
    _, m, _, x = planted
    m_hat = il.recover_loadings(x, 2)
    assert torch.allclose(m_hat.T @ m_hat / len(m_hat), torch.eye(2, dtype=m_hat.dtype), atol=1e-10)
    assert torch.allclose(il.align(m_hat, m), m, atol=1e-8)


def test_min_norm_fit_lies_in_the_data_span_and_reproduces_the_field(planted):
    dist, m, n, x = planted
    fit = il.MaxEntFit().fit(x, 0.1, m)
    phi, y = il.latent_targets(x, m, 0.1)
    assert float((phi @ fit.n_ / len(m) - y).abs().max()) < 1e-3  # fits every Euler step
    grid = lr.latent_grid()
    assert il.field_error(m, n, m, fit.n_, grid) < 0.02
    assert corr(fit.n_, dist.conditional_mean(m)) > 0.95
    assert fit.n_.norm() < n.norm()  # the planted n carries an unconstrained part; the fit does not
    assert fit.weights.shape == (400, 400)


def test_standard_fit_keeps_the_initial_part_outside_the_data(planted):
    dist, m, n, x = planted
    n0 = torch.randn(400, 2, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    fit = il.StandardFit(steps=300).fit(x, 0.1, m, n0)
    min_norm = il.MaxEntFit().fit(x, 0.1, m).n_
    grid = lr.latent_grid()
    assert il.field_error(m, n, m, fit.n_, grid) < 0.02
    kept = fit.n_ - min_norm  # what gradient descent did not remove
    assert corr(kept, n0) > 0.9
    assert corr(fit.n_, dist.conditional_mean(m)) < 0.9


def test_mixture_likelihood_finds_planted_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[3, 3], [3, -3], [-3, 3], [-3, -3]])
    pts = centres[rng.integers(0, 4, 800)] + rng.normal(size=(800, 2))
    assert np.argmax(il.mixture_cv_loglik(pts, ks=range(1, 7), folds=3)) + 1 == 4
    assert np.argmax(il.mixture_cv_loglik(rng.normal(size=(800, 2)), ks=range(1, 5), folds=3)) + 1 == 1


@pytest.mark.parametrize("call, match", [
    (lambda x, m: il.recover_loadings(x, 400), "rank"),
    (lambda x, m: il.recover_loadings(x[0], 2), r"\[B, T, N\]"),
    (lambda x, m: il.MaxEntFit().fit(x, 0.1, m[:100]), "rows"),
    (lambda x, m: il.StandardFit().fit(x, 0.1, m, m[:, :1]), "shape of m"),
    (lambda x, m: il.StandardFit(lr=3.0), "lr"),
])
def test_bad_input_raises_a_clear_error(planted, call, match):
    _, m, _, x = planted
    with pytest.raises(ValueError, match=match):
        call(x, m)
