# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the planner's database-context rules (no database).

PhonePlan.build gets a hand-made ctx of the shape PhonePlan.read_context
returns. As in test_validate, one bad entry sits at position 900 of 1000
valid ones (the first 500 already exist, unchanged); the error must name that
entry and the field, and the others must plan cleanly. Rules are those of
admin.php's ADD (vicidial-phones.md 2.3) plus the collection's own.
"""

import pytest
from entries import DROP, IPS, good_entry, with_overrides

from ansible_collections.telephony.vicidial.plugins.module_utils import _model as model
from ansible_collections.telephony.vicidial.plugins.module_utils import _validate as validate
from ansible_collections.telephony.vicidial.plugins.module_utils._phones import PhonePlan, parse_all, sql_literal

N = 1000
BAD = 900
EXISTING = 500  # entries 0..499 are rows already, identical to their entry
LABEL = "70900@10.10.10.1"
OPTIONS = dict(update_password="always", allow_weak_passwords=False, registration_password_min_length=12,
               phone_pass_min_length=8)


def server(ip, server_id, version, generate="Y", active="Y"):
    return dict(server_id=server_id, server_ip=ip, asterisk_version=version, active_asterisk_server=active,
                generate_vicidial_conf=generate, active_agent_login_server="Y")


SERVERS = {
    "10.10.10.1": server("10.10.10.1", "ast1", "18.21.0"),
    "10.10.10.2": server("10.10.10.2", "ast2", "20.9.0"),
    "10.10.10.3": server("10.10.10.3", "ast3", "22.10.1"),
    "10.10.10.4": server("10.10.10.4", "ast4", "21.0.0"),
    "10.10.10.5": server("10.10.10.5", "ast5", "1.8.32.3", generate="N"),
}


def db_row(i, **cols):
    """The row good_entry(i) is stored as, plus what VICIdial's jobs wrote."""
    row = {
        "extension": "7%04d" % i, "server_ip": IPS[i % 2], "protocol": "PJSIP", "dialplan_number": "7%04d" % i,
        "voicemail_id": "7%04d" % i, "login": "L7%04d" % i, "pass": "LoginPw7%04d" % i,
        "conf_secret": "RegSecret-7%04d-abcd" % i, "fullname": "Agent %d" % i, "active": "Y", "status": "ACTIVE",
        "template_id": "", "phone_context": "default", "phone_ring_timeout": 60, "local_gmt": "-5.00",
        "email": None, "conf_override": "", "phone_ip": "192.0.2.7", "peer_status": "REGISTERED",
        "ping_time": 12, "messages": 3, "old_messages": 4,
    }
    row.update(cols)
    return row


def make_ctx(rows=None, other_logins=(), settings=None, templates=("tmpl_pjsip",), voicemail_ids=("9999", "VMBOX9"),
             alias_ids=("ALIAS1",)):
    rows = [db_row(i) for i in range(EXISTING)] if rows is None else rows
    return {
        "servers": dict((ip, dict(s)) for ip, s in SERVERS.items()),
        "settings": dict({"allowed_sip_stacks": "SIP_and_PJSIP", "default_local_gmt": "-5.00",
                          "require_password_length": "0", "active_voicemail_server": "10.10.10.1"},
                         **(settings or {})),
        "templates": set(templates),
        "voicemail_ids": set(voicemail_ids),
        "alias_ids": set(alias_ids),
        "logins": [dict(extension=r["extension"], server_ip=r["server_ip"], login=r.get("login")) for r in rows]
        + [dict(o) for o in other_logins],
        "rows": dict(((r["extension"], r["server_ip"]), r) for r in rows),
    }


def entry_set(overrides):
    return with_overrides([good_entry(i) for i in range(N)], overrides)


def plan_for(overrides=None, ctx=None, options=None, purge=None, entries=None):
    entries = entry_set(overrides or {}) if entries is None else entries
    parsed, errors = parse_all(entries, None)
    assert errors == [], [str(e) for e in errors]
    plan = PhonePlan(dict(OPTIONS, **(options or {})))
    problems = plan.build(parsed, make_ctx() if ctx is None else ctx, purge)
    return plan, problems


def label_of(i, ip=None):
    return "7%04d@%s" % (i, ip or IPS[i % 2])


def assert_only(errors, label, field, fragment=None, count=1):
    assert [(e.entry, e.field) for e in errors] == [(label, field)] * count, [str(e) for e in errors]
    message = validate.format_errors(errors)
    assert ("  - %s: %s: " % (label, field) if field else "  - %s: " % label) in message
    if fragment is not None:
        assert all(fragment in e.message for e in errors), [str(e) for e in errors]
    return errors


