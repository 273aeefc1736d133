"""The shared training helpers."""
import pytest
import torch

from circuitlib.train import cosine_schedule


def test_cosine_schedule_goes_from_each_rate_to_its_final_fraction():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [p], "lr": 1.0}, {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1}])
    sched = cosine_schedule(opt, n_steps=11, final=0.05)
    seen = []
    for _ in range(11):
        seen.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    first, middle, last = seen[0], seen[5], seen[10]
    assert first == pytest.approx([1.0, 0.1])
    assert middle == pytest.approx([0.525, 0.0525])          # halfway down the cosine
    assert last == pytest.approx([0.05, 0.005])
    assert all(a[0] >= b[0] for a, b in zip(seen, seen[1:]))


@pytest.mark.parametrize("n_steps, final", [(0, 0.5), (10, 0.0), (10, 1.5)])
def test_cosine_schedule_refuses_bad_settings(n_steps, final):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="final"):
        cosine_schedule(opt, n_steps, final)
