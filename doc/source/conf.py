"""Sphinx configuration for pylxd's documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath("../.."))

project = "pylxd"
copyright = "pylxd contributors"
author = "pylxd contributors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"undoc-members": False}
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
