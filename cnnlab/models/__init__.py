"""The course's model zoo and registry: every architecture by name.

>>> from cnnlab import models
>>> net = models.create("resnet18_fmnist", seed=0)   # the ResNet chapter's network
>>> models.list_models("resnet")[:3]               # doctest: +SKIP

Each family of the exact zoo (torchvision's layouts, the papers' configurations)
lives in its own module here; the chapters' teaching models live in
:mod:`cnnlab.chapters`. Importing this package registers both.
"""

from cnnlab.models.registry import (InputSpec, ModelSpec, UnknownModelError, create,
                                    get_spec, list_models, register)
from cnnlab.models import (alexnet, densenet, googlenet, resnet, resnet_cifar,  # noqa: F401
                           se_resnet, vgg)
import cnnlab.chapters  # noqa: F401,E402  (registers every chapter's teaching models)

__all__ = ["create", "list_models", "get_spec", "register", "ModelSpec", "InputSpec",
           "UnknownModelError"]
