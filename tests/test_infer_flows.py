"""Flow matching in plain torch: a 2-D Gaussian, a conditional linear map, connectivity sampling."""
import pytest
import torch

from circuitlib.infer.flows import ConditionalFlow, ConnectivityFlow, FlowConfig, GaussianConnectivity

SMALL = FlowConfig(hidden=64, layers=3, steps=1200, batch=256)


def test_flow_matching_learns_a_2d_gaussian():
    gen = torch.Generator().manual_seed(0)
    cov = torch.tensor([[2.0, 0.8], [0.8, 0.5]])
    mean = torch.tensor([1.0, -2.0])
    z = torch.randn(4000, 2, generator=gen) @ torch.linalg.cholesky(cov).T + mean
    flow = ConditionalFlow(2, config=SMALL, device="cpu").fit(z)
    losses = [r["loss"] for r in flow.training_log]
    assert len(losses) == SMALL.steps and sum(losses[-100:]) / 100 < sum(losses[:100]) / 100
    s = flow.sample(20_000, seed=1)
    assert torch.allclose(s.mean(0), mean, atol=0.1)
    assert torch.allclose(torch.cov(s.T), cov, atol=0.15)


def test_conditional_flow_learns_a_conditional_mean_and_the_residual_is_explicit():
    gen = torch.Generator().manual_seed(1)
    m = torch.randn(3000, 2, generator=gen)
    n = 1.6 * m + 0.1 * torch.randn(3000, 2, generator=gen)
    flows = ConnectivityFlow(2, SMALL, device="cpu").fit(m, n)
    m_s, n_s = flows.sample(10_000, seed=2)
    slope = torch.linalg.lstsq(m_s, n_s).solution
    assert torch.allclose(slope, 1.6 * torch.eye(2, dtype=slope.dtype), atol=0.1)
    assert torch.allclose(torch.cov(m_s.T), torch.eye(2, dtype=m_s.dtype), atol=0.1)
    _, n_r = flows.sample(10_000, residual_std=1.0, seed=2)
    assert float((n_r - n_s).var()) == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("call, match", [
    (lambda: ConditionalFlow(2).sample(10), "not trained"),
    (lambda: ConditionalFlow(2, device="cpu").fit(torch.zeros(10, 3)), "columns"),
    (lambda: ConnectivityFlow(2, device="cpu").fit(torch.zeros(10, 2), torch.zeros(9, 2)), "same N"),
    (lambda: ConnectivityFlow(2, device="cpu").sample(10), "not trained"),
    (lambda: FlowConfig(steps=0), ">= 1"),
    (lambda: GaussianConnectivity(2).sample(10), "not fitted"),
    (lambda: GaussianConnectivity(2).fit(torch.zeros(10, 3), torch.zeros(10, 3)), r"\[N, 2\]"),
])
def test_bad_input_raises_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_the_gaussian_baseline_holds_the_moments_of_the_loadings():
    gen = torch.Generator().manual_seed(3)
    m = torch.randn(5000, 2, generator=gen, dtype=torch.float64) * torch.tensor([1.0, 2.0], dtype=torch.float64)
    n = 1.6 * m + 0.5 * torch.randn(5000, 2, generator=gen, dtype=torch.float64)
    fitted = GaussianConnectivity(2).fit(m, n)
    m_s, n_s = fitted.sample(50_000, seed=4)
    assert m_s.shape == n_s.shape == (50_000, 2) and m_s.dtype == torch.float64
    assert torch.allclose(torch.cov(torch.cat([m_s, n_s], 1).T), fitted.cov, rtol=0.05, atol=0.05)
    slope = torch.linalg.lstsq(m_s, n_s).solution
    assert torch.allclose(slope, 1.6 * torch.eye(2, dtype=slope.dtype), atol=0.05)
    _, noisy = fitted.sample(50_000, residual_std=1.0, seed=4)
    assert torch.allclose((noisy - n_s).std(0), torch.ones(2, dtype=n_s.dtype), atol=0.02)


def test_right_loadings_may_be_wider_than_the_left():
    gen = torch.Generator().manual_seed(5)
    m = torch.randn(400, 3, generator=gen, dtype=torch.float64)
    n = torch.cat([m[:, :2], -m[:, :2]], 1) + 0.1 * torch.randn(400, 4, generator=gen, dtype=torch.float64)
    for sampler in (ConnectivityFlow(3, FlowConfig(hidden=32, steps=50), device="cpu"), GaussianConnectivity(3)):
        m_s, n_s = sampler.fit(m, n).sample(100, seed=1)
        assert m_s.shape == (100, 3) and n_s.shape == (100, 4)
    slope = torch.linalg.lstsq(m_s, n_s).solution                 # the Gaussian's E[n | m] is the regression
    assert torch.allclose(slope[:2, :2], torch.eye(2, dtype=slope.dtype), atol=0.3)
