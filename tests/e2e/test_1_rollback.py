"""Issue item 1: the role rolls back a config that Asterisk does not load.

A conf template with a PJSIP wizard body Asterisk rejects (an option that does not exist) is
inserted into the lab database, and a new phone on ast1 uses it, next to a valid new phone on ast1
and one on ast2. The run must fail on ast1 with a message that says the config was rolled back and
why (the endpoint that did not load); every file under /etc/asterisk on ast1 must be byte-identical
to before the run (modes and owners too) and Asterisk must have exactly what it had loaded before.
ast2 is not held back by ast1. A recovery run with the phone fixed converges and the phone registers.
"""

import e2e_lab as lab

BROKEN_BODY = "endpoint/e2e_no_such_option=yes\nendpoint/context=default"


def test_rejected_endpoint_is_rolled_back_then_recovery_converges(known_state):
    lab.sql("INSERT INTO vicidial_conf_templates (template_id, template_name, template_contents, user_group) "
            "VALUES ('E2EBROKEN', 'e2e broken wizard body', %s, '---ALL---')", (BROKEN_BODY,))
    broken = lab.phone(8101, lab.AST1_IP, template_id="E2EBROKEN")
    valid1 = lab.phone(8102, lab.AST1_IP)
    valid2 = lab.phone(8104, lab.AST2_IP)
    entries = lab.lab_entries() + [broken, valid1, valid2]

    conf1 = lab.conf_state(lab.AST1)
    loaded1 = lab.loaded(lab.AST1)

    run = lab.playbook([lab.entries_vars(entries)])

    assert run.rc != 0, "a phone Asterisk cannot load was applied:\n" + run.explain()
    final = [f for f in run.failures("ast1") if (f["result"] or {}).get("rolled_back")]
    assert final, "no rollback failure on ast1:\n" + run.explain()
    msg = final[0]["result"]["msg"]
    assert "rolled back" in msg.lower() and lab.AST1_IP in msg, msg
    assert "PJSIP/8101" in msg, "the message does not say which endpoint did not load: %r" % msg
    assert msg in run.stdout, "the reason is not in the play output"

    after = lab.conf_state(lab.AST1)
    assert after == conf1, "ast1 config differs after the rollback:\n" + lab.diff_state(conf1, after)
    now = lab.loaded(lab.AST1)
    for kind, names in loaded1.items():
        assert set(names) <= set(now[kind]), "previously loaded %s lost: %s" % (kind, set(names) - set(now[kind]))
    problems = []  # checked at the end, so that the recovery is exercised either way
    if now != loaded1:
        problems.append("ast1 still has objects of the rolled-back config: %s (before: %s)" % (now, loaded1))

    assert not run.failures("ast2"), run.explain()
    assert "8104" in lab.loaded(lab.AST2)["endpoints"]

    # ---- recovery: the phone without the broken template -------------------------------------
    fixed = dict(broken, template_id="--NONE--")
    recovery = lab.playbook([lab.entries_vars(lab.lab_entries() + [fixed, valid1, valid2])])
    assert recovery.rc == 0, recovery.explain()
    now = lab.loaded(lab.AST1)
    assert {"8001", "8005", "8101", "8102"} <= set(now["endpoints"]), now
    assert {"8101", "8102"} <= set(now["dialplan"]), now
    reg = lab.register(8101, lab.AST1_IP, fixed["registration_password"])
    assert reg["status"] == 200, reg
    assert not problems, "\n".join(problems)
