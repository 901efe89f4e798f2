"""vicidial_phones / vicidial_phone / vicidial_phone_info against a real MariaDB (strict sql_mode).

Each test runs the modules through ansible-playbook and then checks the
database itself, not only what the module reports.
"""

import re
import threading
import time

try:  # the module warns about a wait longer than this
    from ansible_collections.telephony.vicidial.plugins.module_utils._phones import SLOW_LOCK_SECONDS
except ImportError:
    SLOW_LOCK_SECONDS = 5
from ansible_run import LOGIN_PW_A, LOGIN_PW_B, SECRET_A, SECRET_B, db_args, phone_entry, run_module
from ansible_run import apply_phones as apply


def phone(ext, ip="10.10.10.1", **extra):
    return phone_entry(ext, ip, **extra)


def rows(db, where="1=1", args=None):
    return {(r["extension"], r["server_ip"]): r
            for r in db.query("SELECT * FROM phones WHERE " + where, args)}


def test_create_writes_rows_like_admin_add_and_a_rerun_changes_nothing(vicidial_db):
    db = vicidial_db
    phones = [phone("8001", phone_full_name="Front desk", outbound_cid="3125550100"),
              phone("8002", "10.10.10.2", protocol="IAX2"),
              phone("8003", active=False, registration_password=SECRET_B)]
    first = apply(db, phones)
    assert not first.failed, first
    assert first.result["changed"] is True
    assert first.result["counts"] == {"created": 3, "updated": 0, "deleted": 0, "unchanged": 0}

    got = rows(db)
    assert set(got) == {("8001", "10.10.10.1"), ("8002", "10.10.10.2"), ("8003", "10.10.10.1")}
    row = got[("8001", "10.10.10.1")]
    # What admin.php's ADD writes explicitly...
    assert (row["template_id"], row["active"], row["status"]) == ("", "Y", "ACTIVE")
    assert (row["phone_ip"], row["computer_ip"], row["company"], row["picture"]) == ("", "", "", "")
    # ...the entry's own values...
    assert (row["login"], row["pass"], row["conf_secret"]) == ("L8001", LOGIN_PW_A, SECRET_A)
    assert (row["fullname"], row["outbound_cid"], row["protocol"]) == ("Front desk", "3125550100", "PJSIP")
    # ...and VICIdial's column defaults for everything else.
    assert (row["phone_context"], row["phone_ring_timeout"], row["is_webphone"]) == ("default", 60, "N")
    assert row["local_gmt"] == "-5.00" and row["voicemail_timezone"] == "eastern"
    assert got[("8003", "10.10.10.1")]["active"] == "N"
    assert got[("8002", "10.10.10.2")]["protocol"] == "IAX2"

    # Rebuild flags: both servers (generate_vicidial_conf='Y'); ast3 has 'N'.
    flags = {r["server_ip"]: r["rebuild_conf_files"] for r in db.query("SELECT * FROM servers")}
    assert flags == {"10.10.10.1": "Y", "10.10.10.2": "Y", "10.10.10.3": "N"}
    assert first.result["servers_flagged"] == ["10.10.10.1", "10.10.10.2"]

    log = db.query("SELECT * FROM vicidial_admin_log ORDER BY admin_log_id")
    assert [(r["event_section"], r["event_type"], r["record_id"], r["event_code"], r["user"]) for r in log] == [
        ("PHONES", "ADD", ext, "ANSIBLE ADD PHONE", "ansible") for ext in ("8001", "8002", "8003")]
    assert all(SECRET_A not in r["event_sql"] and LOGIN_PW_A not in r["event_sql"] for r in log)
    assert all("********" in r["event_sql"] for r in log)

    db.query("UPDATE servers SET rebuild_conf_files='N'")
    before = db.checksum()
    second = apply(db, phones)
    assert not second.failed, second
    assert second.result["changed"] is False
    assert second.result["counts"]["unchanged"] == 3
    assert second.result["queries"] == [] and second.result["changes"] == []
    assert db.checksum() == before


