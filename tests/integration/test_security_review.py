"""The database items of the security review (issue 11), against a real MariaDB (strict sql_mode).

Secrets inside conf_override, secrets on argument failures, the success path
that registers no secrets (issue 10), control characters, an interrupted run
that the next one completes, unquoted YAML numbers, the update path held to
create's rules, case-insensitive logins in vicidial_phone_info, and PJSIP
phones with chan_sip config (issue 9).
"""

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from ansible_run import LOGIN_PW_A, SECRET_A, SECRET_B, db_args, phone_entry, run_module
from ansible_run import apply_phones as apply

from ansible_collections.telephony.vicidial.plugins.module_utils import _db, _phones
from ansible_collections.telephony.vicidial.plugins.modules import vicidial_phone as vicidial_phone_module
from ansible_collections.telephony.vicidial.plugins.modules import vicidial_phones as vicidial_phones_module

OVR_IN = "OvrInS3cretAbc"
OVR_OUT = "OvrOutS3cretDef"
OVR_SIP = "OvrSipS3cretGhi"
OVR_MD5 = "0123456789abcdef0123456789abcdef"
ALL_SECRETS = (SECRET_A, SECRET_B, LOGIN_PW_A, OVR_IN, OVR_OUT, OVR_SIP)
WIZARD = ("type=wizard\naccepts_auth=yes\naccepts_registrations=yes\ninbound_auth/username=8001\n"
          "inbound_auth/password=%s\noutbound_auth/password = %s\nendpoint/context=default\naor/max_contacts=1"
          % (OVR_IN, OVR_OUT))
CHAN_SIP = "type=friend\nhost=dynamic\nsecret=%s\ncontext=default" % OVR_SIP


def phone(ext, ip="10.10.10.1", **extra):
    return phone_entry(ext, ip, **extra)


def assert_no_secret(*texts, secrets=ALL_SECRETS):
    for text in texts:
        leaked = [s for s in secrets if s in text]
        assert leaked == [], leaked


def everything(run):
    return (run.stdout, run.stderr, run.log, json.dumps(run.result))


def rows(db):
    return {(r["extension"], r["server_ip"]): r for r in db.query("SELECT * FROM phones")}


# --- 1. secrets inside conf_override -----------------------------------------------------------------

def test_secrets_inside_conf_override_never_reach_output_the_admin_log_or_info(vicidial_db):
    db = vicidial_db
    phones = [phone("8001", conf_override=WIZARD), phone("8002", protocol="SIP", conf_override=CHAN_SIP)]
    runs = [apply(db, phones, check=True, diff=True, verbosity=3), apply(db, phones, diff=True, verbosity=3)]
    assert not runs[1].failed, runs[1]
    assert rows(db)[("8001", "10.10.10.1")]["conf_override"] == WIZARD  # written in clear, shown masked
    changed = [phone("8001", conf_override=WIZARD.replace(OVR_IN, SECRET_B)),
               phone("8002", protocol="SIP", conf_override=CHAN_SIP.replace(OVR_SIP, SECRET_B))]
    runs.append(apply(db, changed, check=True, diff=True, verbosity=3))
    runs.append(apply(db, changed, diff=True, verbosity=3))
    for run in runs:
        assert not run.failed, run
        assert_no_secret(*everything(run))
    assert "inbound_auth/password=********" in json.dumps(runs[0].result["pending"])
    after = runs[3].result["diff"]["after"]["8001@10.10.10.1"]["conf_override"]
    assert "inbound_auth/password=********" in after and "a masked secret in it changed" in after
    log = db.query("SELECT event_sql FROM vicidial_admin_log WHERE event_section='PHONES'")
    assert len(log) == 4
    assert_no_secret(*[r["event_sql"] for r in log])
    assert any("secret=********" in r["event_sql"] for r in log)

    info = run_module("vicidial_phone_info", db_args(db), verbosity=3)
    assert not info.failed, info
    assert_no_secret(*everything(info))
    by_ext = {p["extension"]: p for p in info.result["phones"]}
    assert "inbound_auth/password=********" in by_ext["8001"]["conf_override"]
    clear = run_module("vicidial_phone_info", dict(db_args(db), include_secrets=True))
    assert SECRET_B in {p["extension"]: p for p in clear.result["phones"]}["8002"]["conf_override"]


