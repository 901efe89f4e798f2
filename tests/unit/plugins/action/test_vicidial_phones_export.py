# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The export's files as Ansible reads them back: stable text, references kept, nothing templated by accident."""

from ansible.parsing.utils.yaml import from_yaml

from ansible_collections.telephony.vicidial.plugins.action import vicidial_phones_export as action

ENTRIES = [{
    "extension": "8001", "server_ip": "10.0.0.11", "protocol": "PJSIP", "dialplan_number": "0123",
    "phone_pass": "{{ vault_phone_secrets['8001@10.0.0.11'].phone_pass }}", "is_webphone": "Y",
    "VICIDIAL_web_URL": "http://crm.example/?x={{ not_a_variable }}", "phone_ring_timeout": 45,
    "conf_override": "type=friend\nhost=dynamic", "active": False,
}]


def test_entries_read_back_as_written_and_foreign_braces_are_unsafe():
    text = action.entries_text(ENTRIES, [{"phone": "8002@10.0.0.11", "field": "conf_override", "reason": "CRLF"}],
                               [], ["10.0.0.11"], "/x/vault_phones.yml")
    assert text.startswith("---\n# Written by telephony.vicidial.vicidial_phones_export")
    assert "#   8002@10.0.0.11: conf_override: CRLF\n" in text
    assert "phone_pass: \"{{ vault_phone_secrets['8001@10.0.0.11'].phone_pass }}\"" in text
    assert "VICIDIAL_web_URL: !unsafe 'http://crm.example/?x={{ not_a_variable }}'" in text
    assert "is_webphone: \"Y\"" in text and "dialplan_number: '0123'" in text
    assert "  - extension: '8001'" in text  # list items indented under their key (yamllint's default)
    loaded = from_yaml(text)["vicidial_phones_entries"][0]
    assert dict((k, str(v) if isinstance(v, str) else v) for k, v in loaded.items()) == ENTRIES[0]
    assert action.entries_text(ENTRIES, [], [], ["10.0.0.11"], "/x/v.yml") == action.entries_text(
        ENTRIES, [], [], ["10.0.0.11"], "/x/v.yml")


def test_secrets_are_unsafe_so_never_templated():
    text = action.secrets_text({"8001@10.0.0.11": {"phone_pass": "pw{{x}}", "conf_override": "a=1\nsecret=s"}},
                               "vault_phone_secrets")
    loaded = from_yaml(text)["vault_phone_secrets"]["8001@10.0.0.11"]
    assert str(loaded["phone_pass"]) == "pw{{x}}" and str(loaded["conf_override"]) == "a=1\nsecret=s"
    assert "!unsafe" in text
