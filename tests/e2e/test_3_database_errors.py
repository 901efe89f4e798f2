"""Issue item 3: the role run with the database unreachable, or with wrong credentials.

Each run must fail with one line that says which of the two it is (and where), with no Python
traceback anywhere in the output or the log, and leave the database and both servers' config as
they were. The two runs go in parallel: they fail before touching anything.
"""

import e2e_lab as lab

UNUSED_IP = lab.PREFIX + ".250"  # in the lab subnet, no host


def _check_one_line_failure(run, expected):
    assert run.rc != 0, "the run succeeded:\n" + run.explain()
    failed = run.failures()
    assert failed, "no failed task:\n" + run.explain()
    assert all("Apply the phone entries" in f["task"] for f in failed), [f["task"] for f in failed]
    msg = failed[0]["result"]["msg"]
    assert expected in msg, "%r does not say %r" % (msg, expected)
    assert "\n" not in msg.strip(), "not one line: %r" % msg
    for text in (run.stdout, run.stderr, run.log):
        assert "Traceback" not in text and "MODULE FAILURE" not in text, run.explain()
    for rec in failed:
        # ansible-core 2.19 adds exception: "(traceback unavailable)" to every fail_json
        assert "module_stderr" not in rec["result"], rec
        assert "Traceback" not in str(rec["result"].get("exception", "")), rec


def test_database_unreachable_or_wrong_credentials(known_state):
    tables = ("phones", "servers", "vicidial_admin_log")
    db_before = lab.checksums(*tables)
    conf_before = dict((c, lab.conf_state(c)) for c in lab.AST.values())
    wrong_password = lab.token(20)

    unreachable = lab.Playbook([{"vicidial_phones_db": {"db_host": UNUSED_IP, "db_connect_timeout": 3}}])
    refused = lab.Playbook([{"vicidial_phones_db": {"db_password": wrong_password}}])
    unreachable, refused = unreachable.wait(), refused.wait()

    _check_one_line_failure(unreachable, "cannot reach the database server at %s:3306" % UNUSED_IP)
    _check_one_line_failure(
        refused, "database refused the credentials of user 'cron' at %s:3306 (wrong user or password)" % lab.DB_IP)
    for text in (refused.stdout, refused.stderr, refused.log, repr(refused.results)):
        assert wrong_password not in text, "the wrong password was shown"

    assert lab.checksums(*tables) == db_before
    for container, before in conf_before.items():
        assert lab.conf_state(container) == before, container
