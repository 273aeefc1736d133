"""seqNMF, TCA and the correlation baselines on small planted data where the answer is known."""
import numpy as np
import pytest
import torch

from circuitlib.infer.correlation import Correlation
from circuitlib.infer.seqnmf import SeqNMF, reconstruct
from circuitlib.infer.tca import TCA, cp_als


def planted_sequences(seed=0, n_bins=3000):
    """Counts [T, 8] made of two 2-step sequences: neuron 0 then 1, and neuron 4 then 6."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.zeros(8, 2, 2, dtype=torch.float64)
    w[0, 0, 0] = w[1, 0, 1] = 1.0
    w[4, 1, 0] = w[6, 1, 1] = 1.0
    h = (torch.rand(2, n_bins, generator=gen) < 0.05).to(torch.float64)
    return reconstruct(w, h).T, w


def test_seqnmf_finds_planted_sequences_and_their_lagged_pairs():
    x, w_true = planted_sequences()
    fit = SeqNMF(n_components=2, lags=2, lam=0.0, bin_width=1.0, n_iter=300).fit(x)
    assert fit.loss < 0.02
    # each learned template matches one planted template (cosine > 0.95), in some order
    flat_l = fit.templates.permute(1, 0, 2).reshape(2, -1)
    flat_t = w_true.permute(1, 0, 2).reshape(2, -1)
    cos = torch.nn.functional.normalize(flat_l, dim=1) @ torch.nn.functional.normalize(flat_t, dim=1).T
    assert max(cos[0, 0] * cos[1, 1], cos[0, 1] * cos[1, 0]) > 0.95**2
    # E pairs lag 0 with lag 1: the two planted transitions are its two largest entries
    top = set(torch.topk(fit.weights.flatten(), 2).indices.tolist())
    assert top == {0 * 8 + 1, 4 * 8 + 6}


def test_seqnmf_penalty_keeps_factors_nonnegative():
    x, _ = planted_sequences(seed=1, n_bins=500)
    fit = SeqNMF(n_components=4, bin_width=1.0, n_iter=50).fit(x)
    assert (fit.templates >= 0).all() and (fit.activations >= 0).all()


def test_cp_als_recovers_an_exact_low_rank_tensor():
    gen = torch.Generator().manual_seed(0)
    factors = [torch.randn(s, 3, generator=gen, dtype=torch.float64) for s in (6, 40, 5)]
    x = torch.einsum("ir,jr,kr->ijk", *factors)
    (a, b, c), sweeps = cp_als(x, 3, 500, 1e-12, torch.Generator().manual_seed(1))
    assert (x - torch.einsum("ir,jr,kr->ijk", a, b, c)).norm() / x.norm() < 1e-6


def test_tca_interaction_matrix_is_the_outer_product_of_a_planted_neuron_factor():
    gen = torch.Generator().manual_seed(0)
    a = torch.tensor([3.0, 2.0, 1.0, 0.5, 0.0, 1.5], dtype=torch.float64)
    within = torch.rand(200, generator=gen, dtype=torch.float64)
    across = torch.rand(10, generator=gen, dtype=torch.float64)
    drive = torch.outer(across, within).flatten()  # segment k, bin t: across[k] * within[t]
    x = drive[:, None] * a[None, :]  # [2000, 6], rank one as a (neuron, time, segment) tensor
    fit = TCA(rank=1, n_segments=10, bin_width=1.0, smoothing=0.0).fit(x)
    assert fit.fit_error < 1e-8 and fit.dropped_bins == 0
    e = fit.weights
    assert torch.corrcoef(torch.stack([e.flatten(), torch.outer(a, a).flatten()]))[0, 1] > 0.999
    assert e.sum() > 0  # sign fixed: time and segment factors sum to positive numbers


def test_tca_reports_bins_that_do_not_fill_a_segment():
    x = torch.rand(1005, 4, dtype=torch.float64)
    fit = TCA(rank=2, n_segments=10, bin_width=1.0, n_iter=5).fit(x)
    assert fit.dropped_bins == 5 and fit.time_factors.shape == (100, 2)


def test_correlations_match_numpy_and_a_planted_precision_matrix():
    rng = np.random.default_rng(0)
    prec = np.eye(5) * 2.0
    for i in range(4):
        prec[i, i + 1] = prec[i + 1, i] = -0.8  # a chain: only neighbours are conditionally dependent
    x = rng.multivariate_normal(np.zeros(5), np.linalg.inv(prec), size=200_000) + 10.0
    pearson = Correlation("pearson", bin_width=1.0).fit(x).weights.numpy()
    ref = np.corrcoef(x.T)
    np.fill_diagonal(ref, 0.0)
    assert np.allclose(pearson, ref, atol=1e-10)
    partial = Correlation("partial", bin_width=1.0).fit(x).weights.numpy()
    assert partial[0, 1] == pytest.approx(0.4, abs=0.01)  # 0.8 / sqrt(2 * 2)
    assert abs(partial[0, 2]) < 0.01 and abs(partial[1, 3]) < 0.01
    assert pearson[0, 2] > 0.1  # the marginal correlation that partial correlation explains away


def test_factorisations_and_correlations_refuse_bad_input():
    with pytest.raises(ValueError, match="constant counts"):
        Correlation(bin_width=1.0).fit(torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]]) + torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="kind"):
        Correlation("spearman")
    with pytest.raises(ValueError, match="lags"):
        SeqNMF(lags=1)
    with pytest.raises(ValueError, match="segments"):
        TCA(n_segments=10, bin_width=1.0).fit(torch.rand(15, 3))
    with pytest.raises(ValueError, match="negative"):
        SeqNMF(bin_width=1.0).fit(-torch.rand(20, 3))


def test_lag_window_finds_a_lagged_pair_that_zero_lag_misses():
    # neuron 1 repeats neuron 0's spikes 3 bins later; neurons 2, 3 are independent
    gen = torch.Generator().manual_seed(0)
    x = torch.poisson(torch.full((20_000, 4), 0.05), generator=gen)
    x[3:, 1] = x[:-3, 0]
    zero = Correlation(bin_width=1.0).fit(x)
    lagged = Correlation(bin_width=1.0, max_lag=5.0).fit(x)
    assert zero.lag is None and abs(zero.weights[1, 0]) < 0.05
    assert lagged.weights[1, 0] > 0.9 and lagged.lag[1, 0] == 3      # sender 0 leads receiver 1 by 3 bins
    assert abs(lagged.weights[0, 1]) < 0.05                           # directed: 1 never leads 0
    off = ~torch.eye(4, dtype=torch.bool)
    off[1, 0] = False
    assert lagged.weights[off].abs().max() < 0.05
    with pytest.raises(ValueError, match="pearson"):
        Correlation("partial", max_lag=0.01)