def test_vicidial_phone_echoes_conf_override_masked_on_success_and_failure(vicidial_db):
    db = vicidial_db
    args = dict(db_args(db), **phone("8001", conf_override=WIZARD))
    ok = run_module("vicidial_phone", args, diff=True, verbosity=3)
    assert not ok.failed, ok
    # -vvv prints the module's invocation: conf_override is there, masked.
    assert "inbound_auth/password=********" in ok.stdout
    bad = run_module("vicidial_phone", dict(args, lock_timeout="five"), verbosity=3)
    assert bad.failed and "lock_timeout" in bad.result["msg"]
    refused = run_module("vicidial_phone", dict(args, dialplan_number="12a"), verbosity=3)
    assert refused.failed and "dialplan_number" in refused.result["msg"]
    for run in (ok, bad, refused):
        assert_no_secret(*everything(run))


def run_in_process(monkeypatch, capsys, module, args):
    """main() of a module in this process; returns (result, module instance at exit)."""
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    seen = {}
    for cls in (basic.AnsibleModule,):
        for name in ("exit_json", "fail_json"):
            original = getattr(cls, name)

            def spy(self, *a, _original=original, _name=name, **kw):
                seen["module"] = self
                seen["no_log_values"] = set(self.no_log_values)
                seen["how"] = _name
                return _original(self, *a, **kw)
            monkeypatch.setattr(cls, name, spy)
    with pytest.raises(SystemExit):
        module.main()
    out = capsys.readouterr().out
    return json.loads(out[out.index("{"):]), seen


def test_vicidial_phone_logs_conf_override_masked_to_syslog(vicidial_db, monkeypatch, capsys):
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, "_log_to_syslog", lambda self, msg: logged.append(msg))
    monkeypatch.setattr(basic, "has_journal", False)
    args = dict(db_args(vicidial_db), **phone("8001", conf_override=WIZARD))
    result, _seen = run_in_process(monkeypatch, capsys, vicidial_phone_module, args)
    assert result["changed"] is True, result
    assert logged and any("conf_override" in msg for msg in logged), logged
    assert_no_secret(*logged)


# --- 2. and 3. secrets on failure paths, and none registered on success ------------------------------

@pytest.mark.parametrize("bad", [dict(lock_timeout="five"), dict(purge="maybe"),
                                 dict(phones=["8009", phone("8001")]), dict(defaults="x")],
                         ids=["lock_timeout", "purge", "entry-not-a-dict", "defaults-not-a-dict"])
def test_argument_failures_echo_no_secret_of_the_entries(vicidial_db, bad):
    db = vicidial_db
    args = dict(db_args(db), defaults=dict(phone_pass=LOGIN_PW_A),
                phones=[phone("8001", conf_override=WIZARD), phone("8002", registration_password=SECRET_B)])
    args.update(bad)
    run = run_module("vicidial_phones", args, verbosity=3)
    assert run.failed, run
    assert_no_secret(*everything(run))
    assert rows(db) == {}


def test_success_registers_no_entry_secret_and_failure_registers_them(vicidial_db, monkeypatch, capsys):
    args = dict(db_args(vicidial_db), phones=[phone("8%03d" % i, phone_login="L%d" % i,
                                                    registration_password="RegSecret%06d" % i)
                                              for i in range(200)], defaults=dict(phone_pass=LOGIN_PW_A))
    result, seen = run_in_process(monkeypatch, capsys, vicidial_phones_module, args)
    assert seen["how"] == "exit_json" and result["counts"]["created"] == 200
    # Only the connection password: scrubbing stays linear in the result's size.
    assert seen["no_log_values"] <= {vicidial_db.password}
    assert_no_secret(json.dumps(result), secrets=["RegSecret%06d" % i for i in range(200)] + [LOGIN_PW_A])

    failing = dict(args, phones=args["phones"] + [phone("8999", dialplan_number="12a", conf_override=WIZARD)])
    result, seen = run_in_process(monkeypatch, capsys, vicidial_phones_module, failing)
    assert seen["how"] == "fail_json" and "dialplan_number" in result["msg"]
    assert {"RegSecret000007", LOGIN_PW_A, OVR_IN, OVR_OUT} <= seen["no_log_values"]


# --- 4. control characters ---------------------------------------------------------------------------

@pytest.mark.parametrize("override", ["\x01[evil]\ntype=friend", "type=friend\n\x1b#exec /bin/id",
                                      "type=friend\n\x08#include /etc/shadow"])
