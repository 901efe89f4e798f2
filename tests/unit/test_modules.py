"""The modules' own code, run in this process with the database replaced by fakes.

What reaches the result when AnsibleModule's argument checks fail (before the
module sees the entries), what is registered for output scrubbing, and what
vicidial_phone hands to the planner. The database side is in
tests/integration (test_security_review.py).
"""

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.telephony.vicidial.plugins.module_utils import _runner
from ansible_collections.telephony.vicidial.plugins.modules import vicidial_phone, vicidial_phones

SECRET = "RegSecretAlpha1234"
LOGIN_PW = "LoginPwAlpha99"
OVR = "OvrInS3cretAbc"
OVERRIDE = "type=wizard\ninbound_auth/username=8001\ninbound_auth/password=%s\nendpoint/context=default" % OVR
SECRETS = (SECRET, LOGIN_PW, OVR)


def entry(ext, **extra):
    values = dict(extension=ext, server_ip="10.10.10.1", dialplan_number=ext, voicemail_id=ext,
                  phone_login="L" + ext, phone_pass=LOGIN_PW, registration_password=SECRET, protocol="PJSIP")
    values.update(extra)
    return values


def run(monkeypatch, capsys, module, args):
    """main() with args; returns (printed result, {how, no_log_values})."""
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    seen = {}
    monkeypatch.setattr(basic.AnsibleModule, "_log_to_syslog",
                        lambda self, msg: seen.setdefault("syslog", []).append(msg))
    monkeypatch.setattr(basic, "has_journal", False)
    for name in ("exit_json", "fail_json"):
        original = getattr(basic.AnsibleModule, name)

        def spy(self, *a, _original=original, _name=name, **kw):
            seen.update(how=_name, no_log_values=set(self.no_log_values))
            return _original(self, *a, **kw)
        monkeypatch.setattr(basic.AnsibleModule, name, spy)
    with pytest.raises(SystemExit):
        module.main()
    out = capsys.readouterr().out
    return json.loads(out[out.index("{"):]), seen


def assert_no_secret(*texts):
    for text in texts:
        assert [s for s in SECRETS if s in text] == [], text


@pytest.mark.parametrize("bad", [dict(lock_timeout="five"), dict(purge="maybe"),
                                 dict(phones=["8009", entry("8001")]), dict(defaults="x"),
                                 dict(purge=True)],
                         ids=["lock_timeout", "purge", "entry-not-a-dict", "defaults-not-a-dict", "purge-no-scope"])
def test_vicidial_phones_failures_before_the_database_echo_no_secret(monkeypatch, capsys, bad):
    args = dict(phones=[entry("8001", conf_override=OVERRIDE), entry("8002")], defaults=dict(phone_pass=LOGIN_PW))
    args.update(bad)
    result, seen = run(monkeypatch, capsys, vicidial_phones, args)
    assert result["failed"] is True and seen["how"] == "fail_json"
    assert_no_secret(json.dumps(result), *seen.get("syslog", []))
    # The entries are echoed by count only, whatever state the failed check left them in.
    shown = result["invocation"]["module_args"]["phones"]
    assert shown.endswith(" entries") or shown == "(not a list of entries)", shown


def test_vicidial_phones_success_registers_no_entry_secret(monkeypatch, capsys):
    handed = {}

    def fake_apply(module, entries, purge_servers=None, invocation=None):
        handed["entries"] = entries
        return dict(changed=True, changes=[], counts={}, queries=["INSERT ... '********'"], servers_flagged=[],
                    invocation=invocation)
    monkeypatch.setattr(vicidial_phones, "apply_entries", fake_apply)
    args = dict(phones=[entry("8%03d" % i, registration_password="RegSecret%06d" % i) for i in range(50)],
                defaults=dict(phone_pass=LOGIN_PW))
    result, seen = run(monkeypatch, capsys, vicidial_phones, args)
    assert seen["how"] == "exit_json" and len(handed["entries"]) == 50
    assert seen["no_log_values"] == set(), seen["no_log_values"]
    assert result["invocation"]["module_args"]["phones"] == "50 entries"


def test_entries_module_fail_json_registers_every_secret_including_those_in_conf_override(monkeypatch, capsys):
    def failing_apply(module, entries, purge_servers=None, invocation=None):
        module.fail_json(msg="database error: %s and %s" % (SECRET, OVR))
    monkeypatch.setattr(vicidial_phones, "apply_entries", failing_apply)
    args = dict(phones=[entry("8001", conf_override=OVERRIDE)], defaults=dict(phone_pass=LOGIN_PW))
    result, seen = run(monkeypatch, capsys, vicidial_phones, args)
    assert {SECRET, LOGIN_PW, OVR} <= seen["no_log_values"]
    assert_no_secret(json.dumps(result))


def test_override_secrets_are_read_off_mask_secrets():
    text = "secret = %s\nhost=dynamic\n;md5secret=abc123\ninbound_auth/password=%s" % (OVR, SECRET)
    found = _runner.override_secrets(text)
    assert OVR in found and SECRET in found and "abc123" in found
    assert "dynamic" not in found and _runner.override_secrets(None) == []


def test_vicidial_phone_masks_conf_override_in_its_syslog_line_and_failure(monkeypatch, capsys):
    args = dict(entry("8001", conf_override=OVERRIDE), lock_timeout="five")
    result, seen = run(monkeypatch, capsys, vicidial_phone, args)
    assert result["failed"] is True and "lock_timeout" in result["msg"]
    assert_no_secret(json.dumps(result))
    assert "inbound_auth/password=********" in result["invocation"]["module_args"]["conf_override"]

    monkeypatch.setattr(vicidial_phone, "apply_entries", lambda module, entries: dict(changed=False))
    result, seen = run(monkeypatch, capsys, vicidial_phone, entry("8001", conf_override=OVERRIDE))
    assert seen["how"] == "exit_json"
    assert seen["syslog"] and any("conf_override" in m for m in seen["syslog"])
    assert_no_secret(json.dumps(result), *seen["syslog"])


def test_vicidial_phone_hands_unquoted_numbers_to_the_planner_as_they_arrived(monkeypatch, capsys):
    handed = {}

    def fake_apply(module, entries):
        handed["entries"] = entries
        return dict(changed=False)
    monkeypatch.setattr(vicidial_phone, "apply_entries", fake_apply)
    run(monkeypatch, capsys, vicidial_phone, dict(entry("8001", dialplan_number=83, phone_pass=2739128,
                                                        login=83, phone_full_name="Desk"), phone_login=None))
    given = handed["entries"][0]
    # AnsibleModule turned them into '83' and '2739128'; the planner gets the numbers, and refuses them.
    assert given["dialplan_number"] == 83 and given["phone_pass"] == 2739128 and given["phone_login"] == 83
    assert given["extension"] == "8001" and given["phone_full_name"] == "Desk" and given["state"] == "present"
