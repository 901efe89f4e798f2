"""vicidial_phones must not log its entries' secrets to syslog (AnsibleModule logs its arguments)."""

import json

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.telephony.vicidial.plugins.module_utils import _runner

SECRET = "RegSecretAlpha1234"


def test_entries_are_logged_by_count_only(monkeypatch):
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, "_log_to_syslog", lambda self, msg: logged.append(msg))
    monkeypatch.setattr(basic, "has_journal", False)
    args = {"ANSIBLE_MODULE_ARGS": {"phones": [{"extension": "8001", "registration_password": SECRET}]}}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps(args)))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    _runner.EntriesModule(argument_spec=dict(phones=dict(type="list", elements="dict")))
    assert logged and all(SECRET not in msg for msg in logged), logged
    assert any("1 phone entries" in msg for msg in logged), logged
    # The plain AnsibleModule would have logged the secret: the override is what prevents it.
    logged.clear()
    basic.AnsibleModule(argument_spec=dict(phones=dict(type="list", elements="dict")))
    assert any(SECRET in msg for msg in logged)
