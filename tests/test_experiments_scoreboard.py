"""The ring scoreboard: nested training lengths on one recording, series over data sets, their figure."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from circuitlib import plot  # noqa: E402
from circuitlib.experiments.scoreboard import Scoreboard, length_name, training_lengths  # noqa: E402
from circuitlib.sim import ring  # noqa: E402


def test_training_lengths_are_nested_prefixes_scored_on_the_same_held_out_data():
    sets = training_lengths("lnp", [0.4, 0.2], held_out=0.1, seed=0)
    short, long = sets[length_name("lnp", 0.2)], sets[length_name("lnp", 0.4)]
    assert short["train"].n_steps == 2000 and long["train"].n_steps == 4000
    assert torch.equal(long["train"].slice(0, 2000).to_dense(), short["train"].to_dense())
    assert short["test"] is long["test"] and short["validation"].n_steps == 1000
    full = ring.simulate("lnp", duration=0.6, seed=0)
    assert torch.equal(full.slice(5000, 6000).to_dense(), long["test"].to_dense())
    with pytest.raises(ValueError, match="positive"):
        training_lengths("lnp", [0.0, 0.2], held_out=0.1)


def test_series_and_the_length_figure_read_each_data_set():
    w = ring.mexican_hat()
    board = Scoreboard(w)
    names = [length_name("threshold", s) for s in (10, 20)]
    for name, noise in zip(names, (1e-3, 0.0)):
        for seed in range(2):
            g = torch.Generator().manual_seed(seed)
            board.add("m", name, w + noise * torch.randn(w.shape, generator=g, dtype=w.dtype), bps=0.5)
    mean, sd = board.series("m", names, "delta")
    assert mean[1] == pytest.approx(0.0, abs=1e-9) and mean[0] > 0.01 and sd[0] > 0 and sd[1] == 0
    board.add("control", names[1], w, bps=0.5)                      # fitted at the longer length only
    fig, ax = plt.subplots()
    plot.against_length(ax, board, ["m", "never fitted", "control"], names, [10, 20])
    assert len(ax.containers) == 2 and ax.get_xscale() == "log"
    assert list(ax.containers[1].lines[0].get_xdata()) == [20]      # drawn where it was fitted
    plt.close(fig)


class _Fixed:
    """A method that predicts nothing: its weights are given."""

    def __init__(self, w):
        self.w = w

    def fit(self, data, validation=None):
        self.weights = self.w
        return self


def test_a_run_keeps_the_whole_inference_error_and_methods_that_predict_nothing_get_no_bps():
    w = ring.mexican_hat()
    board = Scoreboard(w)
    shifted = torch.roll(w, 1, dims=1)
    board.fit("rolled", "d", _Fixed(2 * shifted), train=None)
    r = board.run("rolled", "d")
    assert r["delta"] == pytest.approx(0.13, abs=0.01)                  # chapter 2's calibration point
    assert r["scale"] == pytest.approx(0.5, rel=0.05) and r["error"].delta == r["delta"]
    assert r["bias"] ** 2 + r["variance"] ** 2 == pytest.approx(r["delta"] ** 2)
    assert torch.isnan(torch.tensor(r["bps"])) and r["training_log"] is None
    assert "–" in board.markdown(["rolled"], ["d"]).splitlines()[-1]    # no bits/spike column value
    assert board.values({"rolled": "r"}, ["d", "never"]) == {"delta_r_d": r["delta"]}
    with pytest.raises(KeyError, match="no run"):
        board.run("rolled", "never")


def test_beside_paper_checks_the_number_of_paper_values():
    w = ring.mexican_hat()
    board = Scoreboard(w)
    board.add("m", "a", w)
    table = board.beside_paper(["m", "other"], ["a"], {"m": (0.1,)}, keys=("delta",))
    assert "0.000 / 0.1" in table and "not run / –" in table
    with pytest.raises(ValueError, match="needs 2 values"):
        board.beside_paper(["m"], ["a"], {"m": (0.1,)})


def test_the_profile_and_matrix_grids_draw_one_panel_per_fitted_pair():
    w = ring.mexican_hat()
    board = Scoreboard(w)
    board.add("m", "a", w)
    for fig in (plot.profile_grid(board, ["m", "other"], ["a"], w), plot.matrix_grid(board, ["m", "other"], ["a"])):
        visible = [ax for ax in fig.axes if ax.axison]
        assert len([ax for ax in visible if ax.get_title()]) == 1
        plt.close(fig)


def test_prior_table_puts_each_condition_in_its_own_column():
    from circuitlib.experiments.scoreboard import prior_table
    w = ring.mexican_hat()
    board = Scoreboard(w)
    board.add("free", "threshold", w, bps=0.5)
    board.add("shared", "threshold", 2 * w, bps=0.7)
    table = prior_table(board, [("GLM", "free", "shared"), ("GNN", "gnn", None)], ["threshold"],
                        {"GLM": (0.244, 0.695)}).splitlines()
    assert table[0].count("no prior") == 2 and table[0].count("ring prior") == 2
    assert table[2].split(" | ")[1:4] == ["0.000", "0.000", "0.244"]     # Delta is scale-free
    assert table[2].split(" | ")[4:7] == ["0.500", "0.700", "0.695 |"]
    assert table[3].split(" | ")[1:] == ["–"] * 5 + ["– |"]              # never fitted, no paper value
    with pytest.raises(ValueError, match="needs 2 values"):
        prior_table(board, [("GLM", "free", None)], ["threshold"], {"GLM": (0.2,)})
