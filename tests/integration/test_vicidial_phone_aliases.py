"""vicidial_phone_aliases against a real MariaDB (strict sql_mode): admin.php's rules, log rows, purge scope."""

from ansible_run import db_args, phone_entry, run_module


def apply_phones(db, phones):
    args = db_args(db)
    args.update(phones=phones)
    run = run_module("vicidial_phones", args)
    assert not run.failed, run


def aliases(db, declared, check=False, diff=False, **kw):
    args = db_args(db)
    args.update(aliases=declared)
    args.update(kw)
    return run_module("vicidial_phone_aliases", args, check=check, diff=diff)


def stored(db):
    return {r["alias_id"]: (r["alias_name"], r["logins_list"], r["user_group"])
            for r in db.query("SELECT * FROM phones_alias")}


def log(db):
    return [(r["event_section"], r["event_type"], r["record_id"], r["event_code"], r["user"])
            for r in db.query("SELECT * FROM vicidial_admin_log WHERE event_section='PHONEALIASES' "
                              "ORDER BY admin_log_id")]


def setup(db):
    apply_phones(db, [phone_entry("8001", "10.10.10.1", phone_login="8001a"),
                      phone_entry("8001", "10.10.10.2", phone_login="8001b"),
                      phone_entry("8002", "10.10.10.1", phone_login="8002a")])


SALES = {"alias_id": "sales", "alias_name": "Sales floor", "logins_list": ["8001a", "8001b"]}


def test_create_update_delete_with_one_admin_log_row_each_and_reruns_change_nothing(vicidial_db):
    db = vicidial_db
    setup(db)
    first = aliases(db, [SALES], diff=True)
    assert not first.failed, first
    assert first.result["changes"] == [{"alias_id": "sales", "action": "create",
                                        "fields": ["alias_name", "logins_list", "user_group"]}]
    assert stored(db) == {"sales": ("Sales floor", "8001a,8001b", "---ALL---")}
    assert log(db) == [("PHONEALIASES", "ADD", "sales", "ANSIBLE ADD PHONE ALIAS", "ansible")]
    flags = [r["rebuild_conf_files"] for r in db.query("SELECT rebuild_conf_files FROM servers")]
    before = db.checksum()
    again = aliases(db, [dict(SALES, logins_list="8001a,8001b")])  # a comma string is the same list
    assert again.result["changed"] is False and again.result["queries"] == [], again
    assert db.checksum() == before

    update = aliases(db, [dict(SALES, logins_list=["8001a", "8002a"])], diff=True)
    assert update.result["changes"] == [{"alias_id": "sales", "action": "update", "fields": ["logins_list"]}]
    assert update.result["diff"] == {"before": {"sales": {"logins_list": "8001a,8001b"}},
                                     "after": {"sales": {"logins_list": "8001a,8002a"}}}
    assert stored(db)["sales"][1] == "8001a,8002a"
    gone = aliases(db, [{"alias_id": "sales", "state": "absent"}])
    assert gone.result["counts"]["deleted"] == 1 and stored(db) == {}
    assert [e[1] for e in log(db)] == ["ADD", "MODIFY", "DELETE"]
    # Aliases are not in Asterisk's config: no server was flagged.
    assert [r["rebuild_conf_files"] for r in db.query("SELECT rebuild_conf_files FROM servers")] == flags


def test_every_problem_is_named_and_nothing_is_written(vicidial_db):
    db = vicidial_db
    setup(db)
    db.query("INSERT INTO phones_alias (alias_id, alias_name, logins_list) VALUES ('taken', 'Taken', '8001a')")
    before = db.checksum()
    run = aliases(db, [
        {"alias_id": "8002A", "alias_name": "Clash with a login", "logins_list": ["8001a"]},
        {"alias_id": "x", "alias_name": "Too short an id", "logins_list": ["8001a"]},
        {"alias_id": "shortname", "alias_name": "S", "logins_list": ["8001a"]},
        {"alias_id": "ghosts", "alias_name": "Unknown logins", "logins_list": ["8001a", "nobody1", "nobody2"]},
        {"alias_id": "TAKEN", "alias_name": "Again", "logins_list": ["8001a"]},
        {"alias_id": "taken", "alias_name": "Twice", "logins_list": ["8001a"]},
    ])
    assert run.failed
    msg = run.result["msg"]
    assert "8002A: alias_id: is also a phone login" in msg
    assert "x: alias_id: must be 2 to 20 characters" in msg
    assert "shortname: alias_name: must be 2 to 50 characters" in msg
    assert "ghosts: logins_list: no phone has the logins nobody1, nobody2" in msg
    assert "taken: is declared more than once" in msg
    assert db.checksum() == before


def test_check_mode_and_diff_write_nothing(vicidial_db):
    db = vicidial_db
    setup(db)
    before = db.checksum()
    run = aliases(db, [SALES], check=True, diff=True)
    assert not run.failed and run.result["changed"] is True, run
    assert run.result["queries"] == ["INSERT INTO phones_alias (alias_id,alias_name,logins_list,user_group) "
                                     "VALUES ('sales','Sales floor','8001a,8001b','---ALL---')"]
    assert run.result["diff"]["after"]["sales"]["logins_list"] == "8001a,8001b"
    assert db.checksum() == before
    # A login a check-mode phones run would create counts as existing.
    planned = aliases(db, [dict(SALES, logins_list=["8001a", "9001a"])], check=True, extra_logins=["9001a"])
    assert not planned.failed, planned


def test_purge_is_scoped_to_the_named_user_groups_and_never_implicit(vicidial_db):
    db = vicidial_db
    setup(db)
    for alias_id, group in (("old1", "---ALL---"), ("old2", "---ALL---"), ("other", "EAST")):
        db.query("INSERT INTO phones_alias (alias_id, alias_name, logins_list, user_group) VALUES "
                 "(%s, 'Old', '8001a', %s)", (alias_id, group))
    implicit = aliases(db, [SALES], purge=True)
    assert implicit.failed and "purge_user_groups" in implicit.result["msg"]
    assert set(stored(db)) == {"old1", "old2", "other"}
    plan = aliases(db, [SALES], purge=True, purge_user_groups=["---ALL---"], check=True)
    assert sorted((c["alias_id"], c["action"]) for c in plan.result["changes"]) == [
        ("old1", "delete"), ("old2", "delete"), ("sales", "create")]
    run = aliases(db, [SALES], purge=True, purge_user_groups=["---ALL---"])
    assert not run.failed, run
    assert set(stored(db)) == {"sales", "other"}
    assert sorted(e[2] for e in log(db) if e[1] == "DELETE") == ["old1", "old2"]


def test_an_unchanged_stored_alias_is_not_judged(vicidial_db):
    db = vicidial_db
    setup(db)
    # As the admin screen can leave it: a login deleted since.
    db.query("INSERT INTO phones_alias (alias_id, alias_name, logins_list) VALUES ('legacy', 'Legacy', 'gone1')")
    run = aliases(db, [{"alias_id": "legacy", "alias_name": "Legacy", "logins_list": ["gone1"]}])
    assert not run.failed and run.result["changed"] is False, run
    assert any("gone1" in w and "does not change it" in w for w in run.result.get("warnings", []))
