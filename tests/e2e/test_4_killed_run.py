"""Issue item 4: the play is SIGKILLed in the middle of applying a large set; the next run converges.

2000 phones already on a third server (a servers row with no host) are the starting point; the
declared set (-e @file, generated secrets) deletes 200 of them, updates the other 1800 (name and
both passwords) and creates 400 more, next to the lab's phones. The run is killed while it writes:

* a trigger (created as the database's root) makes the module's UPDATE of one phone part-way through
  the set sleep: the module deletes, then updates row by row, then inserts, so when the database
  shows that UPDATE waiting (the event, not a time), the deletes and a hundred updates are written
  and the rest are not; the test records how far it got (it must be part-way);
* then everything dies at once, as when a controller is killed: SIGKILL to ansible-playbook's
  process group, SIGKILL to the module's process in the container (over SSH the remote process would
  get SIGHUP; ``podman exec`` leaves it running), and the module's database session is killed (the
  statement it had queued behind the lock never runs).

The next run with the same set must converge: exactly the declared rows, each with its declared
values, no duplicate (extension, server_ip) or login, the lab's rows untouched.
"""

import time

import e2e_lab as lab
import pymysql

EXISTING = 2000
DELETE = 200
CREATE = 400


def kill_session(session_id):
    """KILL CONNECTION as root; a session that already ended with its killed client is what was wanted."""
    out = lab.run(["podman", "exec", "-i", lab.DB_CONTAINER, "mariadb", "asterisk"],
                  input="KILL CONNECTION %d;\n" % session_id, check=False)
    assert out.returncode == 0 or "Unknown thread id" in out.stderr, out.stderr


def sleeping_sessions():
    out = lab.root_sql("SELECT ID FROM information_schema.PROCESSLIST WHERE STATE = 'User sleep'")
    return [int(line) for line in out.split() if line.isdigit()]


def _module_pids(container):
    out = lab.pexec(container, "ps -eo pid=,args=", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if "AnsiballZ_vicidial_phones" in line]


