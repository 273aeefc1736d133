"""The shared training helpers."""
import pytest
import torch

from circuitlib.train import EarlyStopping, cosine_schedule, run_steps


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


def _quadratic(target: float = 3.0):
    """A one-parameter problem, loss (p - target)^2, and its optimiser."""
    p = torch.nn.Parameter(torch.zeros(1))
    return p, torch.optim.SGD([p], lr=0.1), lambda step: ((p - target).pow(2).sum(), {"p": p.detach().sum()})


def test_run_steps_logs_block_means_and_calls_back_after_each_block():
    p, opt, step_loss = _quadratic()
    seen_steps, called = [], []

    def recording(step):
        seen_steps.append(step)
        return step_loss(step)

    history = run_steps(recording, opt, n_steps=10, progress=False, log_every=4, callback=called.append)
    assert seen_steps == list(range(10))
    assert [h["step"] for h in history] == [4, 8, 10] and called == [4, 8, 10]   # the last block is short
    assert set(history[0]) == {"step", "loss", "p"}
    # p_k = 3 (1 - 0.8^k) before step k; the first block's loss is the mean of (p_k - 3)^2 over k = 0..3
    assert history[0]["loss"] == pytest.approx(sum(9 * 0.64 ** k for k in range(4)) / 4)
    assert history[-1]["p"] == pytest.approx(sum(3 * (1 - 0.8 ** k) for k in (8, 9)) / 2)
    assert p.item() == pytest.approx(3 * (1 - 0.8 ** 10))


def test_run_steps_stops_on_a_non_finite_loss_naming_the_step():
    p, opt, step_loss = _quadratic()

    def blows_up(step):
        loss, parts = step_loss(step)
        return (loss * float("nan") if step == 3 else loss), parts

    with pytest.raises(FloatingPointError, match="at step 3"):
        run_steps(blows_up, opt, n_steps=10, progress=False)
    assert torch.isfinite(p).all() and p.item() == pytest.approx(3 * (1 - 0.8 ** 3))  # no step taken on the NaN


@pytest.mark.parametrize("n_steps, log_every", [(-1, 10), (10, 0)])
def test_run_steps_refuses_bad_settings(n_steps, log_every):
    _, opt, step_loss = _quadratic()
    with pytest.raises(ValueError, match="log_every"):
        run_steps(step_loss, opt, n_steps=n_steps, log_every=log_every, progress=False)


def test_early_stopping_keeps_the_best_state_waits_for_patience_and_restores_it(tmp_path):
    model = torch.nn.Linear(2, 1)
    checkpoint = tmp_path / "best.pt"
    stopper = EarlyStopping(model, patience=2, checkpoint=str(checkpoint))
    with torch.no_grad():
        model.weight.fill_(1.0)
    assert stopper.step(0.5) is False                       # first score: the best so far
    best = {k: v.clone() for k, v in model.state_dict().items()}
    assert torch.equal(torch.load(checkpoint)["weight"], best["weight"])
    with torch.no_grad():
        model.weight.fill_(2.0)
    assert stopper.step(0.4) is False                       # worse once: keep going
    assert stopper.step(0.5) is True                        # a tie is not better: patience of 2 spent
    assert stopper.best == 0.5
    assert torch.equal(torch.load(checkpoint)["weight"], best["weight"])   # the file holds the best, not the last
    stopper.restore()
    assert all(torch.equal(v, best[k]) for k, v in model.state_dict().items())


def test_early_stopping_resets_patience_on_a_new_best_and_copies_the_state():
    model = torch.nn.Linear(2, 1)
    stopper = EarlyStopping(model, patience=2)
    assert not stopper.step(1.0) and not stopper.step(0.0)
    assert not stopper.step(2.0)                            # a new best resets the count
    with torch.no_grad():
        model.weight.add_(1.0)                              # later training must not change the kept copy
    kept = stopper.best_state["weight"].clone()
    assert not torch.equal(kept, model.weight)
    assert not stopper.step(0.0) and stopper.step(0.0)
    stopper.restore()
    assert torch.equal(model.weight, kept)


def test_early_stopping_without_a_score_leaves_the_model_alone_and_refuses_zero_patience():
    model = torch.nn.Linear(2, 1)
    before = model.weight.clone()
    EarlyStopping(model).restore()
    assert torch.equal(model.weight, before)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(model, patience=0)
