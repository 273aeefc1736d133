r"""Fitting the carried-GRU ring GNN to spikes: ``RingGNN(**hp).fit(train, validation)`` -> ``.weights [n, n]``.

The paper's form, sequential in time, kept for the paper's text and as the baseline of
``benchmarks/ring_gnn.py``; the chapters fit the time-parallel :class:`circuitlib.infer.WindowGNN`
(whose structure module also carries the residual, ring-prior and directed options).

Loss: the Poisson negative log-likelihood of the next bin, sum_t (lambda - x log lambda), averaged
over bins and observed neurons, plus an optional L1 penalty on w. Adam with an exponential decay of
the rate per epoch. Choices the paper leaves open, all keyword arguments:

* the training recording is cut into ``streams`` contiguous pieces that run side by side (a batch),
  each read in windows of ``window`` bins; the GRU state is carried from one window to the next
  and cut from the graph between them (truncated back-propagation through time). The last
  ``T mod streams`` bins are not predicted (they still feed the structure module);
* the structure module reads an excerpt of the training recording on every step.
  ``structure_bins="auto"`` (default): ``min(T, AUTO_STRUCTURE_BINS)`` bins; a number: that many;
  None: the whole recording (the paper's vec, whose size is set by the recording length, so an
  epoch costs O(T^2): on a 24-minute, 1 ms recording no step finished in 100 s). With
  ``readout="flatten"`` the excerpt is the first bins of the training recording (f_out is tied to
  those time positions); with ``"mean"`` (time-averaged features) it is a random excerpt per step,
  and w for scoring and for ``.weights`` comes from the whole recording. The bins the final w is
  read from are the fitted ``structure_excerpt`` (start, stop);
* the per-neuron offset of the log rate starts at each neuron's mean log count per bin in the
  training recording (floored at 0.1 spike per recording), the decoder's own bias at 0, so
  training starts near the homogeneous model instead of at ~1 spike per bin;
* a recording with gaps (tracking lost, real data) is passed as a list of SpikeTrains, one per
  stretch without gaps. Each is cut into pieces of ``piece_bins`` bins (the last piece of a
  stretch ends at its end and overlaps the one before; stretches shorter than a piece are left
  out and counted in ``unused_bins``); pieces run ``streams`` at a time, in a new random order
  every epoch, with the GRU state reset at the start of each piece, so no prediction sees history
  across a gap. The structure module reads the stretches joined end to end;
* ``structure_every`` k (default 1): the structure module proposes w once per k consecutive
  windows and takes one step with the mean gradient of those k windows (the spike predictor still
  steps every window, at that w). k = 1 is plain joint training; k > 1 spends 1/k of the structure
  pass's cost per window, which at 1 ms bins and a 4000-bin excerpt is about half an epoch's time;
* early stopping on the validation bits/spike after every epoch (``patience`` epochs), and the
  best state is kept (optionally written to ``checkpoint``).

Scoring runs one stream through the held-out recording (through each stretch of a list); the first
l bins of each only provide history.
"""
from __future__ import annotations

import torch

from .._device import resolve_device
from ..train import EarlyStopping, run_steps, seeded
from ._input import binned_angles, binned_counts, check_bin_width, encoder_bins
from .base import SpikePredictor
from .ring_gnn import RingGNNNet, check_options

AUTO_STRUCTURE_BINS = 20_000    # structure_bins="auto": at most this many bins (20 s at 1 ms)


