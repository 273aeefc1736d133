"""Low-rank tanh networks: exact-moment sampling, the mean-field ring, latent dynamics, bad input."""
import pytest
import torch

from circuitlib.sim import lowrank as lr


def test_exact_moment_sampling_matches_target_covariance():
    for dist in (lr.task("limit_cycle"), lr.four_population_ring()):
        m, n = lr.sample(dist, 600, seed=3, device="cpu")
        mn = torch.cat([m, n], 1)
        target = sum(w * (c + mu[:, None] * mu[None]) for w, mu, c in zip(dist.weights, dist.means, dist.covs))
        assert torch.allclose(mn.T @ mn / len(mn), target, atol=1e-10)
    m, n = lr.sample(lr.task("ring"), 600, seed=3, exact=False, device="cpu")
    assert not torch.allclose(m.T @ m / 600, torch.eye(2, dtype=m.dtype), atol=1e-3)  # plain draws scatter


def test_same_seed_same_network():
    a = lr.sample(lr.task("ring"), 100, seed=7, device="cpu")
    b = lr.sample(lr.task("ring"), 100, seed=7, device="cpu")
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_mean_field_ring_radius():
    assert lr.mean_field_ring_radius(1.6) == pytest.approx(0.948, abs=5e-4)
    m, n = lr.sample(lr.task("ring"), 20_000, seed=0, device="cpu")
    final = lr.simulate_latent(m, n, lr.initial_latents(16, seed=1), duration=40.0, record_every=400)[:, -1]
    assert lr.ring_radius(final) == pytest.approx(0.948, rel=0.01)
    assert float(final.norm(dim=1).std()) < 0.02  # every trial ends on the ring


def test_four_population_ring_has_the_ring_conditional_mean():
    dist = lr.four_population_ring()
    m, _ = lr.sample(dist, 400, seed=0, device="cpu")
    assert torch.allclose(dist.conditional_mean(m), 1.6 * m, atol=1e-12)


def test_network_activity_stays_in_span_of_m_and_matches_latent_dynamics():
    m, n = lr.sample(lr.task("limit_cycle"), 500, seed=1, device="cpu")
    k0 = lr.initial_latents(3, seed=2)
    x = lr.simulate(m, n, k0 @ m.T, duration=5.0, device="cpu").x
    k = lr.simulate_latent(m, n, k0, duration=5.0, device="cpu")
    assert torch.allclose(lr.latent(x, m), k, atol=1e-10)
    assert torch.allclose(x, lr.latent(x, m) @ m.T, atol=1e-10)


def test_input_drives_an_unconnected_network_to_u():
    m = torch.zeros(50, 1, dtype=torch.float64)
    u = torch.linspace(-1, 1, 50)
    rec = lr.simulate(m, m, torch.zeros(1, 50), duration=30.0, u=u, record_every=300, device="cpu")
    assert torch.allclose(rec.x[0, -1], u.double(), atol=1e-6)
    assert rec.dt == pytest.approx(30.0) and torch.equal(rec.inputs[0, 0], u.double())


@pytest.mark.parametrize("call, match", [
    (lambda: lr.sample(lr.task("ring"), 2), "rank"),
    (lambda: lr.gaussian([[3.0, 0.0], [0.0, 1.6]]), "positive definite"),
    (lambda: lr.Loadings(torch.ones(2), torch.zeros(2, 4), torch.eye(4)[None]), "agree in P"),
    (lambda: lr.latent_field(torch.ones(10, 2), torch.ones(10, 3), torch.zeros(1, 2)), "same shape"),
    (lambda: lr.latent_field(torch.ones(2, 2), torch.ones(2, 2), torch.zeros(1, 2)), "smaller than"),
    (lambda: lr.simulate(torch.ones(10, 2), torch.ones(10, 2), torch.zeros(1, 10), dt=1.5), "dt"),
    (lambda: lr.task("spiral"), "unknown task"),
])
def test_bad_input_raises_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_heavy_tailed_ring_has_the_ring_moments_and_power_law_tails():
    dist = lr.heavy_tailed_ring(dof=3.0)
    m, n = lr.sample(dist, 20_000, seed=0, device="cpu")
    mn = torch.cat([m, n], 1)
    assert torch.allclose(mn.T @ mn / len(mn), dist.covs[0], atol=1e-10)      # exact moments, as for Gaussians
    assert torch.allclose(dist.conditional_mean(m), 1.6 * m, atol=1e-12)
    gauss, _ = lr.sample(lr.task("ring"), 20_000, seed=0, device="cpu")
    # P(|m| > 4) is exp(-8) = 3e-4 for the Gaussian ring; a Student-t with 3 dof puts about 1.5 % there
    assert float((m.norm(dim=1) > 4).double().mean()) > 0.008 > float((gauss.norm(dim=1) > 4).double().mean())


def test_student_t_responsibilities_follow_the_t_density():
    # two t populations of m at -2 and +2: a point far out on the right belongs to the right one,
    # but less surely than under Gaussians, whose tails fall faster
    cov = torch.eye(2, dtype=torch.float64)[None].expand(2, 2, 2).clone()
    means = torch.tensor([[-2.0, 0.0], [2.0, 5.0]], dtype=torch.float64)     # n mean 0 or 5 by population
    m = torch.tensor([[-1.0], [0.5]], dtype=torch.float64)
    t_mean = lr.Loadings(torch.ones(2), means, cov, dof=3.0).conditional_mean(m)
    g_mean = lr.Loadings(torch.ones(2), means, cov).conditional_mean(m)
    assert 0 < t_mean[0, 0] < 2.5 and 0 < g_mean[0, 0] < 2.5                   # left point: mostly population 0
    assert g_mean[1, 0] > t_mean[1, 0] > 2.5                                    # right point: the t is less sure


def test_quadstable_has_four_stable_fixed_points_on_the_axes():
    dist = lr.quadstable()
    m, n = lr.sample(dist, 20_000, seed=0, device="cpu")
    assert torch.allclose(dist.conditional_mean(m), 1.6 * m, atol=1e-10)
    final = lr.simulate_latent(m, n, lr.initial_latents(64, seed=1), duration=40.0, record_every=400)[:, -1]
    points = torch.unique((final * 10).round() / 10, dim=0)
    assert len(points) == 4
    assert torch.allclose(points.abs().max(1).values, torch.full((4,), 1.4, dtype=points.dtype), atol=0.05)
    assert torch.allclose(points.abs().min(1).values, torch.zeros(4, dtype=points.dtype), atol=0.05)


@pytest.mark.parametrize("call, match", [
    (lambda: lr.heavy_tailed_ring(dof=2.0), "dof must be > 2"),
    (lambda: lr.quadstable(spread=0.0), "must be > 0"),
])
def test_non_gaussian_loadings_refuse_bad_parameters(call, match):
    with pytest.raises(ValueError, match=match):
        call()