def actions(plan):
    counts = {}
    for change in plan.changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return counts


def change_of(plan, label):
    found = [c for c in plan.changes if c.label == label]
    assert len(found) == 1, label
    return found[0]


# --- the baseline ---------------------------------------------------------------

def test_valid_set_plans_creates_for_new_rows_and_nothing_for_identical_ones():
    plan, errors = plan_for()
    assert errors == []
    assert actions(plan) == {"create": N - EXISTING} and plan.unchanged == EXISTING
    create = change_of(plan, LABEL)
    # What admin.php's ADD writes explicitly (vicidial-phones.md 2.3), then the entry.
    for column, value in {"template_id": "", "active": "Y", "status": "ACTIVE", "phone_ip": "", "computer_ip": "",
                          "company": "", "picture": "", "user_group": "---ALL---", "local_gmt": "-5.00",
                          "protocol": "PJSIP", "login": "L70900", "conf_secret": "RegSecret-70900-abcd"}.items():
        assert create.values[column] == value, column


def test_runtime_columns_and_null_versus_empty_are_not_changes():
    ctx = make_ctx()
    ctx["rows"][("70100", "10.10.10.1")].update(phone_ip="198.51.100.1", peer_status="UNREACHABLE", email=None)
    plan, errors = plan_for({100: {"email": ""}}, ctx=ctx)
    assert errors == [] and "update" not in actions(plan)


def test_an_update_writes_only_the_changed_columns():
    plan, errors = plan_for({100: {"phone_full_name": "Sales 1", "dialplan_number": "70100"}})
    assert errors == []
    update = change_of(plan, label_of(100))
    assert (update.action, update.fields, update.values) == ("update", ["fullname"], {"fullname": "Sales 1"})


# --- servers, templates, voicemail boxes ----------------------------------------------

def test_unknown_server_is_an_error():
    plan, errors = plan_for({BAD: {"server_ip": "10.10.10.9"}})
    assert_only(errors, "70900@10.10.10.9", "server_ip", "no VICIdial server")


@pytest.mark.parametrize("template, ok", [("tmpl_pjsip", True), ("", True), ("--NONE--", True),
                                          ("nope", False), ("tmpl_pjsip2", False)])
def test_template_must_exist_unless_empty_or_none(template, ok):
    plan, errors = plan_for({BAD: {"template_id": template}})
    if ok:
        assert errors == []
        assert change_of(plan, LABEL).values["template_id"] == template
    else:
        assert_only(errors, LABEL, "template_id", "no conf template %r" % template)


def test_voicemail_id_of_a_vicidial_voicemail_box_is_an_error():
    plan, errors = plan_for({BAD: {"voicemail_id": "9999"}})
    assert_only(errors, LABEL, "voicemail_id", "vicidial_voicemail")


# --- logins ------------------------------------------------------------------------------

def test_login_that_is_a_phone_alias_id_is_an_error():
    plan, errors = plan_for({BAD: {"phone_login": "ALIAS1"}})
    assert_only(errors, LABEL, "phone_login", "phone alias id")


def test_login_of_a_phone_on_another_server_is_an_error():
    ctx = make_ctx(other_logins=[dict(extension="5555", server_ip="10.10.10.3", login="SHARED1")])
    plan, errors = plan_for({BAD: {"phone_login": "SHARED1"}}, ctx=ctx)
    assert_only(errors, LABEL, "phone_login", "'SHARED1' is also the login of 5555@10.10.10.3")


def test_login_of_an_unchanged_declared_phone_is_an_error_on_the_new_one_only():
    plan, errors = plan_for({BAD: {"phone_login": "L70100"}})
    assert_only(errors, LABEL, "phone_login", "is also the login of 70100@10.10.10.1")


def test_two_declared_entries_with_one_login_both_fail():
    plan, errors = plan_for({100: {"phone_login": "DUP1"}, BAD: {"phone_login": "DUP1"}})
    assert sorted((e.entry, e.field) for e in errors) == [(label_of(100), "phone_login"), (LABEL, "phone_login")]
    assert "70900@10.10.10.1" in [e for e in errors if e.entry == label_of(100)][0].message


def test_login_freed_by_a_delete_in_the_same_run_can_be_taken():
    plan, errors = plan_for({100: {"state": "absent"}, BAD: {"phone_login": "L70100"}})
    assert errors == []
    assert change_of(plan, label_of(100)).action == "delete"


