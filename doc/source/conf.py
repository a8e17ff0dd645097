"""Sphinx configuration for pylxd's documentation.

``tox -e doc`` builds it with warnings as errors; no extension reaches the
network (no intersphinx). ``integration/test_docs.py`` runs the
``.. code-block:: python`` examples of these pages against a real LXD.
"""

from __future__ import annotations

import logging
import os
import sys

sys.path.insert(0, os.path.abspath("../.."))

import pylxd  # noqa: E402

project = "pylxd"
copyright = "pylxd contributors"
author = "pylxd contributors"
release = pylxd.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"undoc-members": False}
nitpicky = False
html_theme = "alabaster"
# Room for 88-column code (the project's line length) without scrolling.
html_theme_options = {"page_width": "1160px", "sidebar_width": "230px"}
exclude_patterns = ["_build"]


class _AmbiguousBuiltinFilter(logging.Filter):
    """Drop "more than one target" for builtin names used in annotations.

    An annotation such as ``type[BaseManager]`` is looked up loosely, and
    ``type`` then also matches every model attribute named ``type``
    (``Instance.type``, ``Image.type``...). The builtin is meant.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (
            message.startswith("more than one target found for cross-reference")
            and record.args
            and record.args[0] in ("type",)
        )


def setup(app: object) -> None:
    """Install the warning filter above on the Python domain's logger."""
    logging.getLogger("sphinx.sphinx.domains.python").addFilter(
        _AmbiguousBuiltinFilter()
    )