def test_runtime_columns_and_null_vs_empty_never_count_as_change(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone("8001", email="a@b.example")]).failed
    # What VICIdial's background jobs and admin screen do to a row.
    db.query("UPDATE phones SET phone_ip='192.0.2.7', peer_status='REGISTERED', ping_time=12, messages=3, "
             "old_messages=4, login_user=NULL, conf_override=''")
    again = apply(db, [phone("8001", email="a@b.example", conf_override="", login_user="")])
    assert again.result["changed"] is False, again


def test_modify_updates_only_changed_columns_and_logs_modify(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone("8001"), phone("8002")]).failed
    db.query("UPDATE servers SET rebuild_conf_files='N'")
    run = apply(db, [phone("8001", phone_full_name="Sales 1", registration_password=SECRET_B), phone("8002")],
                diff=True)
    assert run.result["changed"] is True
    assert run.result["changes"] == [{"phone": "8001@10.10.10.1", "action": "update",
                                      "fields": ["registration_password", "phone_full_name"]}]
    row = rows(db)[("8001", "10.10.10.1")]
    assert (row["fullname"], row["conf_secret"]) == ("Sales 1", SECRET_B)
    diff = run.result["diff"]
    assert diff["after"]["8001@10.10.10.1"] == {"phone_full_name": "Sales 1",
                                                "registration_password": "******** (changed)"}
    assert diff["before"]["8001@10.10.10.1"]["registration_password"] == "********"
    log = db.query("SELECT event_type, event_code, event_sql, event_notes FROM vicidial_admin_log "
                   "WHERE event_type='MODIFY'")
    assert len(log) == 1 and log[0]["event_code"] == "ANSIBLE MODIFY PHONE"
    assert SECRET_B not in log[0]["event_sql"] and "fullname='Sales 1'" in log[0]["event_sql"]
    # The voicemail server also gets sounds_update on a modify, as admin.php does.
    server = db.query("SELECT rebuild_conf_files, sounds_update FROM servers WHERE server_ip='10.10.10.1'")[0]
    assert server == {"rebuild_conf_files": "Y", "sounds_update": "Y"}


def test_check_mode_reports_everything_and_writes_nothing(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone("8001"), phone("8009", "10.10.10.2")]).failed
    before = db.checksum()
    run = apply(db, [phone("8001", phone_full_name="New name"), phone("8002")], check=True, diff=True,
                purge=True, purge_servers=["10.10.10.1", "10.10.10.2"])
    assert not run.failed, run
    assert db.checksum() == before
    actions = sorted((c["phone"], c["action"]) for c in run.result["changes"])
    assert actions == [("8001@10.10.10.1", "update"), ("8002@10.10.10.1", "create"),
                       ("8009@10.10.10.2", "delete")]
    assert any(q.startswith("INSERT INTO phones") for q in run.result["queries"])
    assert any(q.startswith("DELETE FROM phones") and "'8009'" in q for q in run.result["queries"])
    assert "8009@10.10.10.2" in run.result["diff"]["before"]
    assert run.result["diff"]["after"]["8002@10.10.10.1"]["registration_password"] == "********"


def test_secrets_never_reach_output_even_at_vvv_with_diff(vicidial_db):
    db = vicidial_db
    phones = [phone("8001"), phone("8002", registration_password=SECRET_B, phone_pass=LOGIN_PW_B)]
    runs = [apply(db, phones, diff=True, verbosity=3),
            apply(db, [phone("8001", registration_password=SECRET_B)], diff=True, verbosity=3, check=True)]
    bad = [dict(phone("8003"), dialplan_number="12a")]
    runs.append(apply(db, bad, diff=True, verbosity=3))
    assert runs[2].failed
    for run in runs:
        for text in (run.stdout, run.stderr, run.log):
            for secret in (SECRET_A, SECRET_B, LOGIN_PW_A, LOGIN_PW_B):
                assert secret not in text