def test_login_freed_by_a_purge_can_be_taken():
    entries = entry_set({BAD: {"phone_login": "L70100"}})
    del entries[100]
    plan, errors = plan_for(entries=entries, purge={"10.10.10.1"})
    assert errors == []
    assert [c.label for c in plan.changes if c.action == "delete"] == [label_of(100)]


def test_moving_a_phone_to_another_server_with_a_purge_keeps_its_login():
    moved = {100: {"server_ip": "10.10.10.3"}}
    plan, errors = plan_for(moved, purge={"10.10.10.1"})
    assert errors == []
    assert change_of(plan, label_of(100, "10.10.10.3")).action == "create"
    assert change_of(plan, label_of(100)).action == "delete"
    plan, errors = plan_for(moved)  # without the purge the old row keeps the login
    assert_only(errors, label_of(100, "10.10.10.3"), "phone_login", "is also the login of 70100@10.10.10.1")


def test_two_phones_may_swap_logins_in_one_run():
    plan, errors = plan_for({100: {"phone_login": "L70102"}, 102: {"phone_login": "L70100"}})
    assert errors == []
    assert actions(plan)["update"] == 2


def test_duplicates_already_in_the_database_are_not_this_runs_problem():
    ctx = make_ctx(other_logins=[dict(extension="5555", server_ip="10.10.10.3", login="OLDDUP"),
                                 dict(extension="5556", server_ip="10.10.10.3", login="OLDDUP")])
    plan, errors = plan_for(ctx=ctx)
    assert errors == []


# --- the database compares case-insensitively -----------------------------------------
# VICIdial's tables use a case-insensitive collation (utf8mb4_general_ci in the
# integration fixture, latin1_swedish_ci on old installs): the unique key
# extenserver, admin.php's "login = ..." checks and the agent screen's login
# lookup all treat 'L70100' and 'l70100' as the same value.

def _case_ctx():
    other = db_row(501, extension="PX501", login="OTHER501", dialplan_number="5501", voicemail_id="5501")
    return make_ctx(rows=[db_row(i) for i in range(EXISTING)] + [other])


@pytest.mark.parametrize("case", ["login", "alias", "voicemail"])
def test_login_alias_and_voicemail_checks_ignore_case(case):
    overrides, field = {
        "login": ({BAD: {"phone_login": "l70100"}}, "phone_login"),
        "alias": ({BAD: {"phone_login": "alias1"}}, "phone_login"),
        "voicemail": ({BAD: {"voicemail_id": "vmbox9"}}, "voicemail_id"),
    }[case]
    plan, errors = plan_for(overrides)
    assert_only(errors, LABEL, field)


def test_template_lookup_ignores_case_like_the_generator():
    # VICIdial (and _render) find template 'tmpl_pjsip' for template_id 'TMPL_PJSIP'.
    plan, errors = plan_for({BAD: {"template_id": "TMPL_PJSIP"}})
    assert [str(e) for e in errors] == []


def test_an_extension_declared_twice_in_different_case_is_a_duplicate():
    plan, errors = plan_for({BAD: {"extension": "px900"}, 902: {"extension": "PX900", "server_ip": "10.10.10.1"}})
    assert errors, "px900 and PX900 on 10.10.10.1 collide on the unique key extenserver"


def test_an_existing_row_in_other_case_is_not_created_again():
    entries = entry_set({})
    entries[501] = dict(good_entry(501), extension="px501")
    plan, errors = plan_for(entries=entries, ctx=_case_ctx())
    created = [c for c in plan.changes if c.action == "create" and c.key[0].lower() == "px501"]
    assert errors or not created, "INSERT of px501 would hit the existing PX501 (duplicate key)"


# --- password policy -----------------------------------------------------------------------

@pytest.mark.parametrize("option, value, fragment", [
    ("phone_pass", "test", "shipped default"), ("phone_pass", "TeSt", "shipped default"),
    ("phone_pass", "Short7p", "7 characters, shorter than the minimum of 8"),
    ("registration_password", "test", "shipped default"),
    ("registration_password", "Eleven-char", "11 characters, shorter than the minimum of 12"),
])
def test_weak_passwords_are_refused_unless_allowed(option, value, fragment):
    plan, errors = plan_for({BAD: {option: value}})
    assert_only(errors, LABEL, option, fragment)
    assert value not in validate.format_errors(errors)
    plan, errors = plan_for({BAD: {option: value}}, options=dict(allow_weak_passwords=True))
    assert errors == []


@pytest.mark.parametrize("option, value", [("phone_pass", "Eight8pw"), ("registration_password", "Twelve-chars")])
def test_passwords_at_the_minimum_length_are_accepted(option, value):
    assert plan_for({BAD: {option: value}})[1] == []


