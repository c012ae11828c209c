"""A small simulated centre-out session with a *known* latent, for testing the baselines.

Eight reach directions; in each trial a bell-shaped speed profile (random gain and timing)
gives the hand velocity ``(vx, vy)``. The 3-d latent is ``z = [vx, vy, m]``, where ``m`` is a
direction-independent ramp around movement onset (a condition-invariant signal, like the one
dPCA's time marginalisation finds in motor cortex). Neurons are log-linear in ``z``
(``rate = exp(b + W z)``), spikes are Poisson and then smoothed like the real sessions
(Gaussian, sigma 1.5 bins, 9 taps, within trials). Labels follow the session contract:
``[vx*10, vy*10, angle_deg]``.

So a good embedding carries direction (in ``vx, vy``) *and* time (in ``m``, which the labels
do not contain): the label columns alone explain only two of the three latent dimensions.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import convolve1d

from ner_repro.session import ANGLE_STEP, N_DIRECTIONS, SessionData


def smoothing_kernel(sigma: float = 1.5, half_width: int = 4) -> np.ndarray:
    """The authors' Gaussian kernel: ``2 * half_width + 1`` taps, normalised to sum 1."""
    offsets = np.arange(-half_width, half_width + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def simulate_reaching(
    *,
    n_trials: int = 160,
    t_dur: int = 40,
    n_neurons: int = 40,
    seed: int = 0,
    baseline_rate: tuple[float, float] = (0.5, 2.0),
    tuning: float = 0.8,
    date: str = "20000101",
) -> tuple[SessionData, np.ndarray]:
    """A simulated session and its latent ``(T, 3)`` = ``[vx, vy, ramp]`` per bin.

    Directions cycle through the 8 classes in a random order per block of 8 trials, so every
    direction has (almost) the same number of trials in every part of the session.
    ``tuning`` scales the neurons' modulation by the latent (log-rate units per latent unit).
    """
    rng = np.random.default_rng(seed)
    blocks = -(-n_trials // N_DIRECTIONS)
    directions = np.concatenate([rng.permutation(N_DIRECTIONS) for _ in range(blocks)])[:n_trials]
    theta = np.deg2rad(directions * ANGLE_STEP)
    t = np.arange(t_dur)[None, :]
    onset = t_dur * 0.45 + rng.uniform(-2.0, 2.0, size=(n_trials, 1))
    width = t_dur / 8.0
    gain = rng.uniform(0.7, 1.3, size=(n_trials, 1))
    speed = gain * np.exp(-0.5 * ((t - onset - width) / width) ** 2)
    vx = speed * np.cos(theta)[:, None]
    vy = speed * np.sin(theta)[:, None]
    ramp = np.tanh((t - onset) / 3.0)
    latent = np.stack([vx, vy, ramp], axis=-1)  # (n_trials, t_dur, 3)

    # Unit-norm tuning vectors spread over the 3 latent dimensions.
    W = rng.normal(size=(n_neurons, 3))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    b = np.log(rng.uniform(*baseline_rate, size=n_neurons))
    rates = np.exp(b + tuning * latent @ W.T)  # (n_trials, t_dur, N)
    spikes = rng.poisson(rates).astype(np.float64)
    neural = convolve1d(spikes, smoothing_kernel(), axis=1, mode="constant")

    T = n_trials * t_dur
    labels = np.column_stack(
        [
            10.0 * vx.reshape(T),
            10.0 * vy.reshape(T),
            np.repeat(directions * ANGLE_STEP, t_dur).astype(np.float64),
        ]
    )
    session = SessionData(
        monkey="Sim",
        date=date,
        area="M1",
        neural=neural.reshape(T, n_neurons),
        labels=labels,
        t_dur=t_dur,
        source="simulated",
    )
    return session, latent.reshape(T, 3)
