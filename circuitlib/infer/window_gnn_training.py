r"""Fitting the time-parallel ring GNN: ``WindowGNN.with_residual().fit(train, validation).weights``.

Every Adam step draws ``batch_bins`` bins from the whole training recording, as chunks of
``chunk_bins`` consecutive bins at places drawn uniformly among those where a chunk and the l bins
before it fit inside one stretch (the encoder runs as a convolution over each chunk; the first l
bins of a stretch only provide history). The structure module proposes w once per step, and the
loss is the Poisson negative log-likelihood of the batch, sum (lambda - x log lambda), averaged
over bins and observed neurons, plus an optional L1 penalty on w and an optional L2 penalty on
the free residual R. The learning rates (``lr``; R's ``residual_lr``) follow half a cosine down to
``lr_final`` times their start over ``steps``; every ``eval_every`` steps the held-out bits/spike
of the validation data decide early stopping (``patience`` evaluations without a new best), and the best state is kept.

How far R may move from the spike embedding's w is a bias-variance choice, as the GLM's penalty
strength is: on a short recording a fast-moving R fits noise, on a long one a slow R is not done
when the steps run out (at 0.3, 400 steps left it near the embedding's aliased w on 192 s of the
four-bump ring). So, like the GLM's strength, ``residual_lr`` may be a grid, and is by default: the
model is fitted once per value (same seed, same batches) and the fit with the best validation
bits/spike is kept (``path``, ``chosen_residual_lr``). The L1 penalty on w (``w_l1``, per entry, in
units of the mean negative log-likelihood per bin and neuron) may be a grid as well, chosen with the
rate (every pair of the two grids is fitted): a sparse network, such as chapter 13's E/I network, wants
one; a ring's dense profile does not. A
recording with gaps is a list of SpikeTrains, one per stretch: no window reaches across a gap,
and stretches shorter than l + ``chunk_bins`` are not trained on. The structure module reads the
first ``structure_bins`` bins of the training recording (the stretches joined end to end): f_out
is tied to those time positions (the paper's vec).

The named configurations are the rows of chapter 3's study; a chapter writes
``WindowGNN.with_ring_position(epochs...)`` instead of a list of flags:

========================  =====================================================================
``paper()``               the paper's pair messages phi([h_i, h_j]), w from spike embeddings
``no_prior()``            monotone sender messages (w < 0 is inhibition), w from spike embeddings
``with_residual()``       ``no_prior`` + a free residual R on w (prior-free way out of aliasing)
``with_ring_position()``  ``no_prior`` + ring position features and ring distance (a labelled prior)
``ring_distance_only()``  w = sym g(d_ij): one profile shared around the ring (the GNN's shared GLM)
========================  =====================================================================

Every chapter that fits a ring GNN (3-7 and 13, and ``benchmarks/low_rate.py``) uses this one; the
paper's carried-GRU form, sequential in time, is :class:`~circuitlib.infer.ring_gnn_training.RingGNN`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._device import resolve_device
from ..ring_geometry import lattice_shape
from ..train import EarlyStopping, cosine_schedule, run_steps, seeded
from ._input import binned_angles, binned_counts, check_bin_width, encoder_bins
from .base import SpikePredictor
from .window_gnn import LINKS, MESSAGES, WindowGNNNet

STRUCTURE_KEYS = ("embed_dim", "ring_position", "ring_distance", "residual", "directed")
PREDICTOR_KEYS = ("own_history", "link")


class WindowGNN(SpikePredictor):
    """Time-parallel ring GNN (Yoon 2025's two modules; see :mod:`circuitlib.infer.window_gnn`).

    ``n_positions`` ring positions, the data's columns at ``observed`` (default: all, in order),
    nodes at ``positions`` on a ring of ``ring_size`` (default evenly spaced), or on a torus
    ``ring_size=(L1, L2)`` (a grid-cell sheet; ring position and distance become their 2-D forms,
    see :func:`~circuitlib.infer.window_gnn.node_geometry`). ``bin_width`` s per
    bin (None: the SpikeTrain's dt); ``tau`` sets the window l = 2 tau and the structure stride
    0.2 tau. Structure: ``embed_dim``, ``ring_position``, ``ring_distance``, ``residual``,
    ``directed``; messages: ``message`` ("positive" | "sender" | "pair"), ``channels``, ``hidden``;
    predictor: ``own_history``, ``link`` ("monotone" | "exp"), ``use_theta`` (angle encoder; the
    data must carry theta). Training: ``steps`` Adam steps of ``batch_bins`` bins in chunks of
``chunk_bins``, ``lr`` (R:
    ``residual_lr``, since w's entries are O(10); a sequence of values is a grid chosen on the
    validation data), ``residual_l2``, ``w_l1`` (a sequence: a grid, chosen with ``residual_lr``), ``eval_every``,
    ``patience``, ``checkpoint`` (file for the best state), ``predict_bins`` (bins per forward pass
    when scoring).

    After :meth:`fit`: ``weights`` [n_positions, n_positions], ``net``, ``width`` (l, bins),
    ``training_log`` (per evaluation: ``step``, ``bins_seen``, ``train_nll``, ``validation_bps``),
    ``steps_run`` and ``unused_bins`` (bins of stretches shorter than l + ``chunk_bins``); with a
    residual, ``chosen_residual_lr``; ``chosen_w_l1``; ``path`` ([(residual_lr, w_l1, best validation
    bits/spike), ...] in the grids' order, residual_lr None without R; NaN without validation data).
    """

    def __init__(self, *, bin_width: float | None = 1e-3, tau: float = 0.010, n_positions: int | None = None,
                 observed=None, positions=None, ring_size: int | tuple[int, int] | None = None,
                 message: str = "positive", channels: int = 32, hidden: int = 32, embed_dim: int = 16,
                 ring_position: int = 0, ring_distance: bool = False, residual: bool = False, directed: bool = False,
                 own_history: bool = True, link: str = "monotone", use_theta: bool = False,
                 structure_bins: int = 8000, batch_bins: int = 8192, chunk_bins: int = 256, steps: int = 1000,
                 lr: float = 1e-2, lr_final: float = 0.1, residual_lr: float | Sequence[float] = (0.3, 10.0),
                 residual_l2: float = 0.0, w_l1: float | Sequence[float] = 0.0,
                 eval_every: int = 100, patience: int = 3, predict_bins: int = 8192,
                 checkpoint: str | None = None, seed: int = 0, device="auto", progress: bool = True):
        check_bin_width(bin_width)
        if message not in MESSAGES or link not in LINKS:
            raise ValueError(f"message must be one of {MESSAGES} and link one of {LINKS}; got {message!r}, {link!r}.")
        if min(steps, batch_bins, chunk_bins, structure_bins, eval_every, patience, predict_bins, channels, hidden) < 1:
            raise ValueError("steps, batch_bins, chunk_bins, structure_bins, eval_every, patience, predict_bins, "
                             "channels and hidden must all be >= 1.")
        residual_lrs = [float(v) for v in (residual_lr if isinstance(residual_lr, Sequence) else [residual_lr])]
        if not tau > 0 or lr <= 0 or not residual_lrs or min(residual_lrs) <= 0 or not 0 < lr_final <= 1:
            raise ValueError(f"need tau > 0 s, lr > 0, residual_lr > 0 (or a non-empty sequence of such) and "
                             f"0 < lr_final <= 1; got {tau}, {lr}, {residual_lr}, {lr_final}.")
        w_l1s = [float(v) for v in (w_l1 if isinstance(w_l1, Sequence) else [w_l1])]
        if not w_l1s or min(w_l1s) < 0 or residual_l2 < 0 or (residual_l2 > 0 and not residual):
            raise ValueError(f"need w_l1 >= 0 (or a non-empty sequence of such) and residual_l2 >= 0, and residual_l2 "
                             f"penalises R, so it needs residual=True; got w_l1={w_l1}, residual_l2={residual_l2}.")
        if embed_dim < 0 or ring_position < 0 or (embed_dim == 0 and not (ring_position or ring_distance)):
            raise ValueError("embed_dim and ring_position are >= 0, and w needs something to depend on: "
                             "embed_dim >= 1, ring_position >= 1 or ring_distance=True.")
        if use_theta and ring_size is not None and lattice_shape(ring_size)[0] > 1:
            raise ValueError("use_theta encodes one angle per neuron on a ring; a torus ring_size has no such angle.")
        self.bin_width, self.tau, self.n_positions, self.observed = bin_width, tau, n_positions, observed
        self.net_kw = dict(message=message, channels=channels, hidden=hidden, positions=positions, ring_size=ring_size,
                           structure=dict(embed_dim=embed_dim, ring_position=ring_position,
                                          ring_distance=ring_distance, residual=residual, directed=directed),
                           predictor=dict(own_history=own_history, link=link, angle_encoder=use_theta))
        self.use_theta, self.structure_bins, self.steps = use_theta, structure_bins, steps
        self.batch_bins, self.chunk_bins = batch_bins, chunk_bins
        self.lr, self.lr_final = lr, lr_final
        self.residual_lrs = residual_lrs if residual else residual_lrs[:1]     # without R the rate is unused
        self.residual_l2, self.w_l1s = residual_l2, w_l1s
        self.eval_every, self.patience, self.predict_bins = eval_every, patience, predict_bins
        self.checkpoint, self.seed, self.progress = checkpoint, seed, progress
        self.device = resolve_device(device)

    # -- named configurations ------------------------------------------------------------------
    @classmethod
    def _named(cls, fixed: dict, kw: dict) -> WindowGNN:
        clash = sorted(k for k in fixed if k in kw and kw[k] != fixed[k])
        if clash:
            raise ValueError(f"this configuration sets {clash} itself ({fixed}); use WindowGNN(...) to change them.")
        return cls(**{**kw, **fixed})

    @classmethod
    def paper(cls, **kw) -> WindowGNN:
        """The paper's pair messages phi([h_i, h_j]); w from spike embeddings only."""
        return cls._named({"message": "pair"}, kw)

    @classmethod
    def no_prior(cls, **kw) -> WindowGNN:
        """Monotone sender messages; w from spike embeddings only."""
        return cls._named({"message": "positive", "ring_position": 0, "ring_distance": False, "residual": False}, kw)

    @classmethod
    def with_residual(cls, **kw) -> WindowGNN:
        """``no_prior`` + a free residual R on w."""
        return cls._named({"message": "positive", "ring_position": 0, "ring_distance": False, "residual": True}, kw)

    @classmethod
    def with_ring_position(cls, **kw) -> WindowGNN:
        """``no_prior`` + 3 harmonics of ring position in z and the ring distance in the pair MLP."""
        return cls._named({"message": "positive", "ring_position": 3, "ring_distance": True}, kw)

    @classmethod
    def ring_distance_only(cls, **kw) -> WindowGNN:
        """w = sym g(d_ij): no spike embedding, one profile shared around the ring."""
        return cls._named({"message": "positive", "embed_dim": 0, "ring_position": 0, "ring_distance": True}, kw)

    # -- data ----------------------------------------------------------------------------------
    def _stretches(self, data) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """Counts [T, N_obs] and angles [T] (or None) of one recording, or of each stretch of a list."""
        parts = [(data, False)] if not isinstance(data, (list, tuple)) else [(d, True) for d in data]
        if not parts:
            raise ValueError("pass a recording or a non-empty list of stretches.")
        out = [(binned_counts(d, self.bin_width, self.device, torch.float32, stretch),
                binned_angles(d, self.bin_width, self.device, torch.float32) if self.use_theta else None)
               for d, stretch in parts]
        if len({x.shape[1] for x, _ in out}) != 1:
            raise ValueError("every stretch must record the same neurons.")
        return out

    def _joined(self, data):
        """Counts [T, N_obs] of the stretches joined, angles [T] or None, and the (start, stop) bins
        of each stretch."""
        parts = self._stretches(data)
        bounds, start = [], 0
        for x, _ in parts:
            bounds.append((start, start + x.shape[0]))
            start += x.shape[0]
        x = torch.cat([x for x, _ in parts])
        theta = None if parts[0][1] is None else torch.cat([t for _, t in parts])
        return x, theta, bounds

    def _chunk(self, x, theta, starts: torch.Tensor, length: int):
        """Chunks [S, N_obs, l + length] of ``x`` [T, N_obs] (and of ``theta`` [T]) whose predicted
        bins start at ``starts`` [S]."""
        rows = starts[:, None] + torch.arange(-self.width, length, device=x.device)
        return x[rows].transpose(1, 2), None if theta is None else theta[rows]

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, data, validation=None) -> WindowGNN:
        """Train on ``data`` (SpikeTrain, counts [T, N_obs], or a list of stretches between gaps);
        ``validation`` (same kinds) drives early stopping. Torch's global RNG is seeded from
        ``seed`` for the fit only."""
        first = data[0] if isinstance(data, (list, tuple)) and data else data
        self.width, stride = encoder_bins(first, self.bin_width, self.tau)
        x, theta, bounds = self._joined(data)
        span = self.width + self.chunk_bins
        starts = [torch.arange(a + self.width, b - self.chunk_bins + 1, device=self.device)
                  for a, b in bounds if b - a >= span]
        self.unused_bins = sum(b - a for a, b in bounds if b - a < span)
        if not starts:
            raise ValueError(f"no stretch holds a window and a chunk ({self.width} + {self.chunk_bins} bins): "
                             "nothing to train on; lower chunk_bins or pass longer stretches.")
        n_obs = x.shape[1]
        observed = torch.arange(n_obs) if self.observed is None else torch.as_tensor(self.observed).long()
        if observed.shape != (n_obs,):
            raise ValueError(f"observed must give a ring position for each of the {n_obs} recorded neurons.")
        length = min(self.structure_bins, x.shape[0])
        if length < self.width:
            raise ValueError(f"the structure module needs at least {self.width} bins (the window), got {length}.")
        self._x_struct = x[:length].T.contiguous()
        grid = [(lr, l1) for lr in self.residual_lrs for l1 in self.w_l1s]
        if len(grid) > 1 and validation is None:
            raise ValueError(f"residual_lr={self.residual_lrs} and w_l1={self.w_l1s} make a grid chosen on validation "
                             "data: pass validation, or give one value of each.")
        fits = []
        for residual_lr, w_l1 in grid:
            with seeded(self.seed, self.device) as gen:
                net = WindowGNNNet(self.n_positions or n_obs, observed, self.width, stride, length, **self.net_kw)
                self._train(net.to(self.device), x, theta, torch.cat(starts), validation, gen, residual_lr, w_l1)
            best = max((r["validation_bps"] for r in self.training_log if "validation_bps" in r), default=math.nan)
            fits.append((best, residual_lr, w_l1, net, self.training_log, self.steps_run, self.weights))
        chosen = max(fits, key=lambda fit: fit[0])                # one fit: that one, whatever its score
        _, residual_lr, self.chosen_w_l1, self.net, self.training_log, self.steps_run, self.weights = chosen
        has_r = self.net_kw["structure"]["residual"]
        if has_r:
            self.chosen_residual_lr = residual_lr
        self.path = [(lr if has_r else None, l1, best) for best, lr, l1, *_ in fits]
        if self.checkpoint is not None and len(fits) > 1:          # each fit saved its own best; keep the chosen
            torch.save(self.net.state_dict(), self.checkpoint)
        return self

    def _train(self, net: WindowGNNNet, x, theta, starts, validation, gen, residual_lr: float, w_l1: float) -> None:
        """Train ``net`` on chunks of ``x`` [T, N_obs] whose predicted bins start at one of ``starts``
        (R, if any, at the rate ``residual_lr``; ``w_l1`` the L1 penalty on w)."""
        self.net = net
        with torch.no_grad():                                 # start every neuron at its mean count per bin
            net.mean_counts.copy_(x.mean(0))
            net.predictor.log_scale.copy_(x.mean(0).clamp_min(0.1 / x.shape[0]).log())
        residual = net.structure.residual
        rest = [p for p in net.parameters() if p is not residual]
        groups = [{"params": rest}] + ([{"params": [residual], "lr": residual_lr}] if residual is not None else [])
        opt = torch.optim.Adam(groups, lr=self.lr)
        sched = cosine_schedule(opt, self.steps, self.lr_final)
        stopper = EarlyStopping(net, self.patience, self.checkpoint)
        n_chunks = max(1, self.batch_bins // self.chunk_bins)

        def step_loss(_):
            pick = starts[torch.randint(starts.numel(), (n_chunks,), generator=gen, device=self.device)]
            chunk, angles = self._chunk(x, theta, pick, self.chunk_bins)
            w = net.structure(self._x_struct)
            rate = net(chunk, w, angles).clamp_min(1e-8)                          # [S, C, N_obs]
            counts = chunk[..., self.width:].transpose(1, 2)
            nll = (rate - counts * rate.log()).mean()
            return nll + self._penalty(w, w_l1), {"nll": nll.detach()}

        self.training_log, done = [], 0
        while done < self.steps:
            n = min(self.eval_every, self.steps - done)
            net.train()
            hist = run_steps(step_loss, opt, n, sched, progress=self.progress, desc=f"steps {done + 1}-{done + n}",
                             log_every=n)
            done += n
            record = {"step": done, "bins_seen": done * n_chunks * self.chunk_bins, "train_nll": hist[-1]["nll"]}
            if validation is not None:
                record["validation_bps"] = self._score(validation).mean
            self.training_log.append(record)
            if validation is not None and stopper.step(record["validation_bps"]):
                break
        self.steps_run = done
        if validation is not None:
            stopper.restore()
        net.eval()
        with torch.no_grad():
            self.weights = net.structure(self._x_struct)

    def _penalty(self, w: torch.Tensor, w_l1: float) -> torch.Tensor:
        out = w_l1 * w.abs().mean()
        residual = self.net.structure.residual
        return out + self.residual_l2 * residual.pow(2).mean() if self.residual_l2 > 0 else out

    # -- held-out data -------------------------------------------------------------------------
    def _run(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        """Counts and expected counts [T', N_obs] of every bin after the first l of each stretch (joined):
        what ``predict`` returns and ``score`` scores."""
        x, theta, bounds = self._joined(data)
        if x.shape[1] != len(self.net.observed):
            raise ValueError(f"the model was fitted to {len(self.net.observed)} neurons, these data have {x.shape[1]}.")
        pieces = [(a, min(self.predict_bins, stop - a)) for start, stop in bounds
                  for a in range(start + self.width, stop, self.predict_bins)]
        if not pieces:
            raise ValueError(f"need a stretch longer than {self.width} bins (the window) to predict anything.")
        was_training = self.net.training
        self.net.eval()
        counts, rates = [], []
        with torch.no_grad():
            w = self.net.structure(self._x_struct)
            for a, length in pieces:
                chunk, angles = self._chunk(x, theta, torch.tensor([a], device=self.device), length)
                rates.append(self.net(chunk, w, angles)[0])
                counts.append(x[a:a + length])
        self.net.train(was_training)
        return torch.cat(counts), torch.cat(rates)