def test_configured_minimum_lengths_apply():
    options = dict(phone_pass_min_length=13, registration_password_min_length=21)
    plan, errors = plan_for({BAD: {}}, options=options)
    # every new entry (500..999) is too short now; the 500 unchanged rows are not judged
    assert len(errors) == 2 * (N - EXISTING)
    assert set(e.field for e in errors) == {"phone_pass", "registration_password"}


def test_require_password_length_applies_even_with_weak_passwords_allowed():
    ctx = make_ctx(settings={"require_password_length": "20"})
    plan, errors = plan_for({BAD: {"registration_password": "RegSecret-12345"}}, ctx=ctx,
                            options=dict(allow_weak_passwords=True))
    assert_only(errors, LABEL, "registration_password", "require_password_length (20)")


def test_an_unchanged_weak_password_of_an_existing_row_is_not_judged_but_a_new_one_is():
    rows = [db_row(i) for i in range(EXISTING)]
    rows[100]["pass"] = "test"
    plan, errors = plan_for({100: {"phone_pass": "test"}, 102: {"phone_pass": "short"}}, ctx=make_ctx(rows=rows))
    assert_only(errors, label_of(102), "phone_pass", "shorter than the minimum")


def test_update_password_on_create_neither_writes_nor_judges_passwords_of_existing_rows():
    plan, errors = plan_for({100: {"phone_pass": "test", "registration_password": "NewRegSecret-0001"}},
                            options=dict(update_password="on_create"))
    assert errors == []
    assert "update" not in actions(plan)
    plan, errors = plan_for({BAD: {"phone_pass": "test"}}, options=dict(update_password="on_create"))
    assert_only(errors, LABEL, "phone_pass", "shipped default")  # a create still writes and judges it


# --- SIP and Asterisk 21+ --------------------------------------------------------------------

@pytest.mark.parametrize("ip, protocol, ok", [
    ("10.10.10.3", "SIP", False), ("10.10.10.4", "SIP", False), ("10.10.10.3", "PJSIP", True),
    ("10.10.10.2", "SIP", True), ("10.10.10.5", "SIP", True), ("10.10.10.3", "IAX2", True),
])
def test_sip_is_refused_on_asterisk_21_and_later(ip, protocol, ok):
    plan, errors = plan_for({BAD: {"server_ip": ip, "protocol": protocol}})
    if ok:
        assert errors == []
    else:
        assert_only(errors, "70900@" + ip, "protocol", "SIP (chan_sip) does not exist on Asterisk %s"
                    % SERVERS[ip]["asterisk_version"])


def test_an_existing_sip_row_on_asterisk_22_is_refused_when_the_entry_keeps_its_protocol():
    rows = [db_row(i) for i in range(EXISTING)] + [db_row(BAD, server_ip="10.10.10.3", protocol="SIP")]
    plan, errors = plan_for({BAD: {"server_ip": "10.10.10.3", "protocol": DROP}}, ctx=make_ctx(rows=rows))
    assert_only(errors, "70900@10.10.10.3", "protocol")


@pytest.mark.parametrize("stacks, ok", [("SIP", False), ("SIP_and_PJSIP", False), ("PJSIP", True)])
def test_default_protocol_of_a_create_follows_allowed_sip_stacks(stacks, ok):
    ctx = make_ctx(settings={"allowed_sip_stacks": stacks})
    plan, errors = plan_for({BAD: {"server_ip": "10.10.10.3", "protocol": DROP}}, ctx=ctx)
    if ok:
        assert errors == [] and change_of(plan, "70900@10.10.10.3").values["protocol"] == "PJSIP"
    else:
        assert_only(errors, "70900@10.10.10.3", "protocol")


# --- required on create, extension by the protocol a row will have ------------------------------

@pytest.mark.parametrize("option", ["dialplan_number", "voicemail_id", "phone_login", "phone_pass"])
@pytest.mark.parametrize("how", [DROP, ""])
def test_admin_add_required_fields_are_required_to_create(option, how):
    plan, errors = plan_for({BAD: {option: how}})
    assert set((e.entry, e.field) for e in errors) == {(LABEL, option)}, [str(e) for e in errors]
    assert "is required to create the phone" in [e.message for e in errors]


@pytest.mark.parametrize("protocol, required", [("PJSIP", True), ("SIP", True), ("IAX2", True),
                                                ("EXTERNAL", False), ("Zap", False)])
