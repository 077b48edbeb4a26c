"""The course's model zoo and registry: every architecture by name.

>>> from cnnlab import models
>>> net = models.create("resnet18_fmnist", seed=0)   # the ResNet chapter's network
>>> models.list_models("resnet")[:3]               # doctest: +SKIP

Each family of the exact zoo (torchvision's layouts, the papers' configurations)
lives in its own module here, and importing this package registers them. The
chapters' teaching models live in :mod:`cnnlab.chapters`, which registers them here
when it is imported; importing :mod:`cnnlab` does that, so ``models.create`` knows
every network of the course. The zoo itself knows nothing of the course.
"""

from cnnlab.models.registry import (InputSpec, ModelSpec, UnknownModelError, create,
                                    get_spec, list_models, register)
from cnnlab.models import (alexnet, densenet, googlenet, resnet, resnet_cifar,  # noqa: F401
                           se_resnet, vgg)
from cnnlab.models.imagenet import imagenet_reference

__all__ = ["create", "list_models", "get_spec", "register", "ModelSpec", "InputSpec",
           "UnknownModelError", "imagenet_reference"]