def test_invalid_entries_are_all_reported_and_nothing_is_written(vicidial_db):
    db = vicidial_db
    phones = [phone("%d" % (9000 + i)) for i in range(1000)]
    phones[899] = dict(phones[899], dialplan_number="99-00")
    phones[950] = dict(phones[950], server_ip="10.10.10.99")
    phones[10] = dict(phones[10], extension="SIP/9010")
    before = db.checksum()
    run = apply(db, phones)
    assert run.failed
    msg = run.result["msg"]
    assert "3 problems in 3 entries; nothing was written" in msg
    assert "9899@10.10.10.1: dialplan_number:" in msg
    assert "9950@10.10.10.99: server_ip: no VICIdial server has this IP" in msg
    assert "SIP/9010@10.10.10.1: extension: must be letters and digits only" in msg
    assert db.checksum() == before
    assert "Traceback" not in run.stdout + run.stderr


def test_login_uniqueness_is_judged_on_the_final_state_so_a_move_works(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone("8001")]).failed
    # Same login on another server while the old row stays: refused.
    clash = apply(db, [phone("8001", "10.10.10.2")])
    assert clash.failed
    assert "8001@10.10.10.2: phone_login: 'L8001' is also the login of 8001@10.10.10.1" in clash.result["msg"]
    # Declared on the new server with the old one purged: a move.
    moved = apply(db, [phone("8001", "10.10.10.2")], purge=True, purge_servers=["10.10.10.1", "10.10.10.2"])
    assert not moved.failed, moved
    assert set(rows(db)) == {("8001", "10.10.10.2")}
    assert sorted((c["action"], c["phone"]) for c in moved.result["changes"]) == [
        ("create", "8001@10.10.10.2"), ("delete", "8001@10.10.10.1")]


def test_login_may_not_be_an_alias_and_voicemail_not_a_vicidial_voicemail_box(vicidial_db):
    db = vicidial_db
    db.query("INSERT INTO phones_alias (alias_id, alias_name, logins_list) VALUES ('L8001', 'alias', 'x')")
    db.query("INSERT INTO vicidial_voicemail (voicemail_id, pass, fullname) VALUES ('8002', '1234', 'box')")
    run = apply(db, [phone("8001"), phone("8002")])
    assert run.failed
    assert "8001@10.10.10.1: phone_login: 'L8001' is already a phone alias id" in run.result["msg"]
    assert "8002@10.10.10.1: voicemail_id: '8002' is a box of vicidial_voicemail" in run.result["msg"]


def test_purge_never_touches_servers_it_was_not_given(vicidial_db):
    db = vicidial_db
    others = [phone("7%03d" % i, "10.10.10.3", phone_login="O%03d" % i) for i in range(300)]
    assert not apply(db, others + [phone("8001"), phone("8002")]).failed
    run = apply(db, [phone("8001")], purge=True, purge_servers=["10.10.10.1"])
    assert not run.failed, run
    assert [c["phone"] for c in run.result["changes"]] == ["8002@10.10.10.1"]
    assert len(rows(db, "server_ip='10.10.10.3'")) == 300
    missing = apply(db, [phone("8001")], purge=True)
    assert missing.failed and "purge_servers" in missing.result["msg"]


def test_state_absent_deletes_and_logs(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone("8001")]).failed
    run = apply(db, [dict(extension="8001", server_ip="10.10.10.1", state="absent")])
    assert run.result["changed"] and rows(db) == {}
    assert db.query("SELECT event_type, event_code FROM vicidial_admin_log ORDER BY admin_log_id DESC LIMIT 1") == [
        {"event_type": "DELETE", "event_code": "ANSIBLE DELETE PHONE"}]
    again = apply(db, [dict(extension="8001", server_ip="10.10.10.1", state="absent")])
    assert again.result["changed"] is False


def test_update_password_on_create_lets_passwords_drift(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone("8001")]).failed
    run = apply(db, [phone("8001", registration_password=SECRET_B, phone_pass=LOGIN_PW_B)],
                update_password="on_create")
    assert run.result["changed"] is False
    assert rows(db)[("8001", "10.10.10.1")]["conf_secret"] == SECRET_A


