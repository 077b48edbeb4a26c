"""cnnlab: the package behind the course on modern convolutional networks.

- :mod:`cnnlab.chapters` — one module per chapter: its networks written flat, d2l-style,
  and its ``full``/``quick`` training profiles. A new chapter is one module plus a notebook.
- :mod:`cnnlab.models` — the exact zoo and the registry: ``models.create(name, seed=0)``
  builds any network of the course, the chapters' included.
- :mod:`cnnlab.data` — Fashion-MNIST held as tensors on the training device.
- :mod:`cnnlab.train` — ``fit`` / ``evaluate`` / ``predict``; :mod:`cnnlab.checkpoint`
  the files they write.
- :mod:`cnnlab.profiles` — which profile a chapter runs, and why.
- :mod:`cnnlab.device` — device and precision, decided once; :mod:`cnnlab.settings`
  — every environment variable the package reads.
- :mod:`cnnlab.measure` (layer tables, parameters, FLOPs, throughput) and
  :mod:`cnnlab.plot` (curves, image grids, feature maps).

Seeding: ``models.create(name, seed=...)`` seeds the initial weights;
``fit(seed=...)`` the training (shuffling, dropout). Both call :func:`seed_everything`.
"""

from cnnlab.seeding import seed_everything
from cnnlab.source import glue, show_source

# The course sits above the zoo: importing the chapters registers their networks with
# cnnlab.models (which never imports them), so models.create knows every network.
from cnnlab import chapters  # noqa: E402,F401

__version__ = "0.1.0"
__all__ = ["seed_everything", "show_source", "glue", "__version__"]
