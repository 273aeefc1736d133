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
    fig, ax = plt.subplots()
    plot.against_length(ax, board, ["m", "never fitted"], names, [10, 20])
    assert len(ax.containers) == 1 and ax.get_xscale() == "log"
    plt.close(fig)
