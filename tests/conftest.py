"""Fixtures shared across test modules."""

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def notebook_kernel(tmp_path):
    """A jupyter kernel manager whose only kernel runs this interpreter with this checkout importable first, for
    executing notebooks headlessly with nbclient (``NotebookClient(nb, km=notebook_kernel)``)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = tmp_path / "kernels" / "samscape-test"
    spec_dir.mkdir(parents=True)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "samscape test", "language": "python", "env": env,
    }))
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name="samscape-test", kernel_spec_manager=specs)


@pytest.fixture(scope="session")
def claim_results():
    """One full ``theory.check()`` run, shared by the claims tests and the gallery (it takes seconds; how long is
    measured by `time samscape check`, never asserted in a unit test)."""
    from samscape import theory

    return theory.check()


class _StrokeRecorder:
    """The part of a matplotlib renderer a path effect uses: it records each stroke instead of drawing it."""

    def __init__(self):
        self.strokes = []

    def new_gc(self):
        from matplotlib.backend_bases import GraphicsContextBase

        return GraphicsContextBase()

    def points_to_pixels(self, points):
        return points

    def draw_path(self, gc, path, transform, rgbFace=None):
        self.strokes.append((gc.get_rgb(), gc.get_linewidth()))


@pytest.fixture(scope="session")
def marker_strokes():
    """``strokes(line)``: ``[(rgba, linewidth)]`` of each stroke the line's path effects draw around its markers'
    edges, in drawing order, read through the public ``AbstractPathEffect.draw_path`` (not matplotlib's private
    state)."""
    from matplotlib.backend_bases import GraphicsContextBase
    from matplotlib.path import Path
    from matplotlib.transforms import IdentityTransform

    def strokes(line):
        recorder = _StrokeRecorder()
        edge = GraphicsContextBase()
        edge.set_foreground(line.get_markeredgecolor())
        edge.set_linewidth(line.get_markeredgewidth())
        for effect in line.get_path_effects():
            effect.draw_path(recorder, edge, Path([[0.0, 0.0], [1.0, 1.0]]), IdentityTransform(), None)
        return recorder.strokes

    return strokes


@pytest.fixture(scope="session")
def diagonal_net():
    """Builds the diagonal linear network of Andriushchenko & Flammarion (ICML 2022), the finite sum
    ``scale * 0.5*(x0*u0*v0 + ... + x{m-1}*u{m-1}*v{m-1} - y)**2`` over ``rows`` Gaussian data rows drawn with
    ``seed``, in the 2m variables u0..u{m-1}, v0..v{m-1}: ``diagonal_net(units=m, rows=..., seed=..., scale=1.0)``."""
    import numpy as np

    from samscape import landscapes

    def build(units: int, rows: int, seed: int, scale: float = 1.0):
        rng = np.random.default_rng(seed)
        X, y = rng.standard_normal((rows, units)), rng.standard_normal(rows)
        factor = "" if scale == 1.0 else f"{scale!r}*"
        expr = factor + "0.5*(" + " + ".join(f"x{k}*u{k}*v{k}" for k in range(units)) + " - y)**2"
        samples = {f"x{k}": X[:, k] for k in range(units)}
        samples["y"] = y
        variables = [f"u{k}" for k in range(units)] + [f"v{k}" for k in range(units)]
        return landscapes.from_expr(expr, variables, samples=samples)

    return build


def _process_tree(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    tree, todo = set(), [pid]
    while todo:
        tree.add(todo[-1])
        todo.extend(children.get(todo.pop(), []))
    return tree


@pytest.fixture
def listening_addresses():
    """``listening_addresses()``: the ``(address, port)`` of every TCP socket listening in this process and its
    descendants (Dask workers, say), read from ``/proc/net/tcp{,6}`` and each process's open sockets (Linux)."""
    import socket

    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("listening sockets are read from /proc/net/tcp (Linux)")

    def addresses():
        inodes = set()
        for pid in _process_tree(os.getpid()):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
        found = set()
        for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
            with open(f"/proc/net/{table}") as handle:
                next(handle)
                for line in handle:
                    columns = line.split()
                    if columns[3] != "0A" or int(columns[9]) not in inodes:  # 0A: LISTEN
                        continue
                    address, port = columns[1].split(":")
                    raw = bytes.fromhex(address)  # little-endian 32-bit words
                    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                    found.add((socket.inet_ntop(family, raw), int(port, 16)))
        return found

    return addresses


@pytest.fixture(scope="session")
def switch_chain():
    """``chain(parts, at)``: ``Switch(parts[0], Switch(parts[1], ...))`` running ``parts[k]`` for steps
    ``[at[k-1], at[k])``, with ``at`` ascending, one step per boundary (``len(parts) - 1``), counted from the run's
    start as every ``Switch`` counts them. One kernel holds all the parts: tests run several kinds through one compile."""
    from samscape import dynamics

    def chain(parts, at):
        at = list(at)
        assert len(at) == len(parts) - 1 and at == sorted(at), (len(parts), at)
        optimizer = parts[-1]
        for part, step in zip(reversed(parts[:-1]), reversed(at)):
            optimizer = dynamics.Switch(part, optimizer, at=step)
        return optimizer

    return chain
