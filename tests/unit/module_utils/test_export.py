# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The export's choices (no database): what goes into an entry, into the vault, or is left out."""

from ansible_collections.telephony.vicidial.plugins.module_utils import _export

SCHEMA = {"phone_context": "default", "phone_ring_timeout": "60", "is_webphone": "N", "conf_secret": "test",
          "codecs_list": "", "webphone_settings": "VICIPHONE_SETTINGS", "ASTmgrSECRET": "1234",
          "voicemail_timezone": "eastern", "conf_override": None, "email": None}
SETTINGS = {"allowed_sip_stacks": "SIP_and_PJSIP", "default_local_gmt": "-5.00", "require_password_length": "0"}


def row(ext, **cols):
    values = dict(extension=ext, server_ip="10.10.10.1", protocol="PJSIP", dialplan_number=ext, voicemail_id=ext,
                  login="a" + ext, conf_secret="RegSecret%s-abcdef" % ext, active="Y", status="ACTIVE",
                  template_id="", local_gmt="-5.00", user_group="---ALL---", phone_context="default",
                  phone_ring_timeout=60, is_webphone="N", codecs_list="", webphone_settings="VICIPHONE_SETTINGS",
                  ASTmgrSECRET="1234", voicemail_timezone="eastern", conf_override=None, email=None,
                  fullname="", company="", picture="", phone_type="", outbound_cid="", computer_ip="",
                  phone_ip="192.0.2.1", peer_status="REGISTERED")
    values["pass"] = "LoginPw%sxyz" % ext
    values.update(cols)
    return values


def ctx_of(rows, **extra):
    ctx = dict(servers={"10.10.10.1": dict(server_id="ast1", server_ip="10.10.10.1", asterisk_version="22.10.1",
                                           active_asterisk_server="Y", generate_vicidial_conf="Y",
                                           active_agent_login_server="Y")},
               settings=SETTINGS, templates={"PJTPL"}, template_contents={"PJTPL": "type=wizard"},
               voicemail_ids=set(), alias_ids=set(),
               logins=[dict(extension=r["extension"], server_ip=r["server_ip"], login=r["login"]) for r in rows],
               rows=dict(((r["extension"], r["server_ip"]), r) for r in rows))
    ctx.update(extra)
    return ctx


def export(rows, defaults=None, **ctx_extra):
    exp = _export.Export(rows, SETTINGS, SCHEMA, defaults)
    plan = exp.settle(ctx_of(rows, **ctx_extra))
    return exp, plan


def test_column_defaults_as_mariadb_and_mysql_spell_them():
    assert _export.parse_column_default("'default'") == "default"
    assert _export.parse_column_default("'it''s'") == "it's"
    assert _export.parse_column_default("NULL") is None
    assert _export.parse_column_default(None) is None
    assert _export.parse_column_default("60") == "60"
    assert _export.parse_column_default("default") == "default"


def test_an_entry_holds_what_a_create_needs_and_only_values_that_differ():
    exp, plan = export([row("8001", phone_ring_timeout=45, is_webphone="Y", ASTmgrSECRET="s3cretAMI")])
    assert plan.changes == []
    [entry] = exp.entries()
    assert list(entry)[:3] == ["extension", "server_ip", "protocol"]
    assert entry == {
        "extension": "8001", "server_ip": "10.10.10.1", "protocol": "PJSIP", "dialplan_number": "8001",
        "voicemail_id": "8001", "phone_login": "a8001",
        "phone_pass": "{{ vault_phone_secrets['8001@10.10.10.1'].phone_pass }}",
        "ASTmgrSECRET": "{{ vault_phone_secrets['8001@10.10.10.1'].ASTmgrSECRET }}",
        "phone_ring_timeout": 45, "is_webphone": "Y",
        "registration_password": "{{ vault_phone_secrets['8001@10.10.10.1'].registration_password }}"}
    assert exp.secrets() == {"8001@10.10.10.1": {"phone_pass": "LoginPw8001xyz", "ASTmgrSECRET": "s3cretAMI",
                                                 "registration_password": "RegSecret8001-abcdef"}}


def test_the_inventorys_defaults_are_the_baseline():
    exp, plan = export([row("8001", phone_context="agents"), row("8002")], defaults={"phone_context": "agents"})
    assert plan.changes == []
    entries = dict((e["extension"], e) for e in exp.entries())
    assert "phone_context" not in entries["8001"]
    assert entries["8002"]["phone_context"] == "default"


def test_what_the_planner_refuses_is_left_out_and_named():
    rows = [row("8001", conf_override="type=wizard\r\naccepts_auth=yes\r\n"), row("8002", template_id="GONE"),
            row("8003", login="alias1"), row("8004", protocol="SIP")]
    exp, plan = export(rows, alias_ids={"ALIAS1"})
    assert plan.changes == []
    # CRLF line ends, as the web screen stores them, are an inventory value like any other.
    assert sorted((n["phone"], n["field"]) for n in exp.notes) == [
        ("8002@10.10.10.1", "template_id"), ("8003@10.10.10.1", "phone_login")]
    assert exp.entries()[0]["conf_override"] == "type=wizard\r\naccepts_auth=yes\r\n"
    assert [s["phone"] for s in exp.skipped] == ["8004@10.10.10.1"]
    assert "Asterisk 22" in exp.skipped[0]["reason"]
    assert [e["extension"] for e in exp.entries()] == ["8001", "8002", "8003"]


def test_weak_passwords_are_exported_as_they_are_and_listed():
    exp, plan = export([row("8001", conf_secret="test", **{"pass": "test"}), row("8002")])
    assert plan.changes == []
    assert exp.weak == [{"phone": "8001@10.10.10.1", "fields": ["phone_pass", "registration_password"]}]
    assert exp.secrets()["8001@10.10.10.1"] == {"phone_pass": "test", "registration_password": "test"}


def test_an_override_with_secrets_goes_to_the_vault_one_without_stays_in_the_entry():
    rows = [row("8001", protocol="IAX2", conf_override="type=friend\nhost=dynamic\nsecret=OvrSecret123"),
            row("8002", protocol="IAX2", conf_override="type=friend\nhost=dynamic\ncontext=default")]
    exp, _plan = export(rows)
    entries = dict((e["extension"], e) for e in exp.entries())
    assert entries["8001"]["conf_override"] == "{{ vault_phone_secrets['8001@10.10.10.1'].conf_override }}"
    assert entries["8002"]["conf_override"] == "type=friend\nhost=dynamic\ncontext=default"
    assert exp.secrets()["8001@10.10.10.1"]["conf_override"].endswith("secret=OvrSecret123")
