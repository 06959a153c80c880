"""Counter-based random draws: every number is a pure function of (seed, start, step, stream, index).

Nothing here holds state, so the path of start ``i`` depends only on ``(seed, i)`` -- not on how many
starts run beside it, on chunking, on process or machine. The hash is SplitMix64's finaliser applied to
the key words one after another; it uses only 64-bit integer operations that a compiled backend can
reproduce bit for bit.
"""

from __future__ import annotations

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX_A = np.uint64(0xBF58476D1CE4E5B9)
MIX_B = np.uint64(0x94D049BB133111EB)
STREAM_BATCH = 1
STREAM_DIRECTION = 2
_TWO_POW_53 = float(2**53)


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * MIX_A
    z = (z ^ (z >> np.uint64(27))) * MIX_B
    return z ^ (z >> np.uint64(31))


def uniforms(seed: int, start_ids: np.ndarray, step: int, stream: int, count: int) -> np.ndarray:
    """Uniform draws in ``[0, 1)``: shape ``(n_starts, count)``, a pure function of the key."""
    with np.errstate(over="ignore"):
        z = _mix(np.uint64(seed) + GOLDEN)
        z = _mix(z ^ (np.asarray(start_ids, dtype=np.uint64) + GOLDEN))
        z = _mix(z ^ (np.uint64(step) * GOLDEN + np.uint64(stream)))
        k = np.arange(1, count + 1, dtype=np.uint64)
        bits = _mix(z[:, None] ^ (k * GOLDEN))
    return (bits >> np.uint64(11)).astype(np.float64) / _TWO_POW_53


def batch_indices(seed: int, start_ids: np.ndarray, step: int, batch_size: int, n_samples: int) -> np.ndarray:
    """Mini-batch of ``batch_size`` sample indices per start, drawn uniformly with replacement: ``(n_starts, B)``."""
    u = uniforms(seed, start_ids, step, STREAM_BATCH, batch_size)
    return np.minimum((u * n_samples).astype(np.int64), n_samples - 1)


def unit_directions(seed: int, start_ids: np.ndarray, step: int, dim: int) -> np.ndarray:
    """Directions uniform on the unit sphere (normalised Gaussians, Box-Muller): shape ``(n_starts, dim)``."""
    pairs = (dim + 1) // 2
    u = uniforms(seed, start_ids, step, STREAM_DIRECTION, 2 * pairs)
    radius = np.sqrt(-2.0 * np.log1p(-u[:, 0::2]))  # 1 - u lies in (0, 1], so the log is finite
    angle = 2.0 * np.pi * u[:, 1::2]
    gauss = np.concatenate([radius * np.cos(angle), radius * np.sin(angle)], axis=1)[:, :dim]
    norm = np.sqrt(np.sum(gauss * gauss, axis=1, keepdims=True))
    # all coordinates zero has probability 0; fall back to the first axis so nothing becomes NaN
    safe = np.where(norm > 0, norm, 1.0)
    out = gauss / safe
    out[norm[:, 0] == 0, 0] = 1.0
    return out


def fresh_seed() -> int:
    """A new seed from the OS entropy pool, small enough to store and type back in."""
    return int(np.random.SeedSequence().entropy % (2**63))
