"""Make the collection importable as ansible_collections.telephony.vicidial.

Tests import module_utils through their real FQCN path, so the repository is
exposed under a throw-away ansible_collections tree (a symlink, nothing copied).
"""

import os
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collections_root():
    root = os.path.join(tempfile.gettempdir(), "telephony-vicidial-pytest")
    target = os.path.join(root, "ansible_collections", "telephony")
    link = os.path.join(target, "vicidial")
    os.makedirs(target, exist_ok=True)
    if os.path.realpath(link) != REPO_ROOT:
        tmp = link + ".%d" % os.getpid()
        os.symlink(REPO_ROOT, tmp)
        os.replace(tmp, link)
    return root


COLLECTIONS_ROOT = _collections_root()
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