def test_registration_password_is_required_for_registering_protocols(protocol, required):
    plan, errors = plan_for({BAD: {"protocol": protocol, "registration_password": DROP}})
    if required:
        assert_only(errors, LABEL, "registration_password", "is required to create the phone")
    else:
        assert errors == []


def test_an_update_needs_only_what_changes():
    entries = entry_set({})
    entries[100] = {"extension": "70100", "server_ip": "10.10.10.1", "phone_full_name": "Sales"}
    plan, errors = plan_for(entries=entries)
    assert errors == []
    assert change_of(plan, label_of(100)).fields == ["fullname"]


@pytest.mark.parametrize("stacks", ["SIP", "PJSIP"])
def test_dashed_extension_without_protocol_is_refused_for_a_create(stacks):
    plan, errors = plan_for({BAD: {"extension": "70-900", "protocol": DROP}},
                            ctx=make_ctx(settings={"allowed_sip_stacks": stacks}))
    assert_only(errors, "70-900@10.10.10.1", "extension", "letters and digits only")


def test_dashed_extension_of_an_existing_zap_row_is_fine_without_protocol():
    rows = [db_row(i) for i in range(EXISTING)] + [db_row(BAD, extension="25-1", protocol="Zap")]
    plan, errors = plan_for({BAD: {"extension": "25-1", "protocol": DROP}}, ctx=make_ctx(rows=rows))
    assert errors == []


# --- duplicates and purge --------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["present", "absent"])
def test_an_entry_declared_twice_is_an_error(state):
    entries = entry_set({})
    entries[BAD] = dict(good_entry(100), state=state)
    plan, errors = plan_for(entries=entries)
    assert_only(errors, label_of(100), None, "is declared more than once")


def test_purge_deletes_only_undeclared_rows_of_the_listed_servers():
    rows = [db_row(i) for i in range(EXISTING)] + [db_row(5000 + i) for i in range(4)]
    plan, errors = plan_for(ctx=make_ctx(rows=rows), purge={"10.10.10.2"})
    assert errors == []
    assert sorted(c.label for c in plan.changes if c.action == "delete") == [label_of(5001), label_of(5003)]


# --- secrets never reach reports, diffs, logs ----------------------------------------------------

NEW_SECRETS = {"phone_pass": "NewPhonePassS3cret", "registration_password": "NewRegPassS3cret-0001",
               "ASTmgrSECRET": "NewAmiS3cret1", "login_pass": "NewLoginPassS3cret", "DBX_pass": "NewDbxS3cret1",
               "DBY_pass": "NewDbyS3cret1"}
OLD_SECRETS = {"pass": "OldPhonePassS3cret", "conf_secret": "OldRegPassS3cret-0001", "ASTmgrSECRET": "OldAmiS3cret1",
               "login_pass": "OldLoginPassS3cret", "DBX_pass": "OldDbxS3cret1", "DBY_pass": "OldDbyS3cret1"}
GONE_SECRETS = {"pass": "GonePhonePassS3cret", "conf_secret": "GoneRegPassS3cret-01"}
ALL_SECRETS = list(NEW_SECRETS.values()) + list(OLD_SECRETS.values()) + list(GONE_SECRETS.values())


class FakeConnection(object):
    """Records what the planner sends to the database."""

    lastrowid = 41  # the journal row's id (PhonePlan.open_journal)

    def __init__(self):
        self.calls = []

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, args=None):
        self.calls.append((sql, [list(args or [])]))

    def executemany(self, sql, rows):
        self.calls.append((sql, [list(r) for r in rows]))


def secret_plan():
    rows = [db_row(i) for i in range(EXISTING)]
    rows[100].update(OLD_SECRETS)
    rows[102].update(GONE_SECRETS)
    ctx = make_ctx(rows=rows)
    plan, errors = plan_for({BAD: dict(NEW_SECRETS), 100: dict(NEW_SECRETS), 102: {"state": "absent"}}, ctx=ctx)
    assert errors == []
    plan.statements()
    return plan, ctx


def assert_no_secret(text):
    leaked = [s for s in ALL_SECRETS if s in text]
    assert leaked == [], leaked


def test_readable_statements_mask_every_secret():
    plan, _ctx = secret_plan()
    kinds = dict((c.label, c.action) for c in plan.changes if c.label in (LABEL, label_of(100), label_of(102)))
    assert kinds == {LABEL: "create", label_of(100): "update", label_of(102): "delete"}
    for change in plan.changes:
        text = plan.readable(change)
        assert_no_secret(text)
        if change.label in (LABEL, label_of(100)):
            assert text.count(model.MASK) == len(NEW_SECRETS), text
    assert "'Agent 900'" in plan.readable(change_of(plan, LABEL))
    assert "login_pass='%s'" % model.MASK in plan.readable(change_of(plan, label_of(100)))


