"""The seed articles' code, reproduced verbatim as Python modules (see book/errata.md).

One module per code listing. The blog pages ran lines together; line breaks and
indentation are restored, every token is the seed's. Each module opens with a
comment naming the seed file and section. Tests load them by path with
``tests/test_errata.py::load_seed`` and never import this package.
"""
