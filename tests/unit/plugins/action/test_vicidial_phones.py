# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of vicidial_phones: phones_from reads the entries from a variable by name.

The module itself is replaced by a recorder of the arguments it would get: the
database side is the integration tests' business.
"""

from unittest import mock

import pytest
from ansible import template as template_module
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.telephony.vicidial.plugins.action import vicidial_phones as action

ENTRIES = [
    {"extension": "8001", "server_ip": "10.0.0.11", "phone_login": "8001a"},
    {"extension": "8002", "server_ip": "10.0.0.12", "phone_login": "8002a"},
]


def run(args, variables):
    task = mock.MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = False
    task.action = "telephony.vicidial.vicidial_phones"
    connection = mock.MagicMock()
    connection._shell.tmpdir = None
    templar = Templar(loader=DataLoader(), variables=variables)
    plugin = action.ActionModule(task, connection, mock.MagicMock(), DataLoader(), templar, None)
    seen = {}

    def execute_module(module_args=None, task_vars=None, **_kwargs):
        seen["module_args"] = module_args
        return {"changed": False, "counts": {"unchanged": len(module_args["phones"])}}

    with mock.patch.object(plugin, "_execute_module", side_effect=execute_module), mock.patch.object(
        plugin, "_remove_tmp_path"
    ):
        result = plugin.run(task_vars=variables)
    return result, seen.get("module_args")


def test_phones_from_hands_the_variable_to_the_module_as_phones():
    args = {"phones_from": "vicidial_phones_entries", "purge": False}
    result, module_args = run(args, {"vicidial_phones_entries": ENTRIES})
    assert module_args == {"phones": ENTRIES, "purge": False}
    assert result["counts"] == {"unchanged": 2}
    # The task's own arguments still hold the name only.
    assert args == {"phones_from": "vicidial_phones_entries", "purge": False}


def test_phones_from_templates_the_entries():
    # Variables loaded from inventory files are trusted templates (ansible-core 2.19 and later).
    trust = getattr(template_module, "trust_as_template", lambda value: value)
    variables = {
        "vicidial_phones_entries": [{"extension": trust("{{ ext }}"), "server_ip": "10.0.0.11"}],
        "ext": "8009",
    }
    _result, module_args = run({"phones_from": "vicidial_phones_entries"}, variables)
    assert module_args["phones"] == [{"extension": "8009", "server_ip": "10.0.0.11"}]


def test_phones_inline_is_passed_on_unchanged():
    _result, module_args = run({"phones": ENTRIES, "purge": True}, {})
    assert module_args == {"phones": ENTRIES, "purge": True}


@pytest.mark.parametrize(
    "args, variables, message",
    [
        ({"phones_from": "nope"}, {}, "variable nope is not defined"),
        ({"phones_from": "x", "phones": ENTRIES}, {"x": ENTRIES}, "mutually exclusive"),
        ({"phones_from": "x"}, {"x": {"extension": "8001"}}, "is a dict, not a list"),
        ({"phones_from": "{{ x }}"}, {"x": ENTRIES}, "must be a variable name"),
        ({"phones_from": "lookup('env', 'HOME')"}, {}, "must be a variable name"),
    ],
)
def test_phones_from_errors_name_the_problem(args, variables, message):
    with pytest.raises(AnsibleActionFail, match=message):
        run(args, variables)
