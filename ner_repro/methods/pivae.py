"""pi-VAE baseline (``kind: pivae``): the conv pi-VAE of Zhou & Wei (NeurIPS 2020), in PyTorch.

The authors ran CEBRA's Keras copy (``third_party/pivae/pivae_code/conv_pi_vae.py``) as
``conv_vae_mdl(dim_x=N, dim_z=3, dim_u=3, time_window=10, gen_nodes=60, n_blk=2,
mdl="poisson", disc=False, learning_rate=2.5e-4)``. This module re-implements that model
(no code copied) layer for layer, so the parameter count matches theirs (1,044,024 for N=70):

* **label prior** p(z|u): u(3) -> Dense 20 tanh -> Dense 20 tanh -> Dense 2*3 = (mean, log-var).
* **encoder** q(z|x) on a 10-bin window of bins ``[t-5, t+4]`` (zeros beyond the edges of the
  part being encoded; windows cross trial boundaries), two identical conv stacks (one for the
  mean, one for the log-variance), each Conv1D(32, k=2, GELU) -> 3 x [Conv1D(32, k=3, GELU) +
  the input cropped by one bin at each end] -> Conv1D(3, k=3): time length 10 -> 9 -> 7 -> 5
  -> 3 -> 1. GELU is the tanh approximation, as theirs.
* **posterior** = the product of the Gaussians q(z|x) and p(z|u); a reparameterised sample.
* **decoder**: a volume-preserving (GIN) flow on D = 10*N: z -> Dense D/4 relu -> Dense D/4
  relu -> Dense D-3, concatenated after z; then 2 blocks of [a fixed permutation (NumPy seed =
  block index) + 2 affine coupling layers]. A coupling layer splits x into x1 (the first D/2)
  and x2, maps x1 -> Dense D/4 relu -> Dense D/4 relu -> Dense 2(D-D/2)-1 = (s', t), with
  s = [0.1 tanh(s'), -sum(0.1 tanh(s'))] (zero sum: volume preserving) and outputs
  [x2 * exp(s) + t, x1]. Then softplus, clipped to [1e-7, 1e7], as a (10, N) Poisson rate.
* **loss** (-ELBO per bin, batch mean): sum over window and neurons of (rate - x log rate) +
  KL(posterior || p(z|u)). Adam, lr 2.5e-4 (Keras' epsilon 1e-7). Glorot-uniform weights and
  zero biases, the Keras defaults.

Two protocols (``protocol``), both fixed by the seed:

* ``corrected`` (the default): the session's 80/20 trial split is used (so the test part is
  the same for every method) and a validation part is carved from the *training* trials (the
  last ``valid_fraction`` of them, whole trials); the model is fitted on the rest, with early
  stopping on the validation loss (``patience`` epochs, the best weights restored).
* ``paper``: the authors' protocol (their ``Fig3_Batch_M1_piVAE`` / ``Fig7_Batch_S1_piVAE``
  notebooks). The whole session is split by bins, ``train_end = int(N*0.6)//t_dur*t_dur``,
  ``valid_end = (train_end + int(N*0.2))//t_dur*t_dur``: the model is fitted on the first
  part for exactly ``epochs`` epochs and keeps its final weights (the validation loss of the
  middle part is recorded, as they plotted it, but stops nothing: ``early_stopping`` and
  ``valid_fraction`` are not used); the run's train split is the fit part (so in-sample
  scores are over the fit bins, as theirs) and its test split the last part.

``epochs`` is a number or a mapping from area to number (the authors ran 300 epochs for M1
and PMd, and their S1 notebook's stored run has 50).
Batches are the authors': ``np.array_split`` of the bins into ``len // batch_size`` consecutive
chunks, in order, unshuffled (``shuffle: true`` shuffles the chunk order each epoch).
Labels are fed unnormalised (``[vx*10, vy*10, angle_deg]``), as theirs.

Embeddings (posterior means, no sampling):

* ``train``: the posterior with the training labels over all training bins (validation part
  included), as the authors did; the labels of training bins are legitimately available.
* ``test`` (corrected mode): the encoder alone, q(z|x), with no labels (in either protocol
  the fit never sees a test bin, so this embedding is free of test labels).
* ``test_paper``: the posterior with the *test* labels, the authors' procedure.
* ``extra_train_encoder``: the encoder-only embedding of the training bins.

The kind is *resumable* (:func:`ner_repro.methods.is_resumable`): with ``checkpoint`` set,
the training state (model, optimizer, random-number states, loss history, best weights) is
written there every ``checkpoint_every`` epochs and at the end, and a re-run with the same
settings, seed and data resumes from it, bit-identically on CPU. CPU runs are deterministic
for a given seed and thread count; CUDA runs are seeded but not bit-reproducible.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.provenance import resolve_device
from ner_repro.core.session import SessionData
from ner_repro.methods import checkpoint as ckpt
from ner_repro.methods.common import Stopwatch, start

KIND = "pivae"

#: The conv encoder reduces exactly 10 bins to one (10 -> 9 -> 7 -> 5 -> 3 -> 1).
TIME_WINDOW = 10
#: Bins before the centre bin in a window: bins t-5 .. t+4.
WINDOW_BEFORE = 5


# -- model ----------------------------------------------------------------------------------


def _glorot(module: nn.Module) -> None:
    """Keras defaults: Glorot-uniform kernels, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def _mlp(sizes: list[int], act: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class LabelPrior(nn.Module):
    """p(z|u): an MLP from the label to the prior's mean and log-variance."""

    def __init__(self, dim_u: int, dim_z: int, hidden: int = 20) -> None:
        super().__init__()
        self.dim_z = dim_z
        self.net = _mlp([dim_u, hidden, hidden, 2 * dim_z], nn.Tanh)

    def forward(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(u)
        return out[:, : self.dim_z], out[:, self.dim_z :]


class ConvStack(nn.Module):
    """One encoder stack: (B, N, 10) -> (B, dim_z)."""

    def __init__(self, n_neurons: int, dim_z: int, channels: int = 32, n_res: int = 3) -> None:
        super().__init__()
        self.first = nn.Conv1d(n_neurons, channels, kernel_size=2)
        self.res = nn.ModuleList(nn.Conv1d(channels, channels, kernel_size=3) for _ in range(n_res))
        self.last = nn.Conv1d(channels, dim_z, kernel_size=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.first(x), approximate="tanh")
        for conv in self.res:
            h = h[:, :, 1:-1] + F.gelu(conv(h), approximate="tanh")
        out = self.last(h)
        if out.shape[-1] != 1:
            raise ValueError(f"conv encoder needs a {TIME_WINDOW}-bin window, got {x.shape[-1]}")
        return out[:, :, 0]


def _gelu(h: torch.Tensor) -> torch.Tensor:
    return F.gelu(h, approximate="tanh")


def _shifted(h: torch.Tensor, k: int) -> torch.Tensor:
    """``(..., T, C)`` -> ``(..., T-k+1, k*C)``: the ``k`` consecutive bins of each output bin,
    in (bin, channel) order (an im2col for a channels-last Conv1d)."""
    n = h.shape[-2] - k + 1
    return torch.cat([h[..., j : j + n, :] for j in range(k)], dim=-1)


def _stacked_kernels(a: nn.Conv1d, b: nn.Conv1d) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Conv1d's weights as ``(2, K*C, O)`` matrices for :func:`_shifted` windows, in
    (bin, channel) order, and their biases as ``(2, 1, O)``."""
    w = torch.stack([a.weight, b.weight])  # (2, O, C, K)
    w = w.permute(0, 3, 2, 1).reshape(2, -1, w.shape[1])
    return w, torch.stack([a.bias, b.bias]).unsqueeze(1)


class Encoder(nn.Module):
    """q(z|x): two conv stacks, for the mean and the log-variance.

    ``fast`` (the default) evaluates both stacks at once as batched matrix products over
    channels-last windows (:func:`_shifted`), from the same ``nn.Conv1d`` parameters: the same
    function as the per-stack ``nn.Conv1d`` calls (``fast = False``) up to float rounding,
    and several times fewer, larger kernels than oneDNN's tiny convolutions.
    """

    fast: bool = True

    def __init__(self, n_neurons: int, dim_z: int, channels: int = 32) -> None:
        super().__init__()
        self.mean = ConvStack(n_neurons, dim_z, channels)
        self.log_var = ConvStack(n_neurons, dim_z, channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (B, 10, N), the Keras channels-last layout."""
        if self.fast:
            return self._forward_fast(x)
        xc = x.transpose(1, 2)
        return self.mean(xc), self.log_var(xc)

    def _forward_fast(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[1] != TIME_WINDOW:
            raise ValueError(f"conv encoder needs a {TIME_WINDOW}-bin window, got {x.shape[1]}")
        m, v = self.mean, self.log_var
        n_batch = x.shape[0]
        # First layer (kernel 2): one product of the (B*9, 2N) windows with both stacks'
        # kernels. h: (2 stacks, B, bins, channels), contiguous.
        w, b = _stacked_kernels(m.first, v.first)
        cols = _shifted(x, 2)
        n_bins = cols.shape[1]
        cols = cols.reshape(1, n_batch * n_bins, -1).expand(2, -1, -1)
        h = _gelu(torch.baddbmm(b, cols, w)).view(2, n_batch, n_bins, -1)
        for conv_m, conv_v in zip(m.res, v.res, strict=True):
            w, b = _stacked_kernels(conv_m, conv_v)
            n_bins = h.shape[2] - 2
            cols = _shifted(h, 3).reshape(2, n_batch * n_bins, -1)
            h = h[:, :, 1:-1] + _gelu(torch.baddbmm(b, cols, w)).view(2, n_batch, n_bins, -1)
        w, b = _stacked_kernels(m.last, v.last)
        kernel = m.last.kernel_size[0]
        if h.shape[2] != kernel:
            raise ValueError(f"conv encoder needs a {TIME_WINDOW}-bin window, got {x.shape[1]}")
        out = torch.baddbmm(b, h.reshape(2, n_batch, -1), w)  # (2, B, dim_z)
        return out[0], out[1]


class AffineCoupling(nn.Module):
    """GIN affine coupling: x = [x1, x2] -> [x2 * exp(s(x1)) + t(x1), x1], sum(s) = 0."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dd = dim // 2
        self.rest = dim - self.dd
        hidden = dim // 4
        self.net = _mlp([self.dd, hidden, hidden, 2 * self.rest - 1], nn.ReLU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.pair(x[:, : self.dd], x[:, self.dd :]), dim=-1)

    def pair(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The coupling on the halves: ``(x1, x2) -> (x2 * exp(s(x1)) + t(x1), x1)``."""
        st = self.net(x1)
        s = 0.1 * torch.tanh(st[:, : self.rest - 1])
        s = torch.cat([s, -s.sum(dim=-1, keepdim=True)], dim=-1)
        t = st[:, self.rest - 1 :]
        return x2 * torch.exp(s) + t, x1


class _Permute(torch.autograd.Function):
    """``h[:, perm]`` whose gradient is a gather by the inverse permutation (exact, and much
    cheaper on CPU than the accumulating scatter that advanced indexing backpropagates)."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, perm: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(perm, inv)
        return h.index_select(1, perm)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        perm, inv = ctx.saved_tensors
        return _Permute.apply(grad, inv, perm), None, None


class FlowDecoder(nn.Module):
    """p(x|z): the volume-preserving flow from z (padded by an MLP) to a (10, N) Poisson rate.

    ``fast`` (the default) gathers by the permutations with :class:`_Permute` and passes the
    halves from one coupling layer to the next without concatenating them (D is even); the
    same arithmetic as ``fast = False``.
    """

    fast: bool = True

    def __init__(self, dim_z: int, n_neurons: int, n_blocks: int = 2) -> None:
        super().__init__()
        self.n_neurons = n_neurons
        dim = n_neurons * TIME_WINDOW
        hidden = dim // 4
        self.first = _mlp([dim_z, hidden, hidden, dim - dim_z], nn.ReLU)
        perms = [np.random.RandomState(i).permutation(dim) for i in range(n_blocks)]
        for i, perm in enumerate(perms):
            self.register_buffer(f"perm{i}", torch.as_tensor(perm, dtype=torch.long))
            # Derived, so not in the state dict (whose layout is unchanged).
            inv = torch.as_tensor(np.argsort(perm), dtype=torch.long)
            self.register_buffer(f"inv{i}", inv, persistent=False)
        self.blocks = nn.ModuleList(
            nn.ModuleList([AffineCoupling(dim), AffineCoupling(dim)]) for _ in range(n_blocks)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.cat([z, self.first(z)], dim=-1)
        fast = self.fast and h.shape[1] % 2 == 0
        for i, block in enumerate(self.blocks):
            if not fast:
                h = h[:, getattr(self, f"perm{i}")]
                for layer in block:
                    h = layer(h)
                continue
            h = _Permute.apply(h, getattr(self, f"perm{i}"), getattr(self, f"inv{i}"))
            # D even: a layer's output [y, x1] splits into the next one's halves (y, x1).
            half = h.shape[1] // 2
            a, b = h[:, :half], h[:, half:]
            for layer in block:
                a, b = layer.pair(a, b)
            h = torch.cat([a, b], dim=-1)
        rate = F.softplus(h).clamp(1e-7, 1e7)
        return rate.reshape(z.shape[0], TIME_WINDOW, self.n_neurons)


def posterior(
    z_mean: torch.Tensor, z_log_var: torch.Tensor, lam_mean: torch.Tensor, lam_log_var: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Product of two Gaussians N(z_mean, e^z_log_var) * N(lam_mean, e^lam_log_var)."""
    mean = z_mean * torch.sigmoid(lam_log_var - z_log_var) + lam_mean * torch.sigmoid(
        z_log_var - lam_log_var
    )
    log_var = z_log_var + lam_log_var - torch.logaddexp(z_log_var, lam_log_var)
    return mean, log_var


class PiVAE(nn.Module):
    """The conv pi-VAE with a continuous label prior and Poisson observations."""

    def __init__(
        self,
        n_neurons: int,
        *,
        dim_z: int = 3,
        dim_u: int = 3,
        n_blocks: int = 2,
        prior_hidden: int = 20,
        conv_channels: int = 32,
        fast: bool = True,
    ) -> None:
        super().__init__()
        self.prior = LabelPrior(dim_u, dim_z, prior_hidden)
        self.encoder = Encoder(n_neurons, dim_z, conv_channels)
        self.decoder = FlowDecoder(dim_z, n_neurons, n_blocks)
        _glorot(self)
        self.set_fast(fast)

    def set_fast(self, fast: bool) -> PiVAE:
        """Select the fast evaluation (default) or the plain per-layer one (``fast=False``):
        the same function and parameters, equal up to float rounding."""
        self.encoder.fast = self.decoder.fast = bool(fast)
        return self

    def encode(
        self, x: torch.Tensor, u: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance; the encoder's alone when ``u`` is None."""
        z_mean, z_log_var = self.encoder(x)
        if u is None:
            return z_mean, z_log_var
        return posterior(z_mean, z_log_var, *self.prior(u))

    def loss(
        self, x: torch.Tensor, u: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Negative ELBO, averaged over the batch (the Keras ``vae_loss``)."""
        z_mean, z_log_var = self.encoder(x)
        lam_mean, lam_log_var = self.prior(u)
        post_mean, post_log_var = posterior(z_mean, z_log_var, lam_mean, lam_log_var)
        eps = torch.randn(
            post_mean.shape, generator=generator, device=post_mean.device, dtype=post_mean.dtype
        )
        z = post_mean + torch.exp(0.5 * post_log_var) * eps
        rate = self.decoder(z)
        nll = (rate - x * torch.log(rate)).sum(dim=(1, 2))
        kl = -0.5 * (
            1
            + post_log_var
            - lam_log_var
            - ((post_mean - lam_mean) ** 2 + torch.exp(post_log_var)) / torch.exp(lam_log_var)
        ).sum(dim=-1)
        return (nll + kl).mean()


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# -- data -----------------------------------------------------------------------------------


def windows(neural: np.ndarray, dtype: np.dtype = np.float32) -> np.ndarray:
    """``(T, N)`` -> ``(T, 10, N)``: for bin t the bins ``t-5 .. t+4``, zeros beyond the edges."""
    T, n = neural.shape
    padded = np.zeros((T + TIME_WINDOW - 1, n), dtype=dtype)
    padded[WINDOW_BEFORE : WINDOW_BEFORE + T] = neural
    view = np.lib.stride_tricks.sliding_window_view(padded, TIME_WINDOW, axis=0)  # (T, N, 10)
    return np.ascontiguousarray(view.transpose(0, 2, 1))


def _chunks(n: int, batch_size: int) -> list[np.ndarray]:
    """The authors' batches: ``np.array_split`` of ``range(n)`` into ``n // batch_size`` chunks."""
    return np.array_split(np.arange(n), max(1, n // batch_size))


def _batches(
    x: torch.Tensor, u: torch.Tensor, chunks: Iterable[np.ndarray]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for idx in chunks:
        sl = slice(int(idx[0]), int(idx[-1]) + 1)
        yield x[sl], u[sl]


@torch.no_grad()
def _mean_loss(
    model: PiVAE, x: torch.Tensor, u: torch.Tensor, chunks: list[np.ndarray], seed: int
) -> float:
    """Bin-weighted mean -ELBO over ``chunks`` with fixed noise (comparable across epochs)."""
    gen = torch.Generator(device=x.device).manual_seed(seed)
    total = 0.0
    for xb, ub in _batches(x, u, chunks):
        total += float(model.loss(xb, ub, gen)) * xb.shape[0]
    return total / x.shape[0]


@torch.no_grad()
def embed(
    model: PiVAE,
    neural: np.ndarray,
    labels: np.ndarray | None,
    *,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    batch: int = 4096,
) -> np.ndarray:
    """Posterior means (encoder-only when ``labels`` is None) of every bin of ``neural``."""
    model.eval()
    x = windows(neural)
    out = []
    for first in range(0, x.shape[0], batch):
        xb = torch.as_tensor(x[first : first + batch], device=device, dtype=dtype)
        ub = None
        if labels is not None:
            ub = torch.as_tensor(labels[first : first + batch], device=device, dtype=dtype)
        out.append(model.encode(xb, ub)[0].double().cpu().numpy())
    return np.concatenate(out)


# -- training -------------------------------------------------------------------------------


def train_pivae(
    model: PiVAE,
    x_fit: np.ndarray,
    u_fit: np.ndarray,
    x_val: np.ndarray | None,
    u_val: np.ndarray | None,
    *,
    cfg: Mapping[str, Any],
    seed: int,
    device: str,
    progress: bool,
    label: str = "",
    checkpoint: Path | None = None,
    fingerprint: str = "",
) -> dict[str, Any]:
    """Fit ``model`` on the windows of ``x_fit``; early-stop on ``x_val``. Returns the history.

    With ``checkpoint``, the whole training state is written there every
    ``cfg["checkpoint_every"]`` epochs and at the end, and training resumes from it when it
    exists and carries ``fingerprint`` (bit-identical to an uninterrupted run on CPU).
    """
    from tqdm.auto import tqdm

    dtype = getattr(torch, cfg["dtype"])
    fast = bool(cfg.get("fast", True))
    model.to(device=device, dtype=dtype)
    model.set_fast(fast)
    xf = torch.as_tensor(windows(x_fit), device=device, dtype=dtype)
    uf = torch.as_tensor(u_fit, device=device, dtype=dtype)
    fit_chunks = _chunks(xf.shape[0], int(cfg["batch_size"]))
    has_val = x_val is not None and len(x_val) > 0
    if has_val:
        xv = torch.as_tensor(windows(x_val), device=device, dtype=dtype)
        uv = torch.as_tensor(u_val, device=device, dtype=dtype)
        val_chunks = _chunks(xv.shape[0], int(cfg["batch_size"]))
    # Fused Adam: one kernel per parameter instead of a dozen small ops (same update up to
    # rounding; still deterministic on CPU).
    opt = torch.optim.Adam(
        model.parameters(), lr=float(cfg["learning_rate"]), eps=1e-7, fused=True if fast else None
    )
    order_rng = np.random.default_rng(seed)
    gen = torch.Generator(device=device).manual_seed(seed)
    early = bool(cfg["early_stopping"]) and has_val
    patience = int(cfg["patience"])
    epochs = int(cfg["epochs"])
    every = int(cfg["checkpoint_every"])
    if every <= 0:
        raise ValueError(f"checkpoint_every must be positive, got {every}")
    st: dict[str, Any] = {
        "epoch": 0,  # the next epoch to run
        "finished": False,
        "history": {"loss": [], "val_loss": [], "epoch_s": []},
        "best_val": math.inf,
        "best_epoch": -1,
        "best_state": None,
        "resumed_from_epoch": 0,
    }
    resume = (
        ckpt.read(checkpoint, _CHECKPOINT_FORMAT, fingerprint, what="pi-VAE")
        if checkpoint is not None
        else None
    )
    if resume is not None:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        gen.set_state(resume["generator"])
        order_rng.bit_generator.state = json.loads(resume["order_rng"])
        st.update(
            {k: resume[k] for k in ("epoch", "finished", "history", "best_val", "best_epoch")}
        )
        st["best_state"] = resume["best_state"] or None
        st["resumed_from_epoch"] = st["epoch"]
    history = st["history"]

    def save_checkpoint() -> None:
        if checkpoint is None:
            return
        state = {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "generator": gen.get_state(),
            "order_rng": json.dumps(order_rng.bit_generator.state),
            **{k: st[k] for k in ("epoch", "finished", "history", "best_val", "best_epoch")},
            "best_state": st["best_state"] or {},
        }
        ckpt.write(checkpoint, _CHECKPOINT_FORMAT, fingerprint, state)

    first = epochs if st["finished"] else st["epoch"]
    bar = tqdm(
        range(first, epochs),
        initial=first,
        total=epochs,
        desc=f"pi-VAE {label}".strip(),
        disable=not progress,
    )
    for epoch in bar:
        clock = Stopwatch()
        model.train()
        order = order_rng.permutation(len(fit_chunks)) if cfg["shuffle"] else range(len(fit_chunks))
        total = 0.0
        for xb, ub in _batches(xf, uf, (fit_chunks[i] for i in order)):
            opt.zero_grad(set_to_none=True)
            loss = model.loss(xb, ub, gen)
            loss.backward()
            opt.step()
            total += float(loss.detach())
        # Keras reports the mean of the batch losses of an epoch.
        history["loss"].append(total / len(fit_chunks))
        if has_val:
            model.eval()
            val = _mean_loss(model, xv, uv, val_chunks, seed + 1)
            history["val_loss"].append(val)
            if val < st["best_val"]:
                st["best_val"], st["best_epoch"] = val, epoch
                st["best_state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        history["epoch_s"].append(clock.elapsed())
        bar.set_postfix(
            loss=f"{history['loss'][-1]:.1f}",
            val=f"{history['val_loss'][-1]:.1f}" if has_val else "-",
        )
        if not math.isfinite(history["loss"][-1]):
            raise FloatingPointError(
                f"pi-VAE {label}: training loss became {history['loss'][-1]} at epoch {epoch}"
            )
        # Keras' EarlyStopping: stop after ``patience`` epochs without a new best.
        best_epoch = st["best_epoch"]
        stop = early and best_epoch != epoch and epoch - best_epoch >= patience
        st["epoch"] = epoch + 1
        st["finished"] = stop or epoch + 1 == epochs
        if st["finished"] or st["epoch"] % every == 0:
            save_checkpoint()
        if stop:
            break
    bar.close()
    if not st["finished"]:  # epochs == 0
        st["finished"] = True
    history["epochs_run"] = len(history["loss"])
    history["best_epoch"] = st["best_epoch"]
    history["resumed_from_epoch"] = st["resumed_from_epoch"]
    if early and st["best_state"] is not None:
        model.load_state_dict(st["best_state"])
        history["restored_epoch"] = st["best_epoch"]
    else:
        history["restored_epoch"] = history["epochs_run"] - 1
    return history


#: Identifies the checkpoint files this module writes.
_CHECKPOINT_FORMAT = "ner_repro.methods.pivae checkpoint 1"
#: Parameters that do not change the trained model (left out of the checkpoint fingerprint).
_RUN_ONLY_PARAMS = ("checkpoint", "checkpoint_every", "inference_batch", "num_threads")


def _fingerprint(cfg: Mapping[str, Any], seed: int, *arrays: np.ndarray) -> str:
    """What a checkpoint must have been written by to be resumed: settings, seed, data, torch."""
    settings = {k: v for k, v in cfg.items() if k not in _RUN_ONLY_PARAMS}
    if not settings.get("fast", True):
        # ``fast: false`` is the code that wrote checkpoints before the option existed:
        # those stay resumable (bit-identically). A fast run does not resume them.
        del settings["fast"]
    if settings.get("protocol", "corrected") == "corrected":
        # Checkpoints written before ``protocol`` existed are corrected-protocol runs.
        settings.pop("protocol", None)
    head = {
        "kind": KIND,
        "settings": settings,
        "seed": int(seed),
        "torch": torch.__version__,
        "shapes": [list(a.shape) for a in arrays],
    }
    return ckpt.fingerprint(head, arrays, dtype=np.float64)


def _split_validation(n_trials: int, fraction: float) -> int:
    """Number of training trials kept for fitting (the rest, at the end, validate)."""
    if fraction <= 0:
        return n_trials
    n_val = max(1, round(n_trials * fraction))
    if n_val >= n_trials:
        raise ValueError(
            f"valid_fraction={fraction} leaves no trials to fit on ({n_trials} trials)"
        )
    return n_trials - n_val


def paper_split(n_bins: int, t_dur: int) -> tuple[int, int]:
    """The authors' pi-VAE split by bins: ``(train_end, valid_end)``, whole trials.

    ``train_end = int(N*0.6)//t_dur*t_dur`` and ``valid_end = (train_end + int(N*0.2))//t_dur*t_dur``
    (reference/fig4-7.md §1, "piVAE split", see ``docs/sources.md``; Han 20171201: 292 trials
    -> 175 / 58 / 59).
    """
    train_end = int(n_bins * 0.6) // t_dur * t_dur
    valid_end = (train_end + int(n_bins * 0.2)) // t_dur * t_dur
    if train_end <= 0 or valid_end >= n_bins:
        raise ValueError(
            f"protocol 'paper': {n_bins} bins of {t_dur} per trial leave an empty fit or test part"
        )
    return train_end, valid_end


def epochs_for(epochs: Any, area: str, *, method: str = "piVAE") -> int:
    """``epochs`` for a session of ``area``: a number, or a mapping from area to number."""
    if isinstance(epochs, Mapping):
        if area not in epochs:
            raise ValueError(
                f"method {method!r}: epochs has no entry for area {area!r} "
                f"(it gives {', '.join(map(str, epochs)) or 'none'})"
            )
        epochs = epochs[area]
    try:
        value = int(epochs)
    except (TypeError, ValueError):
        raise ValueError(
            f"method {method!r}: epochs must be a whole number, got {epochs!r}"
        ) from None
    if value < 0 or value != float(epochs):
        raise ValueError(f"method {method!r}: epochs must be a whole number >= 0, got {epochs!r}")
    return value


def fit_pivae(
    session: SessionData,
    *,
    seed: int,
    params: Mapping[str, Any],
    method: str = "piVAE",
    device: str = "cpu",
    progress: bool = False,
) -> EmbeddingRun:
    """Train the conv pi-VAE on the training trials; embed train (with labels) and test."""
    threads = torch.get_num_threads()
    try:
        return _fit_pivae(
            session, params=params, seed=seed, method=method, device=device, progress=progress
        )
    finally:
        torch.set_num_threads(threads)


def _fit_pivae(
    session: SessionData,
    *,
    params: Mapping[str, Any],
    seed: int,
    method: str,
    device: str,
    progress: bool,
) -> EmbeddingRun:
    device = resolve_device(device)
    begin = start(KIND, session, seed=seed, params=params, method=method, device=device)
    cfg = begin.settings
    if cfg["num_threads"] is not None:
        torch.set_num_threads(int(cfg["num_threads"]))
    protocol = str(cfg["protocol"])
    cfg = {**cfg, "epochs": epochs_for(cfg["epochs"], session.area, method=method)}
    t_dur = session.t_dur
    if protocol == "paper":
        # The authors' split of the whole session by bins; fixed epochs, final weights.
        x_all, y_all = session.neural, session.labels
        n_fit, valid_end = paper_split(x_all.shape[0], t_dur)
        x_train, y_train = x_all[:n_fit], y_all[:n_fit]
        x_val, y_val = x_all[n_fit:valid_end], y_all[n_fit:valid_end]
        x_test, y_test = x_all[valid_end:], y_all[valid_end:]
        cfg = {**cfg, "early_stopping": False}
    else:
        x_train, y_train, x_test, y_test = begin.x_train, begin.y_train, begin.x_test, begin.y_test
        n_fit = _split_validation(x_train.shape[0] // t_dur, float(cfg["valid_fraction"])) * t_dur
        x_val, y_val = x_train[n_fit:], y_train[n_fit:]
    u_train, u_val, u_test = y_train, y_val, y_test
    label_mean, label_std = np.zeros(3), np.ones(3)
    if cfg["normalize_labels"]:
        label_mean, label_std = y_train.mean(0), y_train.std(0) + 1e-12
        u_train, u_val, u_test = ((y - label_mean) / label_std for y in (y_train, y_val, y_test))
    x_fit, u_fit = x_train[:n_fit], u_train[:n_fit]
    model = PiVAE(
        x_train.shape[1],
        dim_z=int(cfg["latent_dim"]),
        dim_u=y_train.shape[1],
        n_blocks=int(cfg["n_blocks"]),
        prior_hidden=int(cfg["prior_hidden"]),
        conv_channels=int(cfg["conv_channels"]),
    )
    history = train_pivae(
        model,
        x_fit,
        u_fit,
        x_val,
        u_val,
        cfg=cfg,
        seed=seed,
        device=device,
        progress=progress,
        label=f"{method} {session.name}",
        checkpoint=Path(cfg["checkpoint"]) if cfg["checkpoint"] else None,
        fingerprint=_fingerprint(cfg, seed, x_train, u_train),
    )
    dtype = getattr(torch, cfg["dtype"])
    kw = {"device": device, "dtype": dtype, "batch": int(cfg["inference_batch"])}
    train = embed(model, x_train, u_train, **kw)
    test = embed(model, x_test, None, **kw)
    test_paper = embed(model, x_test, u_test, **kw)
    train_encoder = embed(model, x_train, None, **kw)
    epoch_s = np.asarray(history["epoch_s"])
    return begin.finish(
        config=cfg,
        train=train,
        test=test,
        test_paper=test_paper,
        labels_train=y_train if protocol == "paper" else None,
        labels_test=y_test if protocol == "paper" else None,
        loss=np.asarray(history["loss"]),
        loss_name="-ELBO",
        extras={
            "train_encoder": train_encoder,
            "val_loss": np.asarray(history["val_loss"]),
            "epoch_s": epoch_s,
            "n_fit_bins": np.int64(n_fit),
            "best_epoch": np.int64(history["best_epoch"]),
            "label_mean": label_mean,
            "label_std": label_std,
        },
        n_parameters=count_parameters(model),
        protocol=protocol,
        epochs_run=history["epochs_run"],
        restored_epoch=history["restored_epoch"],
        resumed_from_epoch=history["resumed_from_epoch"],
        torch_threads=torch.get_num_threads(),
        seconds_per_epoch=float(epoch_s.mean()) if epoch_s.size else 0.0,
    )
