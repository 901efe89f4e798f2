# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests (no database) for PHONE_DEFAULTS parsing/application and the alias rule of deletes.

The integration tests (tests/integration/test_phone_defaults.py, test_alias_deletes.py) show the same
against VICIdial's schema; these pin the parsing rules and the planner's decisions.
"""

from test_plan import OPTIONS, db_row, make_ctx

from ansible_collections.telephony.vicidial.plugins.module_utils import _model as model
from ansible_collections.telephony.vicidial.plugins.module_utils._phones import PhonePlan, parse_all

SEEDED_EXCERPT = ("# 10 char max\r\nvoicemail_id => \r\n \r\n# Y/N only\r\nactive => Y\r\n\r\n"
                  "# text, conf_override can span multiple lines, see below\r\nconf_override => \r\n"
                  "# type=friend\r\n# host=dynamic\r\n\r\n# 50 char max\r\nphone_context => default\r\n"
                  "voicemail_timezone => eastern\r\n")


def test_parse_comments_crlf_and_a_multi_line_conf_override():
    assert model.parse_phone_defaults(SEEDED_EXCERPT) == [
        ("voicemail_id", ""), ("active", "Y"), ("conf_override", ""), ("phone_context", "default"),
        ("voicemail_timezone", "eastern")]
    text = "conf_override => type=friend\nhost=dynamic\n# a comment\n\n  context=x  \nemail => a@b.c\n"
    assert model.parse_phone_defaults(text) == [("conf_override", "type=friend\nhost=dynamic\n  context=x"),
                                                ("email", "a@b.c")]


def plan(entries, ctx, options=None):
    parsed, errors = parse_all(entries, None)
    assert not errors
    p = PhonePlan(dict(OPTIONS, **(options or {})))
    return p, p.build(parsed, ctx)


def entry(ext, **extra):
    e = dict(extension=ext, server_ip="10.10.10.1", dialplan_number=ext, voicemail_id=ext, phone_login="L" + ext,
             phone_pass="LoginPwAlpha99", registration_password="RegSecretAlpha1234", protocol="IAX2")
    e.update(extra)
    return e


def test_container_on_create_only_declared_wins_form_keys_skipped_unknown_key_warned():
    rows = [db_row(1)]
    ctx = make_ctx(rows=rows, settings={"default_voicemail_timezone": "central"})
    ctx["phone_defaults"] = dict(container_id="OURS", entry="protocol => SIP\nphone_context => ctx1\n"
                                 "phone_ring_timeout => 45\nfoo_bar => 1\ntemplate_id => t1\nemail => \n")
    existing = dict(extension=rows[0]["extension"], server_ip=rows[0]["server_ip"], phone_full_name="X")
    p, errors = plan([entry("8001", phone_ring_timeout=30), existing], ctx)
    assert errors == [], [str(e) for e in errors]
    create = next(c for c in p.changes if c.action == "create")
    assert create.values["phone_context"] == "ctx1" and create.values["phone_ring_timeout"] == 30
    assert create.values["protocol"] == "IAX2" and create.values["template_id"] == ""
    assert create.values["voicemail_timezone"] == "central" and "email" not in create.values
    update = next(c for c in p.changes if c.action == "update")
    assert update.fields == ["fullname"]
    assert any("foo_bar" in w for w in p.warnings) and any("template_id" in w for w in p.warnings)


def test_disabled_or_wrong_container_adds_nothing():
    ctx = make_ctx(rows=[])
    p, errors = plan([entry("8001")], ctx)
    assert not errors and "voicemail_timezone" not in p.changes[0].values
    ctx["phone_defaults"] = dict(container_id="X", problem="names a container of type 'OTHER', not PHONE_DEFAULTS")
    p, errors = plan([entry("8001")], ctx)
    assert not errors and "voicemail_timezone" not in p.changes[0].values and p.warnings


def alias_ctx(*aliases):
    rows = [db_row(1, login="l70001"), db_row(2)]
    ctx = make_ctx(rows=rows)
    ctx["aliases"] = [dict(alias_id=a, logins_list=logins, user_group=group) for a, logins, group in aliases]
    return ctx, rows


def absent(row):
    return dict(extension=row["extension"], server_ip=row["server_ip"], state="absent")


def test_delete_refused_unless_the_run_takes_the_login_out_of_the_alias():
    ctx, rows = alias_ctx(("A1", "L70001,L70002", "---ALL---"), ("a2", "x", "G2"))
    _p, errors = plan([absent(rows[0])], ctx)
    assert [(e.entry, e.field) for e in errors] == [("70001@%s" % rows[0]["server_ip"], None)]
    assert "'l70001'" in errors[0].message and "A1" in errors[0].message and "a2" not in errors[0].message
    for spec in (dict(declared=[dict(alias_id="a1", logins_list=["L70002"])]),
                 dict(declared=[dict(alias_id="A1", state="absent")]),
                 dict(purge=True, purge_user_groups=["---ALL---"])):
        _p, errors = plan([absent(rows[0])], ctx, dict(aliases=spec))
        assert errors == [], (spec, [str(e) for e in errors])
    for spec in (dict(declared=[dict(alias_id="A1", alias_name="Kept")]),
                 dict(declared=[dict(alias_id="A1", logins_list="L70001")]),
                 dict(purge=True, purge_user_groups=["G2"]),
                 dict(purge=False, purge_user_groups=["---ALL---"])):
        _p, errors = plan([absent(rows[0])], ctx, dict(aliases=spec))
        assert len(errors) == 1, spec