def test_control_characters_in_conf_override_are_refused(vicidial_db, override):
    db = vicidial_db
    run = apply(db, [phone("8001", protocol="SIP", conf_override=override)])
    assert run.failed
    assert "8001@10.10.10.1: conf_override: line " in run.result["msg"]
    assert "control character" in run.result["msg"]
    assert rows(db) == {}


# --- 5. an interrupted run is completed by the next one ----------------------------------------------

class Killed(Exception):
    pass


class DiesAt(object):
    """A connection that dies when it is about to send the n-th statement containing marker."""

    def __init__(self, conn, marker, nth=1):
        self.conn, self.marker, self.left = conn, marker, nth

    def cursor(self):
        return _Cursor(self, self.conn.cursor())

    def __getattr__(self, name):
        return getattr(self.conn, name)


class _Cursor(object):
    def __init__(self, owner, cur):
        self.owner, self.cur = owner, cur

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cur.close()
        return False

    def _check(self, sql):
        if self.owner.marker in sql:
            self.owner.left -= 1
            if self.owner.left == 0:
                raise Killed(sql)

    def execute(self, sql, args=None):
        self._check(sql)
        return self.cur.execute(sql, args)

    def executemany(self, sql, args):
        self._check(sql)
        return self.cur.executemany(sql, args)

    def __getattr__(self, name):
        return getattr(self.cur, name)


OPTIONS = dict(update_password="always", allow_weak_passwords=False, registration_password_min_length=12,
               phone_pass_min_length=8, admin_user="ansible", lock_timeout=30, defaults={})


def connect(db):
    settings = _db.connection_settings(db_args(db))
    return _db.connect(settings)


def interrupted_run(db, entries, marker, nth=1):
    conn = connect(db)
    try:
        with pytest.raises(Killed):
            _phones.run(DiesAt(conn, marker, nth), db.database, entries, OPTIONS, False)
    finally:
        conn.close()


def flags(db):
    return {r["server_ip"]: (r["rebuild_conf_files"], r["sounds_update"])
            for r in db.query("SELECT server_ip, rebuild_conf_files, sounds_update FROM servers")}


def phone_log(db):
    return db.query("SELECT event_type, record_id, event_code FROM vicidial_admin_log ORDER BY admin_log_id")


@pytest.mark.parametrize("marker, nth", [("UPDATE servers", 1), ("INSERT INTO phones", 1),
                                         ("UPDATE phones", 1), ("DELETE FROM vicidial_admin_log", 1)],
                         ids=["before-flags", "before-creates", "before-updates", "before-journal-closed"])
def test_a_run_killed_between_its_writes_is_completed_by_the_next(vicidial_db, marker, nth):
    db = vicidial_db
    assert not apply(db, [phone("8001"), phone("8002", "10.10.10.2")]).failed
    db.query("UPDATE servers SET rebuild_conf_files='N', sounds_update='N'")
    db.query("DELETE FROM vicidial_admin_log")
    entries = [phone("8001", phone_full_name="Renamed"), phone("8002", "10.10.10.2"), phone("8003", "10.10.10.2")]
    interrupted_run(db, entries, marker, nth)
    if marker != "DELETE FROM vicidial_admin_log":
        assert flags(db)["10.10.10.2"][0] == "N"  # the interrupted run did not get to flag

    rerun = apply(db, entries)
    assert not rerun.failed, rerun
    assert rerun.result["changed"] is True
    assert flags(db) == {"10.10.10.1": ("Y", "Y"), "10.10.10.2": ("Y", "N"), "10.10.10.3": ("N", "N")}
    # One log row per change, whichever run made it; the journal row is gone.
    logged = sorted((r["event_type"], r["record_id"]) for r in phone_log(db))
    assert logged == [("ADD", "8003"), ("MODIFY", "8001")]
    assert rows(db)[("8001", "10.10.10.1")]["fullname"] == "Renamed" and ("8003", "10.10.10.2") in rows(db)
    again = apply(db, entries)
    assert again.result["changed"] is False and len(phone_log(db)) == 2


def test_check_mode_reports_an_unfinished_run_without_finishing_it(vicidial_db):
    db = vicidial_db
    entries = [phone("8001")]
    interrupted_run(db, entries, "UPDATE servers")
    before = db.checksum()
    check = apply(db, entries, check=True)
    assert not check.failed and check.result["changed"] is True
    assert any("interrupted run" in w for w in check.result["warnings"])
    assert any(q.startswith("UPDATE servers") for q in check.result["queries"])
    assert db.checksum() == before
    assert apply(db, entries).result["changed"] is True and flags(db)["10.10.10.1"][0] == "Y"


