"""The source articles' code, reproduced verbatim as Python modules (see book/errata.md).

One module per code listing, named after its article's short title
(book/sources.md). The blog pages ran lines together; line breaks and indentation
are restored, every token is the article's. Each module opens with a comment naming
the article and section. Tests load them by path with
``tests/support/articles.py::load_article`` and never import this package.
"""
