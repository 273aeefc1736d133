"""The one training loop: seeded, with a progress bar and a loss history."""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import torch
from tqdm.auto import tqdm


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | str = "cpu"):
    """Run a block with torch's global RNG (CPU, and CUDA when ``device`` is CUDA) seeded to
    ``seed``, restored afterwards, so a fit is reproducible without re-seeding anyone else's
    random state. Yields a generator on ``device`` seeded from the same seed, for data sampling.

        with seeded(0) as gen:
            model = Net()                                   # initialised from the seeded RNG
            idx = torch.randint(10, (5,), generator=gen)
    """
    device = torch.device(device)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type="cuda" if devices else "cpu"):
        torch.random.default_generator.manual_seed(seed)      # not torch.manual_seed: that also
        if devices:                                           # re-seeds every CUDA device, unforked
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield torch.Generator(device=device).manual_seed(seed)


def cosine_schedule(optimizer: torch.optim.Optimizer, n_steps: int, final: float):
    """Scale every learning rate from 1 (first step) to ``final`` (step ``n_steps`` - 1) along
    half a cosine; call ``.step()`` after each optimiser step."""
    if n_steps < 1 or not 0 < final <= 1:
        raise ValueError(f"need n_steps >= 1 and final in (0, 1], got {n_steps}, {final}.")
    span = max(n_steps - 1, 1)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: final + (1 - final) * 0.5 * (1 + math.cos(math.pi * min(step, span) / span)))


def run_steps(step_loss: Callable[[int], tuple[torch.Tensor, dict]], optimizer: torch.optim.Optimizer,
              n_steps: int, scheduler=None, progress: bool = True, desc: str = "training",
              log_every: int = 100, callback: Callable[[int], None] | None = None) -> list[dict]:
    """Take ``n_steps`` optimiser steps on ``step_loss(step) -> (loss, parts)``.

    ``parts`` maps names to scalar tensors that are logged (mean over each ``log_every`` steps)
    with the total; ``callback(step)`` runs after each logged block. Raises on a non-finite loss,
    naming the step, rather than training on NaNs.
    """
    if n_steps < 0 or log_every < 1:
        raise ValueError(f"need n_steps >= 0 and log_every >= 1, got {n_steps}, {log_every}.")
    history, block = [], {}
    bar = tqdm(range(n_steps), disable=not progress, desc=desc)
    for step in bar:
        loss, parts = step_loss(step)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower the learning rates.")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        for k, v in {"loss": loss.detach(), **parts}.items():
            block[k] = block.get(k, 0.0) + float(v)
        if (step + 1) % log_every == 0 or step == n_steps - 1:
            n = (step % log_every) + 1
            history.append({"step": step + 1, **{k: v / n for k, v in block.items()}})
            block = {}
            bar.set_postfix(loss=f"{history[-1]['loss']:.4g}")
            if callback is not None:
                callback(step + 1)
    return history


class EarlyStopping:
    """Keep the best state of ``model`` by a score (higher is better) and say when to stop.

    ``step(score)`` returns True once ``patience`` evaluations in a row failed to beat the best;
    each new best is copied in memory and, with ``checkpoint`` (a file path), saved there with
    ``torch.save``. ``restore()`` loads the best state back into the model.
    """

    def __init__(self, model: torch.nn.Module, patience: int = 3, checkpoint: str | None = None):
        if patience < 1:
            raise ValueError(f"patience must be >= 1 evaluations, got {patience}.")
        self.model, self.patience, self.checkpoint = model, patience, checkpoint
        self.best, self.best_state, self.bad = -float("inf"), None, 0

    def step(self, score: float) -> bool:
        if score > self.best:
            self.best, self.bad = score, 0
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            if self.checkpoint is not None:
                torch.save(self.best_state, self.checkpoint)
        else:
            self.bad += 1
        return self.bad >= self.patience

    def restore(self):
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
