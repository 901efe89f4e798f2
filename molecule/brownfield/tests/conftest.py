"""Makes molecule/shared importable for this scenario's tests, and tests/e2e's SIP phone (sip_call)."""

import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared"))
sys.path.append(os.path.join(HERE, "..", "..", "..", "tests", "e2e"))
