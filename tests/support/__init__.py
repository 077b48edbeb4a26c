"""What the tests share: the notebook-run plugin, the torchrun worker, the articles' code."""
