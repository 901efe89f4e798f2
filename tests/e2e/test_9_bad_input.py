"""Issue item 9: bad input in a large set, end to end through the role.

1000 entries, one with a dashed extension and two whose phone_full_name tries to open a new config
section (with and without line breaks). The run must name each as extension@server_ip with the
field, and write nothing: the database tables (CHECKSUM TABLE) and every file under /etc/asterisk
on both servers are unchanged.
"""

import e2e_lab as lab


def test_bad_entries_in_1000_are_named_and_nothing_changes(known_state):
    extra = [lab.phone(70000 + i, lab.LAB_IPS[i % 2]) for i in range(997)]
    extra.insert(400, lab.phone("80-01", lab.AST1_IP, dialplan_number="8801", voicemail_id="8801",
                                phone_login="e8801"))
    injected = lab.phone(71999, lab.AST2_IP, phone_full_name="Desk\n[8001]\ntype=endpoint")
    extra.insert(800, injected)
    bracketed = lab.phone(71998, lab.AST1_IP, phone_full_name="Lab [general] desk")
    extra.insert(900, bracketed)
    entries = lab.lab_entries() + extra
    assert len(extra) == 1000

    tables = ("phones", "servers", "vicidial_admin_log")
    db_before = lab.checksums(*tables)
    conf_before = dict((c, lab.conf_state(c)) for c in lab.AST.values())

    run = lab.playbook([lab.entries_vars(entries)])

    assert run.rc != 0, "a set with bad entries was applied:\n" + run.explain()
    message = run.failure_text()
    assert "80-01@%s: extension:" % lab.AST1_IP in message, run.explain()
    assert "71999@%s: phone_full_name:" % lab.AST2_IP in message, run.explain()
    assert "71998@%s: phone_full_name:" % lab.AST1_IP in message, run.explain()
    assert "nothing was written" in message, message
    for entry in extra:
        if entry not in (injected, bracketed) and entry["extension"] != "80-01":
            assert "%s@%s" % (entry["extension"], entry["server_ip"]) not in message, message
    assert "Traceback" not in run.output

    assert lab.checksums(*tables) == db_before, "the failed run changed the database"
    for container, before in conf_before.items():
        after = lab.conf_state(container)
        assert after == before, "%s: config changed by a failed run:\n%s" % (container, lab.diff_state(before, after))
