"""Evaluation tools for heterogeneous assemblies (Allier et al. 2026): latent clustering, the
W·psi scale correction, rollout scores, and formula recovery by sparse regression."""
import numpy as np
import pytest
import torch

from circuitlib import metrics
from circuitlib.infer.symbolic import default_library, format_formula, sparse_regression
from circuitlib.sim.assembly import baseline_types


def test_match_clusters_ignores_label_names():
    true = np.repeat([0, 1, 2, 3], 5)
    acc, mapping = metrics.match_clusters(true, (true + 2) % 4 + 10)
    assert acc == 1.0 and mapping == {10: 2, 11: 3, 12: 0, 13: 1}


def test_match_clusters_counts_one_error():
    true = np.repeat([0, 1, 2, 3], 5)
    pred = true.copy()
    pred[0] = 1
    assert metrics.match_clusters(torch.as_tensor(true), pred)[0] == pytest.approx(19 / 20)


def test_match_clusters_with_different_numbers_of_clusters():
    true = np.repeat([0, 1], 4)
    acc, mapping = metrics.match_clusters(true, [0, 0, 2, 2, 1, 1, 1, 1])  # three clusters, two types
    assert acc == pytest.approx(6 / 8) and len(mapping) == 2 and mapping[1] == 1
    acc, mapping = metrics.match_clusters([0, 1, 2, 3], [0, 0, 1, 1])  # two clusters, four types
    assert acc == pytest.approx(0.5) and len(mapping) == 2


@pytest.mark.parametrize("true, pred", [([0, 1], [0]), ([], [])])
def test_match_clusters_rejects_bad_labels(true, pred):
    with pytest.raises(ValueError):
        metrics.match_clusters(true, pred)


@pytest.mark.parametrize("method", ["kmeans", "hierarchical"])
def test_cluster_latents_finds_four_blobs(method):
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-2.0, -2.0], [-2.0, 2.0], [2.0, -2.0], [2.0, 2.0]])
    types = torch.arange(4).repeat_interleave(30)
    latents = centres[types] + 0.2 * torch.randn(120, 2, generator=gen)
    res = metrics.cluster_latents(latents, k_range=range(2, 8), method=method)
    assert res.k == 4 and set(res.silhouette) == set(range(2, 8))
    assert res.labels.shape == (120,) and metrics.match_clusters(types, res.labels)[0] == 1.0


def test_cluster_latents_of_identical_latents_is_one_cluster():
    res = metrics.cluster_latents(torch.ones(50, 2))
    assert res.k == 1 and (res.labels == 0).all() and res.silhouette == {}


def test_cluster_latents_skips_k_beyond_the_data():
    res = metrics.cluster_latents(np.array([[0.0, 0], [0, 0.1], [5, 5], [5, 5.1]]))
    assert set(res.silhouette) == {2, 3} and res.k == 2


@pytest.mark.parametrize("kwargs", [{"method": "dbscan"}, {"k_range": [1, 2]}, {"k_range": [5, 6]}])
def test_cluster_latents_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        metrics.cluster_latents(np.array([[0.0, 0], [0, 1], [1, 0], [1, 1.0]]), **kwargs)


def test_transfer_scale_removes_the_offset():
    x = torch.linspace(-5, 5, 101, dtype=torch.float64)
    true = torch.stack([torch.tanh(x), torch.tanh(x / 2)])
    learned = torch.tensor([[2.5], [-0.5]]) * true + torch.tensor([[0.3], [1.0]])
    assert torch.allclose(metrics.transfer_scale(learned, true, torch.tensor([0.3, 1.0])),
                          torch.tensor([2.5, -0.5], dtype=torch.float64))
    assert float(metrics.transfer_scale(learned[0], true[0], 0.3)) == pytest.approx(2.5)
    with pytest.raises(ValueError):
        metrics.transfer_scale(learned, true[0])
    with pytest.raises(ValueError):
        metrics.transfer_scale(learned, torch.zeros_like(true))


def test_corrected_weights_multiplies_the_sender_scale_and_divides_the_receiver_gain():
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = metrics.corrected_weights(w, scale=torch.tensor([2.0, 0.5]), gain=torch.tensor([10.0, 4.0]))
    assert torch.allclose(out, torch.tensor([[0.2, 0.1], [1.5, 0.5]], dtype=torch.float64))
    assert torch.allclose(metrics.corrected_weights(w, 2.0, 10.0), w.double() / 5)
    with pytest.raises(ValueError):
        metrics.corrected_weights(w, torch.ones(3), 1.0)
    with pytest.raises(ValueError):
        metrics.corrected_weights(w, 1.0, 0.0)


def test_rollout_scores():
    x = torch.randn(10, 3, 20, generator=torch.Generator().manual_seed(0))
    scores = metrics.rollout_scores(x, x.clone(), steps=(4, 9))
    assert set(scores) == {4, 9}
    assert all(r2 == pytest.approx(1.0) and slope == pytest.approx(1.0) for r2, slope in scores.values())
    assert metrics.rollout_scores(x[:, 0], 2 * x[:, 0], steps=(9,))[9][1] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="outside the rollout"):
        metrics.rollout_scores(x, x, steps=(10,))
    with pytest.raises(ValueError):
        metrics.rollout_scores(x, x[:, 0])


X = torch.linspace(-5, 5, 200, dtype=torch.float64)


@pytest.mark.parametrize("k", range(4))
def test_sparse_regression_recovers_the_baseline_phi(k):
    params = baseline_types()
    coefs = sparse_regression(X, params.phi(X)[k], default_library())
    assert set(coefs) == {"x", "tanh(x)"}
    assert coefs["x"] == pytest.approx(-1 / float(params.tau[k]), abs=1e-6)
    assert coefs["tanh(x)"] == pytest.approx(float(params.s[k]), abs=1e-6)


def test_sparse_regression_recovers_a_psi_with_width_four():
    coefs = sparse_regression(X, torch.tanh(X / 4), default_library())
    assert list(coefs) == ["tanh(x/4)"] and coefs["tanh(x/4)"] == pytest.approx(1.0, abs=1e-6)


def test_default_library_names_and_formula():
    names = [t.name for t in default_library()]
    assert names == ["1", "x", "tanh(8x)", "tanh(4x)", "tanh(2x)", "tanh(x)", "tanh(x/2)", "tanh(x/4)", "tanh(x/8)"]
    assert format_formula({"x": -1.998, "tanh(x)": 1.0}) == "-1.998 x + 1.000 tanh(x)"
    assert format_formula({"1": 0.3, "x": -0.5}) == "0.300 - 0.500 x"
    assert format_formula({}) == "0"


@pytest.mark.parametrize("args, kwargs", [
    ((X, X[:-1]), {}),
    ((X, X), {"max_terms": 0}),
    ((X, X * float("nan")), {}),
])
def test_sparse_regression_rejects_bad_inputs(args, kwargs):
    with pytest.raises(ValueError):
        sparse_regression(*args, default_library(), **kwargs)


@pytest.mark.parametrize("gammas", [(1, 1), (0, 2)])
def test_default_library_rejects_bad_widths(gammas):
    with pytest.raises(ValueError):
        default_library(gammas)
