"""What a run of :func:`~samscape.dynamics.simulate` needs to know about its optimizer, worked out once.

:func:`plan_run` checks the optimizer, resolves its per-start values for the run's starts and reads off what the
memory guard and the choice of a backend ask about it (its mini-batch sizes, whether a part takes the full batch,
its label, the note about a batch that cannot do what it seems to). The :class:`RunPlan` it returns is what the
budget, ``resolve_backend`` and the backends are handed, instead of each asking the optimizer again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .optimizers import Optimizer, check_optimizer


@dataclass(frozen=True)
class RunPlan:
    """A run's optimizer as the rest of a run asks about it.

    ``optimizer`` is resolved for the starts (per-start values as ``(n_starts, 1)`` columns in ``dtype``, see
    :meth:`Optimizer.for_starts`); ``batch_sizes`` are the mini-batch sizes of its parts that draw one (in pre-order),
    ``full_batch_part`` says whether a part evaluates every sample; ``label`` is the optimizer as given, described;
    ``batch_note`` the sentence of :meth:`Optimizer.batch_note` (``None``: nothing to say).
    """

    landscape: Any = field(repr=False, compare=False)
    optimizer: Optimizer = field(repr=False, compare=False)
    n_starts: int
    dtype: np.dtype
    batch_sizes: tuple[int, ...]
    full_batch_part: bool
    label: str
    batch_note: str | None = field(repr=False)

    @property
    def batched(self) -> bool:
        """Whether a part of the optimizer draws mini-batches."""
        return bool(self.batch_sizes)


def plan_run(landscape, optimizer: Optimizer, n_starts: int, dtype=np.float64) -> RunPlan:
    """The :class:`RunPlan` of a run of ``optimizer`` on ``landscape`` from ``n_starts`` starts in ``dtype``.

    Refuses, in one sentence, what is not a samscape optimizer and per-start values that are not one per start.
    """
    check_optimizer(optimizer)
    resolved = optimizer.for_starts(n_starts, dtype)
    leaves = resolved.leaves()
    sizes = tuple(leaf.batch_size for leaf in leaves if getattr(leaf, "batch_size", None) is not None)
    return RunPlan(landscape=landscape, optimizer=resolved, n_starts=int(n_starts), dtype=np.dtype(dtype),
                   batch_sizes=sizes, full_batch_part=len(sizes) < len(leaves), label=optimizer.describe(),
                   batch_note=resolved.batch_note(landscape))
