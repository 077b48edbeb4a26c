"""Predictions: what a model gets right and wrong, from a real model on real test images."""

import torch
from torch import nn

from cnnlab import data, predictions, train
from cnnlab.predictions import Predictions

CLASSES = ("a", "b", "c")


def _preds(labels, predicted, confidence):
    n = len(labels)
    return Predictions(images=torch.zeros(n, 1, 4, 4, dtype=torch.uint8),
                       labels=torch.tensor(labels), predicted=torch.tensor(predicted),
                       confidence=torch.tensor(confidence), classes=CLASSES)


def test_confusion_rows_are_true_classes_and_columns_predictions():
    p = _preds([0, 0, 1, 2, 2], [0, 1, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.5])
    assert p.confusion().tolist() == [[1, 1, 0], [0, 1, 0], [2, 0, 0]]
    assert p.accuracy == 0.4
    assert p.most_confused(2) == [("c", "a", 2), ("a", "b", 1)]


def test_mistakes_are_the_wrong_ones_most_confident_first():
    p = _preds([0, 0, 1, 2, 2], [0, 1, 1, 0, 0], [0.9, 0.55, 0.7, 0.6, 0.95])
    assert p.mistakes(2).tolist() == [4, 3]
    assert p.mistakes(10).tolist() == [4, 3, 1]


def test_collect_agrees_with_evaluate_on_real_test_images():
    ds = data.fashion_mnist(batch_size=50, train_per_class=5, test_per_class=20)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    p = predictions.collect(net, ds)
    assert len(p) == 200 and p.images.dtype == torch.uint8
    assert torch.equal(p.labels, ds.test.labels)
    assert abs(p.accuracy - train.evaluate(net, ds)) < 1e-9
    probs, _ = train.class_probabilities(net, ds)
    assert torch.allclose(probs.sum(1), torch.ones(200), atol=1e-5)
    assert torch.allclose(p.confidence, probs.max(1).values)
