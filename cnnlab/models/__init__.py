"""The course's model zoo: every architecture registered by name.

>>> from cnnlab import models
>>> net = models.create("resnet18_fmnist")   # seed 001's ResNet-18 for Fashion-MNIST
>>> models.list_models("resnet")[:3]        # doctest: +SKIP

Each family lives in its own module; importing them here registers their names.
"""

from cnnlab.models.registry import (InputSpec, ModelSpec, UnknownModelError, create,
                                    get_spec, list_models, register)
from cnnlab.models import (alexnet, densenet, googlenet, lenet, nin, residual,  # noqa: F401
                           resnet, resnet_cifar, se_resnet, vgg)

__all__ = ["create", "list_models", "get_spec", "register", "ModelSpec", "InputSpec",
           "UnknownModelError"]
