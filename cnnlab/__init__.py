"""cnnlab: the package behind the course on modern convolutional networks.

The chapters use four pieces, each its own module:

- :mod:`cnnlab.data` — Fashion-MNIST held as tensors on the training device.
- :mod:`cnnlab.models` — every architecture of the course, by name.
- :mod:`cnnlab.train` — ``fit`` / ``evaluate`` / checkpoints.
- :mod:`cnnlab.profiles` — the ``full`` (GPU) and ``quick`` (CPU) training settings.

plus :mod:`cnnlab.measure` (summaries, FLOPs, throughput) and :mod:`cnnlab.plot`.
"""

from cnnlab.seeding import seed_everything
from cnnlab.source import show_source

__version__ = "0.1.0"
__all__ = ["seed_everything", "show_source", "__version__"]