def test_diff_and_report_mask_every_secret():
    plan, _ctx = secret_plan()
    diff = plan.diff()
    assert_no_secret(repr(diff))
    assert_no_secret(repr(plan.report()))
    assert diff["after"][label_of(100)]["registration_password"] == model.MASK + " (changed)"
    assert diff["before"][label_of(100)]["phone_pass"] == model.MASK
    assert diff["after"][LABEL]["DBX_pass"] == model.MASK


def test_apply_sends_secrets_only_as_parameters_and_logs_them_masked():
    plan, ctx = secret_plan()
    conn = FakeConnection()
    queries = plan.apply(conn, ctx, "admin")
    assert_no_secret(repr(queries))
    params = []
    for sql, rows in conn.calls:
        assert_no_secret(sql)
        params.extend(v for row in rows for v in row)
        if "vicidial_admin_log" in sql:
            assert_no_secret(repr(rows))
    # the new secrets are written, as parameters
    for value in NEW_SECRETS.values():
        assert value in params


def test_sql_literal():
    assert sql_literal(None) == "NULL"
    assert sql_literal(60) == "60"
    assert sql_literal("O'Brien") == "'O\\'Brien'"
    assert sql_literal("a\\b") == "'a\\\\b'"
    assert sql_literal("a\nb") == "'a\\nb'"
    assert sql_literal("\\'") == "'\\\\\\''"


def test_hostile_literal_values_travel_as_parameters_and_read_back_escaped():
    value = "http://x.example/?q=1'; DROP TABLE phones; --"
    plan, errors = plan_for({BAD: {"local_web_callerID_URL": value}, 100: {"local_web_callerID_URL": value}})
    assert errors == []
    plan.statements()
    for label in (LABEL, label_of(100)):
        change = change_of(plan, label)
        assert "DROP" not in change.sql and value in change.params
        assert "'http://x.example/?q=1\\'; DROP TABLE phones; --'" in plan.readable(change)
    conn = FakeConnection()
    plan.apply(conn, make_ctx(), "admin")
    assert all("DROP TABLE" not in sql for sql, _rows in conn.calls if "vicidial_admin_log" not in sql)


# --- secrets inside conf_override (issue 11) -------------------------------------------------------

OVR_OLD = "OvrOldS3cret-1"
OVR_NEW = "OvrNewS3cret-2"
OVR_OUT = "OvrOutS3cret-3"


def wizard_override(secret, out=OVR_OUT):
    return ("type=wizard\naccepts_auth=yes\ninbound_auth/username=x\ninbound_auth/password=%s\n"
            "outbound_auth/password = %s\nendpoint/context=default" % (secret, out))


def override_plan(before_override, after_override, protocol="PJSIP"):
    rows = [db_row(i, protocol=protocol) for i in range(EXISTING)]
    rows[100]["conf_override"] = before_override
    change = {"conf_override": after_override, "protocol": protocol}
    plan, errors = plan_for({100: change, BAD: change}, ctx=make_ctx(rows=rows))
    assert errors == [], [str(e) for e in errors]
    plan.statements()
    return plan


def assert_no_override_secret(text):
    leaked = [s for s in (OVR_OLD, OVR_NEW, OVR_OUT) if s in text]
    assert leaked == [], leaked


def test_secrets_inside_conf_override_are_masked_in_queries_diff_pending_and_the_admin_log():
    plan = override_plan(wizard_override(OVR_OLD), wizard_override(OVR_NEW, out="other-out-secret"))
    texts = [plan.readable(c) for c in plan.changes]
    assert_no_override_secret(repr(texts))
    assert any("inbound_auth/password=%s" % model.MASK in t for t in texts), texts
    diff = plan.diff()
    assert_no_override_secret(repr(diff))
    assert "inbound_auth/password=%s" % model.MASK in diff["before"][label_of(100)]["conf_override"]
    assert "inbound_auth/password=%s" % model.MASK in diff["after"][label_of(100)]["conf_override"]
    assert "endpoint/context=default" in diff["after"][LABEL]["conf_override"]
    assert_no_override_secret(repr(plan.pending()))
    conn = FakeConnection()
    plan.apply(conn, make_ctx(), "admin")
    for sql, rows in conn.calls:
        if "vicidial_admin_log" in sql:
            assert_no_override_secret(repr(rows))