def test_killed_mid_apply_then_next_run_converges(known_state):
    lab.add_ghost_server()
    old = [lab.raw_phone(50000 + i, lab.GHOST_IP, login="k%d" % (50000 + i), fullname="old",
                         **{"pass": lab.token(16)}) for i in range(EXISTING)]
    lab.insert_phones(old)
    absent = [dict(extension=r["extension"], server_ip=lab.GHOST_IP, state="absent") for r in old[:DELETE]]
    updated = [lab.phone(r["extension"], lab.GHOST_IP, phone_login=r["login"],
                         phone_full_name="new %s" % r["extension"]) for r in old[DELETE:]]
    created = [lab.phone(50000 + EXISTING + i, lab.GHOST_IP) for i in range(CREATE)]
    declared = updated + created
    entries = lab.lab_entries() + absent + declared
    lab_rows = lab.phones_rows("server_ip IN (%s, %s)", lab.LAB_IPS)

    held = str(50000 + DELETE + 100)  # the 101st update

    def progress():
        # A connection of its own, opened after the kill: one opened before it was once seen to wait forever
        # for the answer to a query the server had no record of (the killed session held the table's lock).
        # The read waits for the killed session to let go of the (MyISAM) table lock, within read_timeout.
        for attempt in range(3):
            conn = lab.db_connect(read_timeout=60)
            try:
                row = lab.sql("SELECT COUNT(*) AS n, SUM(fullname LIKE 'new %%') AS upd, "
                              "SUM(extension >= %s) AS cre FROM phones WHERE server_ip=%s",
                              (str(50000 + EXISTING), lab.GHOST_IP), conn=conn)[0]
                return int(row["n"]), int(row["upd"] or 0), int(row["cre"] or 0)
            except pymysql.err.OperationalError:
                if attempt == 2:
                    raise
            finally:
                conn.close()

    killer = lab.db_connect()
    lab.root_sql("CREATE TRIGGER e2e_hold BEFORE UPDATE ON phones FOR EACH ROW "
                 "SET @e2e_held = IF(NEW.extension = '%s', SLEEP(120), 0)" % held)
    play = lab.Playbook([lab.entries_vars(entries)])
    try:
        deadline = time.monotonic() + 300
        # The held session sleeps inside the trigger: that is the event to wait for. Inside the trigger
        # it runs as the trigger's definer (root), so only root sees it.
        while not sleeping_sessions():
            assert play.proc.poll() is None, "the run ended before it reached the held update:\n" + (
                play.wait().explain())
            assert time.monotonic() < deadline, "the run never reached the held update"
            time.sleep(0.05)
        session = lab.sql("SELECT IS_USED_LOCK(%s) AS id", (lab.LOCK_NAME,), conn=killer)[0]["id"]
        # ---- kill everything ----------------------------------------------------------------
        play.kill()
        for pid in _module_pids(lab.AST1):
            lab.pexec(lab.AST1, "kill -9 %s" % pid, check=False)
        if session:
            kill_session(int(session))
        # Only now can phones be read: the held UPDATE had the (MyISAM) table locked.
        n, upd, cre = progress()
        deleted = EXISTING + cre - n
        done = deleted + upd + cre
    finally:
        for session_id in sleeping_sessions():
            kill_session(session_id)
        lab.root_sql("DROP TRIGGER IF EXISTS e2e_hold")
        play.kill()
        killer.close()
    killed = play.wait()
    assert killed.rc != 0
    total = DELETE + len(updated) + CREATE
    print("killed after %d of %d changes (%d deleted, %d updated, %d created)" % (done, total, deleted, upd, cre))
    assert 0 < done < total, "the kill did not land mid-apply (%d of %d changes written)" % (done, total)
    # The killed session's lock goes when the server has ended that session: wait for the event.
    deadline = time.monotonic() + 120
    while lab.sql("SELECT IS_FREE_LOCK(%s) AS f", (lab.LOCK_NAME,))[0]["f"] != 1:
        assert time.monotonic() < deadline, "the killed run's database lock is still held"
        time.sleep(0.2)

    # ---- the next run ------------------------------------------------------------------------
    run = lab.playbook([lab.entries_vars(entries)])
    assert run.rc == 0, run.explain()

    rows = lab.phones_rows("server_ip=%s", (lab.GHOST_IP,))
    want = dict(((e["extension"], lab.GHOST_IP), e) for e in declared)
    assert sorted(rows) == sorted(want), "rows differ: extra %s, missing %s" % (
        sorted(set(rows) - set(want))[:5], sorted(set(want) - set(rows))[:5])
    wrong = []
    for key, entry in want.items():
        row = rows[key]
        for column, option in (("fullname", "phone_full_name"), ("login", "phone_login"), ("pass", "phone_pass"),
                               ("conf_secret", "registration_password"), ("dialplan_number", "dialplan_number"),
                               ("voicemail_id", "voicemail_id"), ("protocol", None), ("active", None)):
            expected = entry[option] if option else {"protocol": "PJSIP", "active": "Y"}[column]
            if row[column] != expected:
                wrong.append("%s@%s %s" % (key[0], key[1], column))
    assert not wrong, "%d values differ from the declared set, e.g. %s" % (len(wrong), wrong[:10])
    assert lab.sql("SELECT login, COUNT(*) AS n FROM phones WHERE login <> '' GROUP BY login HAVING n > 1") == []
    assert lab.sql("SELECT extension, server_ip, COUNT(*) AS n FROM phones GROUP BY extension, server_ip "
                   "HAVING n > 1") == []
    assert lab.phones_rows("server_ip IN (%s, %s)", lab.LAB_IPS) == lab_rows, "the lab's rows changed"
    for container in lab.AST.values():
        assert known_state.matches(container), container
