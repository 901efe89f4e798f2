"""Issue item 2: Asterisk unreachable on one server.

The Asterisk container's main process *is* asterisk (``asterisk -f`` under podman's init): stopping
it (``core stop now``) stops the container, and the play would only see an unreachable host. So
"Asterisk is down while the server is up" is made by moving its control socket away
(/var/run/asterisk/asterisk.ctl), which is what ``asterisk -rx`` talks to; moving it back is
"Asterisk is back".

a. Asterisk on ast2 is down before the run: the play fails on ast2 saying it cannot reach Asterisk,
   ast2's files are untouched, ast1 converges.
b. Asterisk on ast2 goes away after the role wrote ast2's new files and before it reloads (a watcher
   inside the container moves the socket as soon as the new phone appears in the file): the play
   fails on ast2 with a rollback message that says why, and ast2's files are byte-identical to
   before.
c. Asterisk back: a recovery run converges and the new phones register on ast2.
"""

import e2e_lab as lab

SOCKET_DIR = "/var/run/asterisk"
DOWN = "cd %s && mv asterisk.ctl asterisk.ctl.e2e" % SOCKET_DIR
UP = "cd %s && if [ -S asterisk.ctl.e2e ]; then mv asterisk.ctl.e2e asterisk.ctl; fi" % SOCKET_DIR
# Polls every 50 ms (at most 3 minutes) for the new phone's stanza, then takes Asterisk away.
WATCHER = r"""echo $$ > /run/e2e-watcher.pid
i=0
while [ $i -lt 3600 ]; do
  if grep -q '^\[8113\]' /etc/asterisk/pjsip_wizard-ansible-phones.conf 2>/dev/null; then
    %s; echo moved > /run/e2e-watcher.done; break
  fi
  sleep 0.05; i=$((i+1))
done
rm -f /run/e2e-watcher.pid""" % DOWN
UNREACHABLE = ("Unable to connect to remote asterisk", "asterisk.ctl")


def _says_asterisk_is_unreachable(text):
    return any(s in text for s in UNREACHABLE)


def test_asterisk_down_on_one_server(known_state):
    base = lab.lab_entries()
    new1 = lab.phone(8111, lab.AST1_IP)
    new2 = lab.phone(8112, lab.AST2_IP)
    new3 = lab.phone(8113, lab.AST2_IP)
    conf2 = lab.conf_state(lab.AST2)
    loaded2 = lab.loaded(lab.AST2)
    problems = []  # checked at the end, so that the recovery is exercised either way
    try:
        # ---- a. down before the run ----------------------------------------------------------
        lab.pexec(lab.AST2, DOWN)
        run_a = lab.playbook([lab.entries_vars(base + [new1, new2])])
        assert run_a.rc != 0, run_a.explain()
        assert run_a.failures("ast2") and not run_a.failures("ast1"), run_a.explain()
        text = run_a.failure_text("ast2")
        assert _says_asterisk_is_unreachable(text), "ast2's failure does not say Asterisk is unreachable: %r" % text
        after = lab.conf_state(lab.AST2)
        assert after == conf2, "ast2 files changed:\n" + lab.diff_state(conf2, after)
        assert "8111" in lab.loaded(lab.AST1)["endpoints"]

        # ---- b. down between writing the files and reloading ---------------------------------
        lab.pexec(lab.AST2, UP)
        assert lab.loaded(lab.AST2) == loaded2
        lab.run(["podman", "exec", "-d", lab.AST2, "sh", "-c", WATCHER])
        run_b = lab.playbook([lab.entries_vars(base + [new1, new2, new3])])
        moved = lab.pexec(lab.AST2, "cat /run/e2e-watcher.done 2>/dev/null; rm -f /run/e2e-watcher.done",
                          check=False).stdout
        assert "moved" in moved, "the watcher never saw the new file (test set-up):\n" + run_b.explain()
        assert run_b.rc != 0, run_b.explain()
        final = [f for f in run_b.failures("ast2") if f["task"].endswith("Fail with what went wrong")]
        assert final, "no rollback message on ast2:\n" + run_b.explain()
        msg = final[0]["result"]["msg"]
        assert "rolled back" in msg, msg
        after = lab.conf_state(lab.AST2)
        assert after == conf2, "ast2 files not restored byte for byte:\n" + lab.diff_state(conf2, after)
        if not _says_asterisk_is_unreachable(msg):
            problems.append("the rollback message does not say why the reload failed: %r" % msg)
    finally:
        pid = lab.pexec(lab.AST2, "cat /run/e2e-watcher.pid 2>/dev/null", check=False).stdout.strip()
        if pid.isdigit():
            lab.pexec(lab.AST2, "kill %s" % pid, check=False)
        lab.pexec(lab.AST2, UP)

    # ---- c. Asterisk is back: recovery ----------------------------------------------------------
    recovery = lab.playbook([lab.entries_vars(base + [new1, new2, new3])])
    assert recovery.rc == 0, recovery.explain()
    now = lab.loaded(lab.AST2)
    assert {"8002", "8112", "8113"} <= set(now["endpoints"]), now
    for entry in (new2, new3):
        reg = lab.register(entry["extension"], lab.AST2_IP, entry["registration_password"])
        assert reg["status"] == 200, reg
    assert not problems, "\n".join(problems)