def test_an_admin_user_the_log_cannot_hold_is_refused_before_anything_is_written(vicidial_db):
    db = vicidial_db
    before = db.checksum()
    run = apply(db, [phone("8001")], admin_user="a-very-long-admin-user-name")
    assert run.failed and "admin_user: is 27 characters long" in run.result["msg"]
    assert db.checksum() == before


# --- 6. unquoted YAML numbers ------------------------------------------------------------------------

def test_numbers_for_identity_and_secret_fields_are_refused_by_both_writers(vicidial_db):
    db = vicidial_db
    many = apply(db, [phone("8001", dialplan_number=83), phone("8002", phone_pass=2739128)])
    assert many.failed
    assert "8001@10.10.10.1: dialplan_number: must be a string, got the number 83; quote it" in many.result["msg"]
    assert "8002@10.10.10.1: phone_pass: must be a string, got a number; quote it" in many.result["msg"]
    one = run_module("vicidial_phone", dict(db_args(db), **phone("8003", extension=83, registration_password=2739128)))
    assert one.failed
    assert "83@10.10.10.1: extension: must be a string, got the number 83" in one.result["msg"]
    assert "83@10.10.10.1: registration_password: must be a string" in one.result["msg"]
    assert "2739128" not in one.result["msg"]
    assert rows(db) == {}


# --- 7. the update path -------------------------------------------------------------------------------

def test_an_update_may_not_empty_a_required_field_nor_activate_a_weak_stored_secret(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone("8001"), phone("8002", active=False, registration_password="test")],
                     allow_weak_passwords=True).failed
    before = db.checksum()
    run = apply(db, [phone("8001", dialplan_number=""), phone("8002")])
    assert run.failed
    assert "8001@10.10.10.1: dialplan_number: must not be empty" in run.result["msg"]
    entry = phone("8002", active=True)
    del entry["registration_password"]
    run = apply(db, [phone("8001"), entry])
    assert "8002@10.10.10.1: registration_password: is VICIdial's shipped default password (the stored " \
           "registration password, which this run makes live by activating the phone)" in run.result["msg"]
    assert db.checksum() == before


# --- 8. vicidial_phone_info folds case ----------------------------------------------------------------

def test_info_compares_logins_and_aliases_without_case(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone("8001"), phone("8002"), phone("8003")]).failed
    # Logins that differ only in case, as VICIdial's admin screen would not let through.
    db.query("UPDATE phones SET login='l8001x' WHERE extension='8002'")
    db.query("UPDATE phones SET login='L8001X' WHERE extension='8003'")
    db.query("INSERT INTO phones_alias (alias_id, alias_name, logins_list) VALUES ('l8001', 'alias', 'x')")
    info = run_module("vicidial_phone_info", db_args(db))
    by_ext = {p["extension"]: p["agent_login"] for p in info.result["phones"]}
    assert any("also a phone alias id" in r for r in by_ext["8001"]["reasons"]), by_ext
    assert any("used by 2 phones" in r for r in by_ext["8002"]["reasons"]), by_ext
    assert any("used by 2 phones" in r for r in by_ext["8003"]["reasons"]), by_ext


# --- 9. PJSIP phones with chan_sip config --------------------------------------------------------------

def test_pjsip_phone_with_chan_sip_override_or_template_is_refused_naming_keys(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone("8001", protocol="SIP", conf_override=CHAN_SIP)]).failed
    before = db.checksum()
    run = apply(db, [phone("8001", protocol="PJSIP", conf_override=CHAN_SIP), phone("8002", template_id="SIP_generic")])
    assert run.failed
    msg = run.result["msg"]
    assert ("8001@10.10.10.1: conf_override: has keys the PJSIP config wizard cannot load: type=friend, host, "
            "secret, context") in msg
    assert "8002@10.10.10.1: template_id: template 'SIP_generic' has keys the PJSIP config wizard cannot load" in msg
    assert OVR_SIP not in json.dumps(run.result) + run.stdout
    assert db.checksum() == before
    # A stored row like that, left as it is by the run, gets a warning only.
    db.query("UPDATE phones SET protocol='PJSIP' WHERE extension='8001'")
    warned = apply(db, [phone("8001", protocol="PJSIP", phone_full_name="Renamed")])
    assert not warned.failed, warned
    assert any("8001@10.10.10.1: conf_override:" in w for w in warned.result["warnings"])
