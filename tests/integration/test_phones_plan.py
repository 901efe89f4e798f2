"""The plan callback (telephony.vicidial.phones_plan) in a real ansible-playbook run.

vicidial_phones runs in --check --diff against a real MariaDB with the callback
enabled as a user enables it (ANSIBLE_CALLBACKS_ENABLED): the Markdown and the
JSON it writes at the end of the run say what the database would get, with
the passwords only as changed, and a bad entry fails the plan with its field.
"""

import json
import os

from ansible_run import LOGIN_PW_A, LOGIN_PW_B, SECRET_A, SECRET_B, db_args, phone_entry, run_module


def plan_run(db, tmp_path, phones, **kw):
    args = db_args(db)
    args.update(phones=phones)
    args.update(kw)
    paths = dict(md=str(tmp_path / "plan.md"), json=str(tmp_path / "plan.json"))
    run = run_module("vicidial_phones", args, check=True, diff=True, env=dict(
        ANSIBLE_CALLBACKS_ENABLED="telephony.vicidial.phones_plan",
        VICIDIAL_PLAN_MARKDOWN=paths["md"], VICIDIAL_PLAN_JSON=paths["json"], VICIDIAL_PLAN_TITLE="fixture"))
    with open(paths["md"]) as handle:
        run.markdown = handle.read()
    with open(paths["json"]) as handle:
        run.plan = json.load(handle)
    return run


def test_plan_of_a_check_diff_run(vicidial_db, tmp_path):
    db = vicidial_db
    assert not run_module("vicidial_phones", dict(db_args(db), phones=[
        phone_entry("8001", "10.10.10.1"), phone_entry("8009", "10.10.10.2")])).failed
    before = db.checksum()
    run = plan_run(db, tmp_path, [
        phone_entry("8001", "10.10.10.1", phone_full_name="New name", registration_password=SECRET_B),
        phone_entry("8002", "10.10.10.1", phone_pass=LOGIN_PW_B)],
        purge=True, purge_servers=["10.10.10.1", "10.10.10.2"])
    assert db.checksum() == before
    plan = run.plan
    assert plan["mode"] == "plan" and plan["status"] == "changes"
    assert plan["summary_line"] == "Plan: 1 to add, 1 to change, 1 to destroy."
    assert [(p["action"], p["phone"]) for p in plan["phones"]] == [
        ("create", "8002@10.10.10.1"), ("update", "8001@10.10.10.1"), ("delete", "8009@10.10.10.2")]
    updated = dict((f["name"], f) for f in plan["phones"][1]["fields"])
    assert (updated["phone_full_name"]["old"], updated["phone_full_name"]["new"]) == ("", "New name")
    assert updated["registration_password"]["new"] == "(changed)"
    assert plan["phones"][2]["reason"] == "purge"
    assert run.markdown.startswith("### :memo: Plan fixture\n")
    assert "~     registration_password: (changed)" in run.markdown
    for text in (run.markdown, json.dumps(plan), run.stdout):
        for secret in (SECRET_A, SECRET_B, LOGIN_PW_A, LOGIN_PW_B):
            assert secret not in text


def test_plan_of_a_bad_entry(vicidial_db, tmp_path):
    run = plan_run(vicidial_db, tmp_path, [phone_entry("8001", "10.10.10.1", dialplan_number="12a"),
                                           phone_entry("8002", "10.10.10.99")])
    assert run.rc != 0 or run.failed
    plan = run.plan
    assert plan["status"] == "failed"
    assert sorted((e["phone"], e["field"]) for e in plan["errors"]) == [
        ("8001@10.10.10.1", "dialplan_number"), ("8002@10.10.10.99", "server_ip")]
    assert "| `8002@10.10.10.99` | `server_ip` |" in run.markdown
    assert os.path.getsize(str(tmp_path / "plan.json")) > 0
