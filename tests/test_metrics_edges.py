"""Edge detection scores (metrics.edge_scores) on planted cases with known answers."""
import pytest
import torch

from circuitlib.metrics import EdgeScores, edge_scores

N = 100


def sparse_w(seed: int = 0, density: float = 0.1) -> torch.Tensor:
    """A directed [N, N] W with about ``density`` of the off-diagonal pairs connected, signed ±1."""
    gen = torch.Generator().manual_seed(seed)
    edges = torch.rand(N, N, generator=gen) < density
    edges.fill_diagonal_(False)
    signs = torch.where(torch.rand(N, N, generator=gen) < 0.8, 1.0, -1.0)
    return (edges * signs).double()


def test_a_perfect_ranking_scores_one_and_chance_is_reported():
    w = sparse_w()
    s = edge_scores(w, 3 * w)
    assert isinstance(s, EdgeScores)
    assert s.auroc == 1.0 and s.average_precision == 1.0 and s.sign_accuracy == 1.0
    off = ~torch.eye(N, dtype=torch.bool)
    assert s.n_pairs == N * (N - 1) and s.n_edges == int((w[off] != 0).sum())
    assert s.chance_auroc == 0.5 and s.chance_ap == pytest.approx(s.n_edges / s.n_pairs)


def test_a_reversed_ranking_scores_zero_auc_and_a_diagonal_is_ignored():
    w = sparse_w()
    est = torch.where(w != 0, 0.1, 1.0)                   # every non-edge above every edge
    est.fill_diagonal_(1e6)                               # the diagonal must not enter
    s = edge_scores(w, est)
    assert s.auroc == 0.0 and s.average_precision < s.chance_ap + 0.01


def test_a_random_ranking_scores_chance():
    # Over 200 seeds of a random est_w against this W: AUC sd 0.0093, AP sd 0.0031 (measured);
    # the tolerances are about 4 sd.
    w = sparse_w()
    est = torch.randn(N, N, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    s = edge_scores(w, est)
    assert abs(s.auroc - 0.5) < 0.04
    assert abs(s.average_precision - s.chance_ap) < 0.013


def test_sign_accuracy_counts_edges_with_the_true_sign():
    w = sparse_w()
    est = w.clone()
    edges = torch.nonzero(w).tolist()
    for i, j in edges[: len(edges) // 4]:
        est[i, j] = -w[i, j]                              # a quarter flipped
    for i, j in edges[len(edges) // 4: len(edges) // 2]:
        est[i, j] = 0.0                                   # a quarter missed (zero is no sign)
    s = edge_scores(w, est)
    assert s.sign_accuracy == pytest.approx((len(edges) - len(edges) // 2) / len(edges))


def test_bad_input_is_refused_with_what_is_wrong():
    w = sparse_w()
    with pytest.raises(ValueError, match="one shape"):
        edge_scores(w, w[:50, :50])
    with pytest.raises(ValueError, match="no edges"):
        edge_scores(torch.zeros(N, N), w)
    with pytest.raises(ValueError, match="only edges"):
        edge_scores(torch.ones(N, N), w)
    bad = w.clone()
    bad[0, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        edge_scores(w, bad)
