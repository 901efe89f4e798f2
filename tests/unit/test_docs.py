# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' documentation agrees with their argument specs.

ansible-test sanity (scripts/sanity) checks the same and more, but takes a
while; these catch the common slips in a second.
"""

import ast
import glob
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.telephony.vicidial.plugins.doc_fragments import db as db_fragment
from ansible_collections.telephony.vicidial.plugins.doc_fragments import phone as phone_fragment
from ansible_collections.telephony.vicidial.plugins.module_utils._db import db_argument_spec
from ansible_collections.telephony.vicidial.plugins.module_utils._runner import (
    phone_argument_spec,
    policy_argument_spec,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")))


def fragment_options(text):
    return yaml.safe_load(text)["options"]


def test_generated_phone_fragment_is_up_to_date():
    run = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_phone_doc.py"), "--check"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, "plugins/doc_fragments/phone.py is stale: run scripts/gen_phone_doc.py\n" + run.stderr


def test_phone_fragment_documents_every_option_of_the_spec_with_its_type():
    spec = phone_argument_spec()
    docs = fragment_options(phone_fragment.ModuleDocFragment.DOCUMENTATION)
    assert sorted(docs) == sorted(spec)
    for name, option in spec.items():
        doc = docs[name]
        assert doc["type"] == option["type"], name
        assert bool(doc.get("required")) == bool(option.get("required")), name
        assert sorted(doc.get("aliases") or []) == sorted(option.get("aliases") or []), name
        assert doc.get("default") == option.get("default"), name
        assert doc.get("choices") == option.get("choices"), name
        assert doc["description"], name


def test_phone_fragment_marks_secret_options():
    docs = fragment_options(phone_fragment.ModuleDocFragment.DOCUMENTATION)
    for name, option in phone_argument_spec().items():
        says_secret = any("A secret" in line for line in docs[name]["description"])
        assert says_secret == bool(option.get("no_log")), name


@pytest.mark.parametrize("text, spec", [
    (db_fragment.ModuleDocFragment.DOCUMENTATION, db_argument_spec()),
    (db_fragment.ModuleDocFragment.POLICY, policy_argument_spec()),
], ids=["db", "db.POLICY"])
def test_db_fragments_match_their_specs(text, spec):
    docs = fragment_options(text)
    assert sorted(docs) == sorted(spec)
    for name, option in spec.items():
        assert docs[name]["type"] == option["type"], name
        assert docs[name].get("default") == option.get("default"), name
        assert docs[name].get("choices") == option.get("choices"), name


@pytest.mark.parametrize("path", MODULES, ids=[os.path.basename(p) for p in MODULES])
def test_module_doc_blocks_are_valid_yaml(path):
    with open(path) as handle:
        tree = ast.parse(handle.read())
    blocks = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                blocks[node.targets[0].id] = node.value.value
    assert sorted(blocks) == ["DOCUMENTATION", "EXAMPLES", "RETURN"]
    doc = yaml.safe_load(blocks["DOCUMENTATION"])
    assert doc["module"] == os.path.basename(path)[:-3]
    assert all(isinstance(line, str) for line in doc["description"]), "a description item parsed as a mapping"
    assert isinstance(yaml.safe_load(blocks["EXAMPLES"]), list)
    returned = yaml.safe_load(blocks["RETURN"])
    assert returned is None or isinstance(returned, dict)