def test_a_change_of_only_a_masked_secret_in_conf_override_still_shows_in_the_diff():
    plan = override_plan(wizard_override(OVR_OLD), wizard_override(OVR_NEW))
    after = plan.diff()["after"][label_of(100)]["conf_override"]
    assert "a masked secret in it changed" in after
    assert_no_override_secret(after)


@pytest.mark.parametrize("line", ["secret=%s", "md5secret=%s", "password=%s", "remotesecret=%s",
                                  "outbound_auth/password=%s", "Secret = %s"])
def test_every_secret_key_of_an_override_is_masked(line):
    text = "type=friend\nhost=dynamic\n" + line % OVR_NEW
    plan = override_plan("", text, protocol="SIP")
    assert_no_override_secret(repr([plan.readable(c) for c in plan.changes]) + repr(plan.diff()))


# --- the update path refuses what create refuses (issue 11, item 7) --------------------------------

@pytest.mark.parametrize("option", ["dialplan_number", "voicemail_id", "phone_login", "phone_pass",
                                    "registration_password"])
def test_an_update_may_not_empty_a_required_field(option):
    _plan, errors = plan_for({100: {option: ""}})
    assert_only(errors, label_of(100), option, "must not be empty")


def test_a_create_with_an_empty_required_field_is_still_refused_as_before():
    _plan, errors = plan_for({BAD: {"dialplan_number": ""}})
    assert_only(errors, LABEL, "dialplan_number", "is required to create")


def inactive_rows(secret, **cols):
    rows = [db_row(i) for i in range(EXISTING)]
    rows[100].update(dict(active="N", conf_secret=secret, **cols))
    return rows


@pytest.mark.parametrize("secret, fragment", [("test", "shipped default"), ("TEST", "shipped default"),
                                              ("short1", "shorter than the minimum of 12")])
def test_activating_a_phone_judges_its_stored_registration_password(secret, fragment):
    rows = inactive_rows(secret)
    overrides = {100: {"active": True, "registration_password": DROP}}
    _plan, errors = plan_for(overrides, ctx=make_ctx(rows=rows))
    errors = assert_only(errors, label_of(100), "registration_password", fragment)
    assert "makes live by activating the phone" in errors[0].message
    assert secret not in validate.format_errors(errors).replace("TEST", "").replace("test", "") or secret == "test"
    # Allowed weak passwords, or a new strong one in the same run, are fine.
    assert plan_for(overrides, ctx=make_ctx(rows=rows), options={"allow_weak_passwords": True})[1] == []
    assert plan_for({100: {"active": True}}, ctx=make_ctx(rows=rows))[1] == []


def test_activating_with_the_same_weak_password_declared_or_under_on_create_is_refused():
    rows = inactive_rows("test")
    for options, entry in (({}, {"active": True, "registration_password": "test"}),
                           ({"update_password": "on_create"}, {"active": True})):
        _plan, errors = plan_for({100: entry}, ctx=make_ctx(rows=rows), options=options)
        assert_only(errors, label_of(100), "registration_password", "shipped default")


def test_require_password_length_applies_to_a_stored_password_made_live():
    rows = inactive_rows("RegSecret-70100-abcd")
    ctx = make_ctx(rows=rows, settings={"require_password_length": "30"})
    _plan, errors = plan_for({100: {"active": True, "registration_password": DROP}}, ctx=ctx,
                             options={"allow_weak_passwords": True})
    # (The new rows' passwords are all too short for 30 as well.)
    errors = [e for e in errors if e.entry == label_of(100)]
    assert_only(errors, label_of(100), "registration_password", "require_password_length (30)")
    assert "makes live by activating the phone" in errors[0].message


def test_moving_an_active_phone_to_a_registering_protocol_judges_its_stored_password():
    rows = inactive_rows("test", protocol="EXTERNAL")
    rows[100]["active"] = "Y"
    _plan, errors = plan_for({100: {"registration_password": DROP}}, ctx=make_ctx(rows=rows))
    errors = assert_only(errors, label_of(100), "registration_password", "shipped default")
    assert "changing its protocol to PJSIP" in errors[0].message


def test_a_live_phone_with_a_weak_stored_password_is_not_judged_by_an_unrelated_change():
    rows = [db_row(i) for i in range(EXISTING)]
    rows[100]["conf_secret"] = "test"
    plan, errors = plan_for({100: {"registration_password": DROP, "phone_full_name": "New"}},
                            ctx=make_ctx(rows=rows))
    assert errors == [] and change_of(plan, label_of(100)).fields == ["fullname"]


# --- a PJSIP phone with chan_sip config (issue 9) ----------------------------------------------------

