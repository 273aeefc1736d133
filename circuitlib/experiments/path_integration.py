"""Path integration on the grid-cell torus: how the lattice of bumps moves under a velocity command.

A constant command ``c`` along one axis of the sheet should move the pattern at a speed
proportional to ``c`` along that axis and not across it (:func:`speed_response`, :func:`response_gain`);
a time-varying command should then move it along the command's integral times that gain
(:func:`track_path`). The pattern's position is :func:`circuitlib.sim.torus.pattern_displacement`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ..sim import torus


def speed_response(model: str, shape, commands: Sequence[float], seconds: float = 2.0,
                   seeds: Sequence[int] = (0,), frame: float = 0.01, **sim) -> dict[str, torch.Tensor]:
    """The pattern's mean velocity under each constant command, along rows and along columns.

    Returns ``command`` float64 ``[K]`` and ``velocity`` float64 ``[2, K, S, 2]``: commanded axis
    (rows, columns), command, seed, measured (rows, columns) velocity in neurons/s. ``sim``: further
    :func:`circuitlib.sim.torus.simulate` keywords (velocity_gain, device, ...)."""
    commands = torch.as_tensor(list(commands), dtype=torch.float64)
    if commands.dim() != 1 or len(commands) == 0 or not seeds:
        raise ValueError("give a non-empty list of commands and of seeds.")
    dt = sim.get("dt", 1e-4)
    n = round(seconds / dt)
    velocity = torch.zeros(2, len(commands), len(seeds), 2, dtype=torch.float64)
    for axis in range(2):
        for k, c in enumerate(commands):
            if axis == 1 and c == 0:                          # no command is the same run along either axis
                velocity[1, k] = velocity[0, k]
                continue
            command = torch.zeros(n, 2, dtype=torch.float64)
            command[:, axis] = c
            trains = torus.simulate(model, seconds, shape, seed=list(seeds), velocity=command, **sim)
            for s, train in enumerate(trains):
                path = torus.pattern_displacement(train, shape, frame=frame)
                velocity[axis, k, s] = path[-1] / ((len(path) - 1) * frame)
    return {"command": commands, "velocity": velocity}


def response_gain(response: dict[str, torch.Tensor]) -> float:
    """Neurons/s of pattern speed per unit of command: the least-squares slope through the origin of
    the velocity along the commanded axis against the command, over both axes and every seed."""
    c = response["command"][None, :, None].expand(2, -1, response["velocity"].shape[2])
    along = torch.stack([response["velocity"][0, ..., 0], response["velocity"][1, ..., 1]])
    if float((c * c).sum()) == 0:
        raise ValueError("every command is zero; a slope needs at least one non-zero command.")
    return float((c * along).sum() / (c * c).sum())


def track_path(model: str, shape, velocity: torch.Tensor, gain: float, seed: int = 0, frame: float = 0.01,
               **sim) -> dict[str, torch.Tensor]:
    """Drive the sheet with ``velocity`` ``[T, 2]`` and compare the pattern's path with ``gain`` times
    the command's integral, both float64 ``[F, 2]`` neurons at the frame times ``time`` ``[F]`` s.
    ``error`` ``[F]``: their distance (not wrapped: the paths are unwrapped displacements); ``length``
    ``[F]``: how far the commanded path has gone, for errors relative to it."""
    dt = sim.get("dt", 1e-4)
    train = torus.simulate(model, velocity.shape[0] * dt, shape, seed=seed, velocity=velocity, **sim)
    pattern = torus.pattern_displacement(train, shape, frame=frame)
    steps = round(frame / dt)
    integral = torch.cat([torch.zeros(1, 2, dtype=torch.float64), torch.cumsum(velocity, 0) * dt])
    command = gain * integral[torch.arange(len(pattern)) * steps]
    return {"time": torch.arange(len(pattern), dtype=torch.float64) * frame, "pattern": pattern,
            "command": command, "error": (pattern - command).norm(dim=1),
            "length": torch.cat([torch.zeros(1, dtype=torch.float64), command.diff(dim=0).norm(dim=1).cumsum(0)])}