def test_weak_and_default_passwords_are_refused_unless_allowed(vicidial_db):
    db = vicidial_db
    run = apply(db, [phone("8001", registration_password="test"), phone("8002", phone_pass="Zq9x7")])
    assert run.failed
    assert "8001@10.10.10.1: registration_password: is VICIdial's shipped default password" in run.result["msg"]
    assert "8002@10.10.10.1: phone_pass: is 5 characters, shorter than the minimum of 8" in run.result["msg"]
    allowed = apply(db, [phone("8001", registration_password="test")], allow_weak_passwords=True)
    assert not allowed.failed
    db.query("UPDATE system_settings SET require_password_length=30")
    vicidial_rule = apply(db, [phone("8002")], allow_weak_passwords=True)
    assert "require_password_length (30)" in vicidial_rule.result["msg"]


def test_sip_on_asterisk_21_or_later_is_refused(vicidial_db):
    db = vicidial_db
    db.query("UPDATE servers SET asterisk_version='22.10.1' WHERE server_ip='10.10.10.1'")
    run = apply(db, [phone("8001", protocol="SIP")])
    assert run.failed and "SIP (chan_sip) does not exist on Asterisk 22.10.1" in run.result["msg"]


def test_single_phone_module(vicidial_db):
    db = vicidial_db
    args = db_args(db)
    args.update(phone("8001"))
    first = run_module("vicidial_phone", args)
    assert first.result["changed"] is True, first
    assert run_module("vicidial_phone", args).result["changed"] is False
    for secret in (SECRET_A, LOGIN_PW_A):
        assert secret not in first.stdout
    gone = run_module("vicidial_phone", dict(db_args(db), extension="8001", server_ip="10.10.10.1", state="absent"))
    assert gone.result["changed"] is True and rows(db) == {}


def test_info_module_explains_agent_login(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone("8001"), phone("8002", "10.10.10.2"), phone("8003", active=False)]).failed
    db.query("UPDATE servers SET active_agent_login_server='N' WHERE server_ip='10.10.10.2'")
    run = run_module("vicidial_phone_info", db_args(db))
    assert not run.failed, run
    by_ext = {p["extension"]: p for p in run.result["phones"]}
    assert by_ext["8001"]["agent_login"] == {"ok": True, "reasons": []}
    assert by_ext["8002"]["agent_login"]["ok"] is False
    assert "does not accept agent logins" in by_ext["8002"]["agent_login"]["reasons"][0]
    assert "not active" in by_ext["8003"]["agent_login"]["reasons"][0]
    assert "registration_password" not in by_ext["8001"] and SECRET_A not in run.stdout
    only = run_module("vicidial_phone_info", dict(db_args(db), server_ip=["10.10.10.2"], include_secrets=True))
    assert [p["extension"] for p in only.result["phones"]] == ["8002"]
    assert only.result["phones"][0]["registration_password"] == SECRET_A


def test_connection_comes_from_astguiclient_conf(vicidial_db, tmp_path):
    db = vicidial_db
    conf = tmp_path / "astguiclient.conf"
    conf.write_text("VARDB_server => %s\nVARDB_database => %s\nVARDB_user => %s\nVARDB_pass => %s\n"
                    "VARDB_port => %s\n" % (db.host, db.database, db.user, db.password, db.port))
    run = run_module("vicidial_phones", dict(phones=[phone("8001")], astguiclient_conf=str(conf)))
    assert not run.failed, run
    assert set(rows(db)) == {("8001", "10.10.10.1")}


def test_database_errors_are_one_line_without_traceback(vicidial_db):
    db = vicidial_db
    wrong = run_module("vicidial_phones", dict(phones=[phone("8001")], db_host=db.host, db_port=db.port,
                                               db_user=db.user, db_password="wrong-password", db_name=db.database,
                                               astguiclient_conf="/nonexistent"))
    assert wrong.failed
    assert wrong.result["msg"].startswith("database refused the credentials of user")
    unreachable = run_module("vicidial_phones", dict(phones=[phone("8001")], db_host="127.0.0.1", db_port=1,
                                                     db_name=db.database, astguiclient_conf="/nonexistent"))
    assert unreachable.failed
    assert unreachable.result["msg"].startswith("cannot reach the database server at 127.0.0.1:1")
    for run in (wrong, unreachable):
        assert "\n" not in run.result["msg"] and "Traceback" not in run.stdout + run.stderr


