"""Deleting a phone whose login a phone alias still lists, against a real MariaDB (strict sql_mode).

The delete is refused (whole run, nothing written, the alias named) unless the same run takes the login out of
the alias: vicidial_phones learns the run's aliases from its `aliases` option (the role passes its
vicidial_phones_aliases* variables), then vicidial_phone_aliases applies them.
"""

from ansible_run import apply_phones, db_args, phone_entry, run_module

A1, A2 = "10.10.10.1", "10.10.10.2"
PHONES = [phone_entry("8001", A1, phone_login="8001a"), phone_entry("8001", A2, phone_login="8001b"),
          phone_entry("8002", A1, phone_login="8002a")]
SALES = {"alias_id": "sales", "alias_name": "Sales floor", "logins_list": ["8001a", "8001b"]}


def aliases(db, declared, **kw):
    args = db_args(db)
    args.update(aliases=declared)
    args.update(kw)
    return run_module("vicidial_phone_aliases", args)


def setup(db, *alias_rows):
    assert not apply_phones(db, PHONES).failed
    for alias_id, logins, group in alias_rows:
        db.query("INSERT INTO phones_alias (alias_id, alias_name, logins_list, user_group) VALUES (%s, %s, %s, %s)",
                 (alias_id, "Alias " + alias_id, logins, group))


def phones(db):
    return sorted((r["extension"], r["server_ip"]) for r in db.query("SELECT extension, server_ip FROM phones"))


def stored_aliases(db):
    return dict((r["alias_id"], r["logins_list"]) for r in db.query("SELECT alias_id, logins_list FROM phones_alias"))


ABSENT = dict(extension="8001", server_ip=A2, state="absent")


def test_a_delete_of_a_login_an_alias_lists_is_refused_naming_the_alias(vicidial_db):
    db = vicidial_db
    # Logins compare without regard to case, as VICIdial's tables compare them.
    setup(db, ("sales", "8001a,8001B", "---ALL---"), ("night", "8002a,8001b", "---ALL---"),
          ("other", "8002a", "---ALL---"))
    before = db.checksum()
    for check in (True, False):
        run = apply_phones(db, PHONES[:1] + PHONES[2:] + [ABSENT], check=check)
        assert run.failed, run
        msg = run.result["msg"]
        assert "8001@10.10.10.2" in msg and "'8001b'" in msg and "night, sales" in msg, msg
        assert "other" not in msg
        assert db.checksum() == before
    # The same through a purge, and with an alias declared but its logins left as stored: still refused.
    purge = apply_phones(db, PHONES[:1] + PHONES[2:], purge=True, purge_servers=[A2],
                         aliases=dict(declared=[{"alias_id": "sales", "alias_name": "Renamed"}]))
    assert purge.failed and "8001@10.10.10.2" in purge.result["msg"] and "sales" in purge.result["msg"], purge
    assert db.checksum() == before
    # Another alias group's purge does not take it out either.
    scoped = apply_phones(db, [ABSENT], aliases=dict(purge=True, purge_user_groups=["NIGHT"]))
    assert scoped.failed and "night, sales" in scoped.result["msg"], scoped
    assert db.checksum() == before


def test_the_standalone_module_refuses_it_too(vicidial_db):
    db = vicidial_db
    setup(db, ("sales", "8001a,8001b", "---ALL---"))
    before = db.checksum()
    args = db_args(db)
    args.update(ABSENT)
    run = run_module("vicidial_phone", args)
    assert run.failed and "8001@10.10.10.2" in run.result["msg"] and "sales" in run.result["msg"], run
    assert db.checksum() == before
    # With the login out of the alias first, the delete goes through.
    assert not aliases(db, [dict(SALES, logins_list=["8001a"])]).failed
    gone = run_module("vicidial_phone", args)
    assert not gone.failed and gone.result["counts"]["deleted"] == 1, gone
    assert ("8001", A2) not in phones(db)


def test_allowed_when_the_same_run_takes_the_login_out_of_the_alias(vicidial_db):
    db = vicidial_db
    setup(db, ("sales", "8001a,8001b", "---ALL---"), ("night", "8001B", "---ALL---"))
    declared = [dict(SALES, logins_list=["8001a"]), {"alias_id": "night", "state": "absent"}]
    plan = apply_phones(db, PHONES[:1] + [ABSENT], check=True, aliases=dict(declared=declared))
    assert not plan.failed and plan.result["counts"]["deleted"] == 1, plan
    run = apply_phones(db, PHONES[:1] + [ABSENT], aliases=dict(declared=declared))
    assert not run.failed and run.result["counts"]["deleted"] == 1, run
    then = aliases(db, declared)
    assert not then.failed, then
    assert ("8001", A2) not in phones(db)
    assert stored_aliases(db) == {"sales": "8001a"}
    # Both runs again: nothing to do.
    assert apply_phones(db, PHONES[:1] + [ABSENT], aliases=dict(declared=declared)).result["changed"] is False
    assert aliases(db, declared).result["changed"] is False


def test_allowed_when_the_alias_purge_of_the_run_removes_the_alias(vicidial_db):
    db = vicidial_db
    setup(db, ("sales", "8001a,8001b", "SALES"))
    scope = dict(purge=True, purge_user_groups=["SALES"])
    run = apply_phones(db, PHONES[:1], purge=True, purge_servers=[A1, A2], aliases=dict(declared=[], **scope))
    assert not run.failed and run.result["counts"]["deleted"] == 2, run
    then = aliases(db, [], **scope)
    assert not then.failed and then.result["counts"]["deleted"] == 1, then
    assert phones(db) == [("8001", A1)] and stored_aliases(db) == {}


def test_a_phone_moved_to_another_server_keeps_its_login_for_the_alias(vicidial_db):
    db = vicidial_db
    setup(db, ("sales", "8001a,8001b", "---ALL---"))
    moved = [PHONES[0], phone_entry("8003", A1, phone_login="8001b"), PHONES[2]]
    run = apply_phones(db, moved, purge=True, purge_servers=[A1, A2])
    assert not run.failed, run
    assert sorted(c["action"] for c in run.result["changes"]) == ["create", "delete"]
    assert stored_aliases(db) == {"sales": "8001a,8001b"}
