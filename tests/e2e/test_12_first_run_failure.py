"""A first run that fails must leave the server exactly as it was, and Asterisk must restart clean.

ast2 is made to look like a server this collection never touched: no rendered file, no #include
line of ours. A first run then declares a phone whose template Asterisk rejects. The run fails on
ast2 saying it rolled back; every file under /etc/asterisk is byte for byte (mode, owner) as before,
include lines included. Then Asterisk is restarted, as a reboot would: it must come back with its
dial plan (pbx_config running, [default] there), its transport and nothing of ours, and a dialplan
reload must succeed (a dangling #include would make Asterisk reject extensions.conf whole). A
recovery run with the phone fixed converges and the phone registers.
"""

import time

import e2e_lab as lab

BROKEN_BODY = "endpoint/e2e_no_such_option=yes\nendpoint/context=default"
MAIN_CONFIGS = ("pjsip_wizard.conf", "iax.conf", "extensions.conf")


def make_pristine(container):
    """Take our files and #include lines out, as on a server the collection never ran on."""
    script = " && ".join(
        ["cd /etc/asterisk", "rm -f " + " ".join(lab.ROLE_FILES)]
        + ["sed -i '/-ansible-phones\\.conf\"$/d' %s" % name for name in MAIN_CONFIGS])
    lab.pexec(container, script)
    for command in ("pjsip reload", "iax2 reload", "dialplan reload"):
        lab.asterisk(container, command)


def wait_fully_booted(container, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        out = lab.run(["podman", "exec", container, "asterisk", "-rx", "core waitfullybooted"], check=False)
        if out.returncode == 0 and "fully booted" in out.stdout:
            return
        time.sleep(0.5)
    raise AssertionError("Asterisk in %s did not come back within %d s" % (container, seconds))


def test_failed_first_run_leaves_the_server_as_it_was_and_asterisk_restarts_clean(known_state):
    lab.sql("INSERT INTO vicidial_conf_templates (template_id, template_name, template_contents, user_group) "
            "VALUES ('E2EBROKEN', 'e2e broken wizard body', %s, '---ALL---')", (BROKEN_BODY,))
    make_pristine(lab.AST2)
    before = lab.conf_state(lab.AST2)
    assert not any(name.endswith("-ansible-phones.conf") for name in before)
    broken = lab.phone(8111, lab.AST2_IP, template_id="E2EBROKEN")

    run = lab.playbook([lab.entries_vars(lab.lab_entries() + [broken])])

    assert run.rc != 0, run.explain()
    failed = [f for f in run.failures("ast2") if (f["result"] or {}).get("rolled_back")]
    assert failed, "no rollback on ast2:\n" + run.explain()
    msg = failed[0]["result"]["msg"]
    assert "PJSIP/8111 is not loaded" in msg and "Rolled back" in msg and "#include lines" in msg, msg
    after = lab.conf_state(lab.AST2)
    assert after == before, "ast2 differs after the failed first run:\n" + lab.diff_state(before, after)
    assert not run.failures("ast1"), run.explain()

    lab.run(["podman", "restart", "-t", "5", lab.AST2])
    wait_fully_booted(lab.AST2)
    assert "pbx_config.so" in lab.asterisk(lab.AST2, "module show like pbx_config")
    assert "Context 'default'" in lab.asterisk(lab.AST2, "dialplan show default")
    assert "transport-udp" in lab.asterisk(lab.AST2, "pjsip show transports")
    assert "Dialplan reloaded" in lab.asterisk(lab.AST2, "dialplan reload")
    now = lab.loaded(lab.AST2)
    assert now["endpoints"] == [] and now["dialplan"] == [], now

    fixed = dict(broken, template_id="--NONE--")
    recovery = lab.playbook([lab.entries_vars(lab.lab_entries() + [fixed])])
    assert recovery.rc == 0, recovery.explain()
    assert "8111" in lab.loaded(lab.AST2)["endpoints"]
    reg = lab.register(8111, lab.AST2_IP, fixed["registration_password"])
    assert reg["status"] == 200, reg
