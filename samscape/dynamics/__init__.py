"""Optimizers as small frozen objects and one vectorized integrator, :func:`simulate`."""

from .draws import fresh_seed
from .budget import available_memory, memory_estimate, size_text
from .contract import DEFAULT_BOUND, DTYPES, STATUS_NAMES, check_dtype, n_saved_steps, saved_step_grid
from .integrate import BACKEND_CHOICES, BACKENDS, kernel_readiness, resolve_backend, simulate
from .progress import Progress
from .run import Run, RunState, load_run, write_npz_atomic
from .optimizers import (
    ASAM, DEFAULT_RHO, GD, GNP, GSAM, MSAM, OPTIMIZERS, SAM, SGD, USAM, WSAM, LookSAM, MultiStepSAM, MultiStepUSAM, Noise,
    Optimizer, PerSampleSAM, PerSampleUSAM, RandomSAM, SignSAM, StableSAM, Switch, UnifiedSAM, check_optimizer,
    optimizer_from_dict, optimizer_from_kind, plain_kinds, sam_ascent, unit, usam_ascent,
)
from .schedules import SCHEDULES, Constant, Cosine, InverseTime, PerStep, Schedule, StepDecay, WarmUp, schedule_from_dict
from .stepping import iterate, step
from .hyperparams import Hyperparameter, hyperparameters, kinds_taking, other_hyperparameters

__all__ = [
    "GD", "SGD", "SAM", "USAM", "RandomSAM", "PerSampleSAM", "PerSampleUSAM", "MultiStepSAM", "MultiStepUSAM", "ASAM",
    "UnifiedSAM", "GSAM", "SignSAM", "StableSAM", "GNP", "WSAM", "MSAM", "LookSAM", "Switch", "Optimizer", "Noise",
    "unit", "sam_ascent", "usam_ascent",
    "simulate", "Run", "RunState", "load_run", "fresh_seed", "saved_step_grid", "write_npz_atomic", "BACKENDS", "optimizer_from_dict",
    "resolve_backend", "step", "iterate", "DEFAULT_BOUND", "DTYPES", "STATUS_NAMES", "n_saved_steps", "Progress",
    "memory_estimate", "available_memory", "size_text", "BACKEND_CHOICES", "check_dtype", "check_optimizer", "OPTIMIZERS",
    "plain_kinds", "optimizer_from_kind", "DEFAULT_RHO", "kernel_readiness", "quiet_builds",
    "Schedule", "Constant", "StepDecay", "InverseTime", "Cosine", "WarmUp", "PerStep", "SCHEDULES", "schedule_from_dict",
    "schedules",
    "Hyperparameter", "hyperparameters", "kinds_taking", "other_hyperparameters",
]


def __getattr__(name):
    # the compiled backend's module loads on first use (it is the kernel generator's, and numba's, door)
    if name == "quiet_builds":
        from .compiled import quiet_builds

        return quiet_builds
    raise AttributeError(f"module 'samscape.dynamics' has no attribute {name!r}")
