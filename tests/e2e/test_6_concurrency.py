"""Issue item 6: two (here three) ansible-playbook runs against one database at the same time.

Runs A and B declare the same phones; run C declares different ones (another 300 on the third
server). All three also change the same lab phone, so their config steps on ast2 overlap too.
To make one run hold the phones lock long enough, the test holds a READ lock on ``phones`` while
the first run (the one that got the named lock) is writing: it is stuck inside its critical
section, and the two others queue on the named lock. Once the database shows both waiting in
GET_LOCK on it for longer than the module's 5 s warning threshold, the table lock is released.

Expected: all three succeed; exactly two say "waited N s for another run" (the first did not
wait); the database holds the union of A/B's and C's phones with their declared values, each
change made once (one admin log row per change); ast2 has the changed phone loaded.
"""

import time

import e2e_lab as lab

SLOW_LOCK_SECONDS = 5  # the module warns "waited N s for another run" after waiting longer than this


def _lock_waiters(conn):
    """{session id: ms spent so far} of the sessions blocked in GET_LOCK on the phones lock."""
    rows = lab.sql("SELECT ID, TIME_MS, INFO FROM information_schema.PROCESSLIST "
                   "WHERE ID <> CONNECTION_ID() AND INFO LIKE 'SELECT GET\\_LOCK(%'", conn=conn)
    return dict((r["ID"], float(r["TIME_MS"])) for r in rows if "'%s'" % lab.LOCK_NAME in r["INFO"])


def _queued(conn):
    """Whether one run holds the phones lock and the two others have waited for it long enough to warn."""
    holder = lab.sql("SELECT IS_USED_LOCK(%s) AS id", (lab.LOCK_NAME,), conn=conn)[0]["id"]
    waiters = _lock_waiters(conn)
    return (holder is not None and holder not in waiters and len(waiters) == 2
            and all(ms > (SLOW_LOCK_SECONDS + 1) * 1000 for ms in waiters.values()))


def test_concurrent_runs_serialise_and_both_converge(known_state):
    lab.add_ghost_server()
    same = [lab.phone(40000 + i, lab.GHOST_IP) for i in range(300)]
    other = [lab.phone(41000 + i, lab.GHOST_IP) for i in range(300)]
    base = lab.lab_entries()
    base[1] = dict(base[1], phone_full_name="Lab desk two, concurrent")
    assert base[1]["extension"] == "8002"
    log_mark = lab.sql("SELECT COALESCE(MAX(admin_log_id), 0) AS m FROM vicidial_admin_log")[0]["m"]

    blocker = lab.db_connect()
    plays = {}
    try:
        lab.sql("LOCK TABLES phones READ", conn=blocker)
        plays["A"] = lab.Playbook([lab.entries_vars(base + same)])
        plays["B"] = lab.Playbook([lab.entries_vars(base + same)])
        plays["C"] = lab.Playbook([lab.entries_vars(base + other)])
        # Events, as the database shows them: one run holds the named lock (stuck behind the table
        # lock), the two others wait in GET_LOCK on it, each for longer than the warning threshold.
        deadline = time.monotonic() + 300
        while not _queued(blocker):
            for name, play in plays.items():
                assert play.proc.poll() is None, "run %s ended early:\n%s" % (name, play.wait().explain())
            assert time.monotonic() < deadline, "the runs never queued on the phones lock: waiters %s" % (
                _lock_waiters(blocker))
            time.sleep(0.2)
    finally:
        lab.sql("UNLOCK TABLES", conn=blocker)
        blocker.close()
    runs = dict((name, play.wait()) for name, play in plays.items())

    for name, run in runs.items():
        assert run.rc == 0, "run %s failed:\n%s" % (name, run.explain())
    waited = sorted(name for name, run in runs.items()
                    if any("waited" in w and "for another run" in w for w in run.warnings()))
    assert len(waited) == 2, "runs that said they waited: %s" % waited
    for name in waited:
        assert "waited" in runs[name].stdout + runs[name].stderr, "run %s did not show its warning" % name

    rows = lab.phones_rows("server_ip=%s", (lab.GHOST_IP,))
    want = dict(((e["extension"], lab.GHOST_IP), e) for e in same + other)
    assert sorted(rows) == sorted(want)
    wrong = [k for k, e in want.items()
             if (rows[k]["conf_secret"], rows[k]["pass"], rows[k]["login"], rows[k]["fullname"])
             != (e["registration_password"], e["phone_pass"], e["phone_login"], e["phone_full_name"])]
    assert not wrong, wrong[:10]
    assert lab.sql("SELECT login, COUNT(*) AS n FROM phones WHERE login <> '' GROUP BY login HAVING n > 1") == []
    assert lab.sql("SELECT fullname FROM phones WHERE extension='8002'")[0]["fullname"] == "Lab desk two, concurrent"

    log = lab.sql("SELECT record_id, event_type, COUNT(*) AS n FROM vicidial_admin_log WHERE admin_log_id > %s "
                  "AND event_section='PHONES' GROUP BY record_id, event_type", (log_mark,))
    assert [r for r in log if r["n"] != 1] == [], "a change was made more than once"
    assert len(log) == len(same) + len(other) + 1, len(log)

    now = lab.loaded(lab.AST2)
    assert now["endpoints"] == known_state.loaded[lab.AST2]["endpoints"], now
    wizard = lab.read_file(lab.AST2, "/etc/asterisk/pjsip_wizard-ansible-phones.conf")
    assert 'callerid="Lab desk two, concurrent"' in wizard