class RingGNN(SpikePredictor):
    """Structure-learning + spike-prediction GNN (Yoon 2025), the paper's carried-GRU form, with the
    options of :class:`RingGNNNet`; the chapters use :class:`circuitlib.infer.WindowGNN`.

    ``n_positions`` ring positions, of which the data's columns sit at ``observed`` (default: all,
    in order); the others are hidden neurons. ``bin_width`` seconds per bin (None: the SpikeTrain's
    own dt); ``tau`` the synaptic time constant that sets the encoder width 2 tau and stride 0.2 tau.
    ``use_theta`` adds the angle encoder (the data must carry theta). ``positions`` [n_positions]
    and ``ring_size`` place the nodes on a larger ring (see :class:`RingGNNNet`; default evenly spaced).
    ``predict_window``: bins per forward pass when predicting (the GRU state is carried exactly
    between passes). ``structure_bins``: "auto", a number of bins or None; ``structure_every``:
    windows per structure step (see the module docstring).

    After :meth:`fit`: ``weights`` [n_positions, n_positions], ``net`` (the trained
    :class:`RingGNNNet`), ``training_log`` (one dict per epoch: ``epoch``, ``train_nll`` and, with
    validation data, ``validation_bps``), ``width`` (encoder width l, bins), ``unused_bins`` and
    ``structure_excerpt`` ((start, stop) bins of the training recording that the final w is read from).
    """

    def __init__(self, *, bin_width: float | None = 1e-3, tau: float = 0.010, n_positions: int | None = None,
                 observed=None, message: str = "pair", update: str = "carried", readout: str = "flatten",
                 path: str = "dense", own_history: bool = True, channels: int = 32, embed_dim: int = 16,
                 hidden: int = 32, positions=None, ring_size: int | None = None, piece_bins: int | None = None,
                 use_theta: bool = False, input_dim: int = 8, lr: float = 5e-4, decay: float = 0.9,
                 epochs: int = 10, window: int = 50, streams: int = 4, w_l1: float = 0.0, predict_window: int = 1000,
                 structure_bins: int | str | None = "auto", structure_every: int = 1,
                 patience: int = 3, checkpoint: str | None = None, seed: int = 0,
                 device="auto", progress: bool = True):
        if min(epochs, window, streams, predict_window, structure_every) < 1 or lr <= 0 or not 0 < decay <= 1:
            raise ValueError("need epochs, window, streams, predict_window, structure_every >= 1, lr > 0 and "
                             "0 < decay <= 1.")
        if w_l1 < 0:
            raise ValueError(f"need w_l1 >= 0, got {w_l1}.")
        if not tau > 0 or min(channels, embed_dim, hidden, patience) < 1:
            raise ValueError(f"need tau > 0 s and channels, embed_dim, hidden, patience >= 1; got {tau}, "
                             f"{channels}, {embed_dim}, {hidden}, {patience}.")
        if structure_bins not in ("auto", None) and (isinstance(structure_bins, str) or structure_bins < 1):
            raise ValueError(f"structure_bins is 'auto', a number of bins >= 1 or None, got {structure_bins!r}.")
        if piece_bins is not None and piece_bins < 1:
            raise ValueError(f"piece_bins is a number of bins >= 1 (or None), got {piece_bins}.")
        check_bin_width(bin_width)
        check_options(message, update, readout, path)
        self.structure_bins, self.structure_every = structure_bins, structure_every
        self.hp = dict(channels=channels, embed_dim=embed_dim, hidden=hidden, message=message,
                       update=update, readout=readout, path=path, own_history=own_history,
                       input_dim=input_dim if use_theta else 0, positions=positions, ring_size=ring_size)
        self.predict_window, self.piece_bins = predict_window, piece_bins
        self.bin_width, self.tau, self.n_positions, self.observed = bin_width, tau, n_positions, observed
        self.use_theta, self.lr, self.decay, self.epochs = use_theta, lr, decay, epochs
        self.window, self.streams, self.w_l1, self.patience = window, streams, w_l1, patience
        self.checkpoint, self.seed, self.progress = checkpoint, seed, progress
        self.device = resolve_device(device)

    # -- data ----------------------------------------------------------------------------------
    def _data(self, data, stretch: bool = False):
        """Counts [T, N_obs] and angles [T] (or None) on the device (``stretch``: one of a list)."""
        x = binned_counts(data, self.bin_width, self.device, torch.float32, stretch)
        return x, binned_angles(data, self.bin_width, self.device, torch.float32) if self.use_theta else None

    # -- fit -----------------------------------------------------------------------------------
    def _pieces(self, data, width: int):
        """Training pieces: counts [P, N_obs, L] and angles [P, L] (or None), and the bins left out.

        One recording: ``streams`` contiguous pieces (its last ``T mod streams`` bins left out).
        A list of stretches: pieces of ``piece_bins`` cut from each (see the module docstring)."""
        if not isinstance(data, (list, tuple)):
            x, theta = self._data(data)
            per_stream = x.shape[0] // self.streams
            if per_stream < width + self.window:
                raise ValueError(f"{x.shape[0]} bins in {self.streams} streams leave {per_stream} per stream, fewer "
                                 f"than the encoder width plus one window ({width} + {self.window}); use more data, "
                                 "fewer streams or a shorter window.")
            xs = x[: per_stream * self.streams].T.reshape(x.shape[1], self.streams, per_stream).transpose(0, 1)
            ths = None if theta is None else theta[: per_stream * self.streams].view(self.streams, per_stream)
            return x, xs, ths, x.shape[0] - per_stream * self.streams
        length = self.piece_bins or width + 4 * self.window
        if length < width + 1:
            raise ValueError(f"piece_bins={length} must exceed the encoder width ({width} bins).")
        stretches = [self._data(d, stretch=True) for d in data]
        if not stretches or len({x.shape[1] for x, _ in stretches}) != 1:
            raise ValueError("pass a non-empty list of stretches that all record the same neurons.")
        xs, ths, unused = [], [], 0
        for x, theta in stretches:
            if x.shape[0] < length:
                unused += x.shape[0]
                continue
            for a in sorted({*range(0, x.shape[0] - length + 1, length), x.shape[0] - length}):
                xs.append(x[a:a + length].T)
                ths.append(None if theta is None else theta[a:a + length])
        if not xs:
            raise ValueError(f"no stretch is as long as one piece ({length} bins); lower piece_bins.")
        x = torch.cat([x for x, _ in stretches])
        return x, torch.stack(xs), None if ths[0] is None else torch.stack(ths), unused

    def fit(self, data, validation=None) -> RingGNN:
        """Train on ``data`` (SpikeTrain, counts [T, N_obs], or a list of SpikeTrains: stretches
        between gaps); ``validation`` (same kinds) drives early stopping. Torch's global RNG is
        seeded from ``seed`` for the fit only and left as it was."""
        first_part = data[0] if isinstance(data, (list, tuple)) and data else data
        width, stride = encoder_bins(first_part, self.bin_width, self.tau)
        x, xs, ths, self.unused_bins = self._pieces(data, width)
        n_obs = x.shape[1]
        observed = torch.arange(n_obs) if self.observed is None else torch.as_tensor(self.observed).long()
        if observed.shape != (n_obs,):
            raise ValueError(f"observed must give a ring position for each of the {n_obs} recorded neurons.")
        n = self.n_positions or n_obs
        bound = {"auto": AUTO_STRUCTURE_BINS, None: x.shape[0]}.get(self.structure_bins, self.structure_bins)
        excerpt = min(bound, x.shape[0])
        if excerpt < width:
            raise ValueError(f"structure_bins={excerpt} is shorter than the encoder width ({width} bins).")
        with seeded(self.seed, self.device):
            self._train(x, xs, ths, RingGNNNet(n, observed, width, stride, excerpt, **self.hp), excerpt, validation)
        return self

    def _train(self, x: torch.Tensor, xs: torch.Tensor, ths: torch.Tensor | None, net: RingGNNNet, excerpt: int,
               validation) -> None:
        """Train ``net`` on the pieces ``xs`` [P, N_obs, L] (angles ``ths`` [P, L] or None) of the
        recording ``x`` [T, N_obs]; sets ``net``, ``training_log`` and ``weights``."""
        self.net = net.to(self.device)
        self.width = width = net.width
        fixed = self.hp["readout"] == "flatten"              # f_out is tied to one excerpt: the first
        self._x_struct = x_struct = x.T[:, :excerpt].contiguous() if fixed else x.T.contiguous()
        self.structure_excerpt = (0, x_struct.shape[1])
        with torch.no_grad():                                # start at each neuron's mean log rate
            mean = x.mean(0).clamp_min(0.1 / x.shape[0])
            self.net.log_rate_offset.copy_((self.net.interp.to(mean) @ mean).log())
            self.net.decoder.bias.zero_()
        starts = list(range(width, xs.shape[-1], self.window))   # first target bin of each window
        n_batches = -(-xs.shape[0] // self.streams)
        order = torch.arange(xs.shape[0])
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, self.decay)
        stopper = EarlyStopping(self.net, self.patience, self.checkpoint)
        self.training_log, carry = [], {}

        n_steps = n_batches * len(starts)
        every = self.structure_every

        def structure():
            first = int(torch.randint(0, x_struct.shape[1] - excerpt + 1, (1,)))
            return self.net.connectivity(x_struct[:, first:first + excerpt], copy_params=every > 1)

        def step_loss(step):
            batch, k = divmod(step, len(starts))
            a = starts[k]
            b = min(a + self.window, xs.shape[-1])
            if k == 0:
                carry["state"] = None
            rows = order[batch * self.streams:(batch + 1) * self.streams]
            group = step % every
            if group == 0:                                   # a new w, and its gradient starts at 0
                carry["w"] = structure()
                carry["w_fixed"] = carry["w"].detach().requires_grad_()
            last = group == every - 1 or step == n_steps - 1
            w_used = carry["w_fixed"]
            if last:                                         # value w; gradient into the structure / group size
                w, size = carry["w"], group + 1
                w_used = w if size == 1 else w.detach() + (w - w.detach()) / size
            log_rate, state = self.net(xs[rows, :, a - width:b - 1], w_used,
                                       None if ths is None else ths[rows, a - 1:b - 1], carry["state"])
            carry["state"] = None if state is None else state.detach()
            nll = self.net.observed_nll(log_rate, xs[rows, :, a:b].transpose(1, 2))     # targets [S, T, N_obs]
            if not last:                                     # the structure waits: its gradient is kept
                return nll, {"nll": nll.detach()}
            earlier = carry["w_fixed"].grad                  # summed over the group's earlier windows
            stale = 0.0 if earlier is None else (w_used * earlier).sum()
            return nll + stale + self.w_l1 * w.abs().mean(), {"nll": nll.detach()}

        for epoch in range(self.epochs):
            self.net.train()
            if n_batches > 1:                                    # stretches: a new order of pieces
                order = torch.randperm(xs.shape[0])
            hist = run_steps(step_loss, opt, n_steps, progress=self.progress,
                             desc=f"epoch {epoch + 1}", log_every=len(starts))
            sched.step()
            record = {"epoch": epoch + 1, "train_nll": hist[-1]["nll"]}
            if validation is not None:
                record["validation_bps"] = self._score(validation).mean
            self.training_log.append(record)
            if validation is not None and stopper.step(record["validation_bps"]):
                break
        if validation is not None:
            stopper.restore()
        self.net.eval()
        with torch.no_grad():
            self.weights = self.net.connectivity(x_struct)

    # -- held-out data -------------------------------------------------------------------------
    def _run(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        """Counts and expected counts [T - l, N_obs] from bin l on (stretches: each, joined): what
        ``predict`` returns and ``score`` scores (the first l bins of each are history)."""
        runs = [self._data(data)] if not isinstance(data, (list, tuple)) else [
            (x, theta) for x, theta in (self._data(d, stretch=True) for d in data) if x.shape[0] > self.width]
        if not runs:
            raise ValueError(f"every stretch has at most {self.width} bins (the encoder width): nothing to predict.")
        was_training = self.net.training
        self.net.eval()
        with torch.no_grad():
            w = self.net.connectivity(self._x_struct)                 # once for every stretch
            parts = [self._run_one(x, theta, w) for x, theta in runs]
        self.net.train(was_training)
        return torch.cat([c for c, _ in parts]), torch.cat([r for _, r in parts])

    def _run_one(self, x: torch.Tensor, theta: torch.Tensor | None,
                 w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[1] != len(self.net.observed):
            raise ValueError(f"the model was fitted to {len(self.net.observed)} neurons, these data have {x.shape[1]}.")
        if x.shape[0] <= self.width:
            raise ValueError(f"need more than {self.width} bins (the encoder width) to predict anything.")
        out, state = [], None
        for a in range(self.width, x.shape[0], self.predict_window):
            b = min(a + self.predict_window, x.shape[0])
            log_rate, state = self.net(x[a - self.width:b - 1].T[None], w,
                                       None if theta is None else theta[None, a - 1:b - 1], state)
            out.append(log_rate[0][:, self.net.observed].exp())
        return x[self.width:], torch.cat(out)
