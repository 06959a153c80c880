"""One digest of the kernel sources the generator writes for a fixed set of (landscape, optimizer, dtype).

    PYTHONPATH=OTHER_TREE .venv/bin/python scripts/kernel_source_digest.py
    PYTHONPATH=.          .venv/bin/python scripts/kernel_source_digest.py

Two trees printing the same digest generate the same kernels, character for character, so a refactoring of the
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


def source(landscape, optimizer, dtype: str) -> str:
    if hasattr(codegen, "kernel_plan"):
        return codegen.kernel_source(codegen.kernel_plan(landscape, optimizer, dtype))[0]
    return codegen.kernel_source(landscape, optimizer, dtype)[0]


def main() -> None:
    digests = [hashlib.sha256(source(landscapes.get(name), optimizer, dtype).encode()).hexdigest()
               for name in LANDSCAPES for optimizer in optimizers() for dtype in ("float64", "float32")]
    print(f"{codegen.__file__}: {len(digests)} kernels, digest {hashlib.sha256(''.join(digests).encode()).hexdigest()[:16]}")


if __name__ == "__main__":
    main()
