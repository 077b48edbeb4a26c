"""What torchvision's pretrained ImageNet weights report about themselves, read offline.

The zoo's networks name their torchvision counterparts; the comparison chapter and
the ResNet family chapter set our Fashion-MNIST networks beside those models'
ImageNet-1K figures, read from the weights' metadata (no download).
"""

from __future__ import annotations

from typing import Any

import torchvision

__all__ = ["imagenet_reference"]


def imagenet_reference(weights: str) -> dict[str, Any]:
    """ImageNet-1K figures of torchvision's pretrained weights, read offline from their
    metadata: ``acc1`` and ``acc5`` (top-1 and top-5 %, single crop), ``params``,
    ``gmacs`` (torchvision's "GFLOPS": multiply-adds of one 224×224 image,
    ``meta["_ops"]``), ``file_mb`` (the weights file), ``recipe`` (a link to how they
    were trained) and ``name``.

    >>> imagenet_reference("AlexNet_Weights.IMAGENET1K_V1")["params"]
    61100840
    """
    enum, _, member = weights.partition(".")
    try:
        w = getattr(getattr(torchvision.models, enum), member)
    except AttributeError:
        raise ValueError(f"torchvision.models has no weights {weights!r}; name them as "
                         "'<Enum>.<member>', e.g. 'ResNet18_Weights.IMAGENET1K_V1'") from None
    meta, acc = w.meta, w.meta["_metrics"]["ImageNet-1K"]
    return {"name": weights, "acc1": acc["acc@1"], "acc5": acc["acc@5"],
            "params": meta["num_params"], "gmacs": meta["_ops"],
            "file_mb": meta["_file_size"], "recipe": meta["recipe"]}