def _lock_waiters(conn, name):
    """{session id: ms spent so far} of the sessions blocked in GET_LOCK(name), as MariaDB shows them."""
    with conn.cursor() as cur:
        cur.execute("SELECT ID, TIME_MS, INFO FROM information_schema.PROCESSLIST "
                    "WHERE ID <> CONNECTION_ID() AND INFO LIKE 'SELECT GET\\_LOCK(%'")
        return {row[0]: float(row[1]) for row in cur.fetchall() if "'%s'" % name in row[2]}


def _wait_until(what, predicate, seconds=120):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "waited %ss for %s" % (seconds, what)
        time.sleep(0.05)


def test_concurrent_runs_wait_for_each_other(vicidial_db):
    db = vicidial_db
    name = "telephony.vicidial.phones.%s" % db.database
    holder = db.connect()
    with holder.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, 1)", (name,))
        cur.execute("SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", (name,))
        assert cur.fetchone()[0] == 1
    results = {}

    def second_run():
        results["run"] = apply(db, [phone("8001")])

    thread = threading.Thread(target=second_run)
    thread.start()
    try:
        # The events, as the database shows them: the run asks for the named lock, then it has
        # waited in GET_LOCK longer than the module's threshold for warning about the wait.
        _wait_until("the run to request the phones lock",
                    lambda: _lock_waiters(holder, name) or (not thread.is_alive() and "ended"))
        assert thread.is_alive(), "the run ended without waiting for the lock: %s" % results.get("run")
        _wait_until("the run to wait %s s for the lock" % SLOW_LOCK_SECONDS,
                    lambda: any(ms > (SLOW_LOCK_SECONDS + 1) * 1000 for ms in _lock_waiters(holder, name).values()))
        assert rows(db) == {}, "the run wrote while another held the lock"
    finally:
        with holder.cursor() as cur:
            cur.execute("SELECT RELEASE_LOCK(%s)", (name,))
        thread.join(300)
    run = results["run"]
    assert not run.failed, run
    assert set(rows(db)) == {("8001", "10.10.10.1")}
    warnings = [w for w in run.result.get("warnings", []) if "waited" in w]
    assert warnings, run.result
    assert int(re.search(r"waited (\d+) s", warnings[0]).group(1)) > SLOW_LOCK_SECONDS, warnings


def test_lifecycle_against_vicidials_whole_install_schema(vicidial_full_db):
    db = vicidial_full_db
    phones = [phone("8001", phone_full_name="Desk"), phone("8002", "10.10.10.2", protocol="IAX2")]
    assert apply(db, phones).result["changed"] is True
    assert apply(db, phones).result["changed"] is False
    modified = apply(db, [phone("8001", phone_full_name="Desk two"), phones[1]])
    assert [c["action"] for c in modified.result["changes"]] == ["update"]
    moved = apply(db, [phone("8001", "10.10.10.2", phone_full_name="Desk two"), phones[1]],
                  purge=True, purge_servers=["10.10.10.1", "10.10.10.2"])
    assert sorted(c["action"] for c in moved.result["changes"]) == ["create", "delete"]
    got = rows(db)
    assert set(got) == {("8001", "10.10.10.2"), ("8002", "10.10.10.2")}
    assert got[("8001", "10.10.10.2")]["fullname"] == "Desk two"
    deleted = apply(db, [dict(extension="8002", server_ip="10.10.10.2", state="absent")])
    assert deleted.result["counts"]["deleted"] == 1
    purged = apply(db, [], purge=True, purge_servers=["10.10.10.2"])
    assert purged.result["counts"]["deleted"] == 1 and rows(db) == {}
    codes = [r["event_code"] for r in db.query("SELECT event_code FROM vicidial_admin_log WHERE event_section='PHONES' "
                                               "ORDER BY admin_log_id")]
    # In execution order: a move deletes the old row before it adds the new one.
    assert codes == ["ANSIBLE ADD PHONE"] * 2 + ["ANSIBLE MODIFY PHONE", "ANSIBLE DELETE PHONE",
                                                 "ANSIBLE ADD PHONE", "ANSIBLE DELETE PHONE", "ANSIBLE DELETE PHONE"]
