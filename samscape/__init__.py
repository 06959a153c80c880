"""samscape: optimizer dynamics (GD, SGD, SAM and variants) on analytic toy loss landscapes.

Layout, bottom to top: ``landscapes`` -> ``dynamics`` -> ``theory`` -> ``plots``, with the CLI on top.
"""

from . import dynamics, landscapes
from .dynamics import schedules  # samscape.schedules.Cosine(0.1, steps=1000): lr and rho over the steps

__version__ = "0.1.0"
__all__ = ["landscapes", "dynamics", "schedules", "theory", "plots", "__version__"]


def __getattr__(name):
    # theory (SymPy/SciPy heavy) and plots (matplotlib) load on first use, so `import samscape` stays quick
    if name in ("theory", "plots"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'samscape' has no attribute {name!r}")
