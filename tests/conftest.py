"""Shared by every test: the collection is importable by its FQCN path."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collection_path  # noqa: E402,F401  (side effect: sys.path)  # pylint: disable=unused-import
