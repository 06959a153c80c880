"""One digest of the kernel sources the generator writes for a fixed set of (landscape, optimizer, dtype).

    PYTHONPATH=OTHER_TREE .venv/bin/python scripts/kernel_source_digest.py
    PYTHONPATH=.          .venv/bin/python scripts/kernel_source_digest.py

The second line covers kernels with momentum (absent on trees from before it). Two trees printing the same
digest generate the same kernels, character for character, so a refactoring of the
Python around the kernels cannot have changed their speed; a timing benchmark on a shared machine says less
(its noise is often larger than the differences it looks for). Works on trees before the kernel plan too
(``kernel_source(landscape, optimizer, dtype)``).
"""

from __future__ import annotations

import hashlib

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics import codegen

LANDSCAPES = ("tanh", "diag_net", "himmelblau", "shifted_quadratics")


def optimizers():
    return (dy.GD(0.1), dy.SGD(0.1, 2), dy.SAM(0.1, 0.05), dy.USAM(0.1, 0.05), dy.RandomSAM(0.1, 0.05),
            dy.PerSampleSAM(0.1, 0.05), dy.Switch(dy.SGD(0.1, 1), dy.SAM(0.1, 0.05), at=3))


def momentum_optimizers():
    """Kernels with momentum (a separate digest: trees from before momentum cannot build these)."""
    return (dy.SAM(0.1, 0.05, momentum=0.9), dy.GD(0.1, momentum=0.5, nesterov=True),
            dy.Switch(dy.SGD(0.1, 1, momentum=0.9), dy.SAM(0.1, 0.05), at=3, state="reset"))


def source(landscape, optimizer, dtype: str) -> str:
    if hasattr(codegen, "kernel_plan"):
        return codegen.kernel_source(codegen.kernel_plan(landscape, optimizer, dtype))[0]
    return codegen.kernel_source(landscape, optimizer, dtype)[0]


def digest(make_optimizers) -> tuple[int, str]:
    digests = [hashlib.sha256(source(landscapes.get(name), optimizer, dtype).encode()).hexdigest()
               for name in LANDSCAPES for optimizer in make_optimizers() for dtype in ("float64", "float32")]
    return len(digests), hashlib.sha256("".join(digests).encode()).hexdigest()[:16]


def main() -> None:
    count, value = digest(optimizers)
    print(f"{codegen.__file__}: {count} kernels, digest {value}")
    try:
        count, value = digest(momentum_optimizers)
    except (TypeError, ValueError):  # a tree without momentum
        return
    print(f"{codegen.__file__}: {count} kernels with momentum, digest {value}")


if __name__ == "__main__":
    main()
