"""Gaussian smoothing of spike counts, ported from the authors' MATLAB extraction.

The authors smooth each trial's binned spike counts with a Gaussian kernel of
standard deviation 1.5 bins (45 ms at 30-ms bins), sampled at the 9 offsets
-4..4 bins and normalised to sum 1, using MATLAB's ``conv(x, k, 'same')`` per
neuron and per trial -- i.e. zero padding at the trial edges -- before the
go-cue window is cut out (METHODS §1; see ``docs/sources.md``).
"""

from __future__ import annotations

import numpy as np


def gaussian_kernel(sigma_bins: float = 1.5, half_width: int = 4) -> np.ndarray:
    """The normalised kernel ``exp(-x^2 / (2 sigma^2))`` at ``x = -half_width..half_width``."""
    if sigma_bins <= 0:
        raise ValueError(f"sigma_bins must be positive, got {sigma_bins}")
    if half_width < 0:
        raise ValueError(f"half_width must be >= 0, got {half_width}")
    x = np.arange(-half_width, half_width + 1, dtype=np.float64)
    kernel = np.exp(-(x**2) / (2.0 * sigma_bins**2))
    return kernel / kernel.sum()


def smooth_trial(counts: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Smooth one trial (bins x neurons) along time, ``same`` size, zero padded.

    Equivalent to MATLAB ``conv(counts(:, n), kernel, 'same')`` for each neuron ``n``
    (the kernel has odd length, so the centre alignment of both agrees).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"expected a (bins x neurons) array, got shape {counts.shape}")
    if kernel.ndim != 1 or len(kernel) % 2 != 1:
        raise ValueError("kernel must be 1-D with odd length")
    if counts.shape[0] == 0:
        return counts.copy()
    import scipy.signal

    return scipy.signal.convolve(counts, kernel[:, None], mode="same", method="direct")