CHAN_SIP = "type=friend\nhost=dynamic\nsecret=ChanS3cretValue\ncontext=default"
SIP_TEMPLATE = "type=friend\nhost=dynamic\ncanreinvite=no\ncontext=default"


def pjsip_ctx(rows=None):
    ctx = make_ctx(rows=rows, templates=("tmpl_pjsip", "SIP_generic"))
    ctx["template_contents"] = {"tmpl_pjsip": "endpoint/context=default\naor/max_contacts=1",
                                "SIP_generic": SIP_TEMPLATE}
    return ctx


def test_a_new_active_pjsip_phone_with_a_chan_sip_override_is_refused_naming_keys_not_values():
    _plan, errors = plan_for({BAD: {"conf_override": CHAN_SIP}}, ctx=pjsip_ctx())
    errors = assert_only(errors, LABEL, "conf_override", "type=friend, host, secret, context")
    message = validate.format_errors(errors)
    assert "ChanS3cretValue" not in message and "PJSIP config wizard" in message


def test_a_pjsip_phone_on_a_chan_sip_template_is_refused():
    _plan, errors = plan_for({BAD: {"template_id": "sip_generic"}}, ctx=pjsip_ctx())
    assert_only(errors, LABEL, "template_id", "template 'sip_generic' has keys")


def test_an_override_appended_to_a_wizard_template_needs_no_type_of_its_own():
    ok = "endpoint/allow=ulaw\naor/max_contacts=2"
    assert plan_for({BAD: {"template_id": "tmpl_pjsip", "conf_override": ok}}, ctx=pjsip_ctx())[1] == []
    _plan, errors = plan_for({BAD: {"conf_override": ok}}, ctx=pjsip_ctx())
    assert_only(errors, LABEL, "conf_override", "no type=wizard")


@pytest.mark.parametrize("override", ["", "host=x", CHAN_SIP])
def test_short_overrides_inactive_phones_and_chan_sip_protocols_are_not_judged(override):
    if len(override) > 10:
        assert plan_for({BAD: {"conf_override": override, "active": False}}, ctx=pjsip_ctx())[1] == []
        assert plan_for({BAD: {"conf_override": override, "protocol": "IAX2"}}, ctx=pjsip_ctx())[1] == []
    else:
        assert plan_for({BAD: {"conf_override": override}}, ctx=pjsip_ctx())[1] == []


@pytest.mark.parametrize("change", [{"protocol": "PJSIP"}, {"active": True}])
def test_an_update_that_makes_a_chan_sip_config_pjsip_and_live_is_refused(change):
    rows = [db_row(i) for i in range(EXISTING)]
    rows[100].update(protocol="SIP", conf_override=CHAN_SIP, active="Y" if "protocol" in change else "N")
    entry = dict(change, registration_password=DROP)
    entry.setdefault("protocol", DROP)
    _plan, errors = plan_for({100: entry}, ctx=pjsip_ctx(rows=rows) if "protocol" in change else pjsip_ctx(
        rows=[dict(r, protocol="PJSIP") if r is rows[100] else r for r in rows]))
    assert_only(errors, label_of(100), "conf_override", "cannot load")


def test_an_untouched_stored_chan_sip_override_only_warns():
    rows = [db_row(i) for i in range(EXISTING)]
    rows[100]["conf_override"] = CHAN_SIP
    plan, errors = plan_for({100: {"phone_full_name": "New"}}, ctx=pjsip_ctx(rows=rows))
    assert errors == []
    assert [w for w in plan.warnings if label_of(100) in w and "conf_override" in w and "does not change" in w]
    assert "ChanS3cretValue" not in repr(plan.warnings)


# --- write order: a journal first, so that a rerun can finish (issue 11, item 5) ----------------------

def test_apply_writes_the_journal_and_log_rows_before_any_phone_row_and_closes_it_last():
    plan, ctx = secret_plan()
    conn = FakeConnection()
    plan.apply(conn, ctx, "admin")
    kinds = []
    for sql, _rows in conn.calls:
        word = sql.split()[0] + " " + ("phones" if " phones " in sql + " " else "servers" if "servers" in sql
                                       else "log")
        kinds.append(word)
    assert kinds[0] == "INSERT log" and conn.calls[0][1][0][3] == "ANSIBLE PHONES UNFINISHED"
    assert kinds[1] == "INSERT log"  # the change rows, tagged with the journal's id
    assert all("(run 41)" in row[5] for row in conn.calls[1][1])
    first_server = kinds.index("UPDATE servers")
    assert all(k.endswith("phones") for k in kinds[2:first_server])
    assert kinds[-1] == "DELETE log"
