"""Low-rank fits on planted networks: loadings up to a linear map, minimum-norm n, the degeneracy."""
import numpy as np
import pytest
import torch

from circuitlib.data import RateActivity
from circuitlib.infer import lowrank as il
from circuitlib.sim import lowrank as lr


@pytest.fixture(scope="module")
def planted():
    dist = lr.task("ring")
    m, n = lr.sample(dist, 400, seed=0, device="cpu")
    rec = lr.simulate(m, n, lr.initial_latents(30, seed=1) @ m.T, duration=10.0, dt=0.1, device="cpu")
    return dist, m, n, rec


def corr(a, b):
    return float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])


def test_pca_recovers_m_up_to_a_linear_map(planted):
    _, m, _, rec = planted
    m_hat = il.recover_loadings(rec.x, 2)
    assert torch.allclose(m_hat.T @ m_hat / len(m_hat), torch.eye(2, dtype=m_hat.dtype), atol=1e-10)
    assert torch.allclose(il.align(m_hat, m), m, atol=1e-8)
    fit = il.MaxEntFit(align_to=m).fit(rec)  # the fit recovers and aligns the loadings itself
    assert torch.equal(fit.pca_loadings, m_hat) and torch.allclose(fit.m, m, atol=1e-8)
    assert torch.allclose(fit.pca_loadings @ fit.alignment, fit.m)


def test_connectivity_does_not_depend_on_the_basis_of_the_loadings(planted):
    _, m, _, rec = planted
    pca, aligned = il.MaxEntFit().fit(rec), il.MaxEntFit(align_to=m).fit(rec)
    assert torch.equal(pca.alignment, torch.eye(2, dtype=pca.alignment.dtype))
    assert not torch.allclose(pca.n, aligned.n, atol=1e-3)
    assert torch.allclose(pca.weights, aligned.weights, atol=1e-8)


def test_min_norm_fit_lies_in_the_data_span_and_reproduces_the_field(planted):
    dist, m, n, rec = planted
    fit = il.MaxEntFit(align_to=m).fit(rec)
    phi, y = il.latent_targets(rec.x, fit.m, rec.dt)
    assert float((phi @ fit.n / len(m) - y).abs().max()) < 1e-3  # fits every Euler step
    grid = lr.latent_grid()
    assert il.field_error(m, n, fit.m, fit.n, grid) < 0.02
    assert corr(fit.n, dist.conditional_mean(m)) > 0.95
    assert fit.n.norm() < n.norm()  # the planted n carries an unconstrained part; the fit does not
    assert torch.allclose(fit.weights, fit.m @ fit.n.T / 400) and fit.weights.dtype == torch.float64


def test_standard_fit_keeps_the_initial_part_outside_the_data(planted):
    dist, m, n, rec = planted
    n0 = torch.randn(400, 2, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    fit = il.StandardFit(steps=300, n_init=n0, align_to=m).fit(rec)
    min_norm = il.MaxEntFit(align_to=m).fit(rec).n
    grid = lr.latent_grid()
    assert il.field_error(m, n, fit.m, fit.n, grid) < 0.02
    kept = fit.n - min_norm  # what gradient descent did not remove
    assert corr(kept, n0) > 0.9
    assert corr(fit.n, dist.conditional_mean(m)) < 0.9


def test_joint_fit_learns_m_and_n_from_a_random_start_and_keeps_the_start_outside_the_data(planted):
    _, m, n, rec = planted
    grid = lr.latent_grid(2.0, 11)
    fits = [il.JointFit(seed=s, align_to=m, steps=2000).fit(rec) for s in (0, 1)]
    maxent = il.MaxEntFit(align_to=m).fit(rec)
    for f in fits:
        assert f.training_log[-1]["loss"] < 1e-3 * f.training_log[0]["loss"]
        assert float((f.m - m).norm() / m.norm()) < 1e-3             # m: the true one after the map A
        assert il.field_error(m, n, f.m, f.n, grid) < 0.05            # the dynamics are reproduced
        assert torch.allclose(f.weights, f.m @ f.n.T / len(m))
        assert corr(il.data_constrained_part(f.n, rec), maxent.n) > 0.9
    # the starts differ in n, mostly outside the span the data constrain
    assert corr(fits[0].n, fits[1].n) < 0.9
    parts = [il.data_constrained_part(f.n, rec) for f in fits]
    assert corr(*parts) > corr(fits[0].n, fits[1].n) + 0.1


def test_mixture_likelihood_finds_planted_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[3, 3], [3, -3], [-3, 3], [-3, -3]])
    pts = centres[rng.integers(0, 4, 800)] + rng.normal(size=(800, 2))
    assert np.argmax(il.mixture_cv_loglik(pts, ks=range(1, 7), folds=3)) + 1 == 4
    assert np.argmax(il.mixture_cv_loglik(rng.normal(size=(800, 2)), ks=range(1, 5), folds=3)) + 1 == 1


@pytest.mark.parametrize("call, match", [
    (lambda rec, m: il.recover_loadings(rec.x, 400), "rank"),
    (lambda rec, m: il.recover_loadings(rec.x[0], 2), r"\[B, T, N\]"),
    (lambda rec, m: il.MaxEntFit(align_to=m[:100]).fit(rec), "rows"),
    (lambda rec, m: il.StandardFit(n_init=m[:100]).fit(rec), "shape of m"),
    (lambda rec, m: il.StandardFit(n_init=m[:, :1]), "shape of m"),
    (lambda rec, m: il.StandardFit(lr=3.0), "lr"),
    (lambda rec, m: il.MaxEntFit().fit(rec.x), "RateActivity"),
    (lambda rec, m: il.MaxEntFit().fit(RateActivity(rec.x, rec.dt, inputs=rec.x)), "no external input"),
    (lambda rec, m: il.MaxEntFit().weights, "call .fit"),
    (lambda rec, m: il.JointFit(steps=0), "steps >= 1"),
    (lambda rec, m: il.JointFit(align_to=m[:100]).fit(rec), r"align_to must be \[N, R\]"),
    (lambda rec, m: il.JointFit().fit(rec.x), "RateActivity"),
])
def test_bad_input_raises_a_clear_error(planted, call, match):
    _, m, _, rec = planted
    with pytest.raises(ValueError, match=match):
        call(rec, m)
