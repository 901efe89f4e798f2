"""Issue item 2: Asterisk unreachable on one server.

The Asterisk container's main process *is* asterisk (``asterisk -f`` under podman's init): stopping
it (``core stop now``) stops the container, and the play would only see an unreachable host. So
"Asterisk is down while the server is up" is made by moving its control socket away
(/var/run/asterisk/asterisk.ctl), which is what ``asterisk -rx`` talks to; moving it back is
"Asterisk is back".

a. Asterisk on ast2 is down before the run: the play fails on ast2 saying it cannot reach Asterisk,
   ast2's files are untouched, ast1 converges.
b. Asterisk on ast2 goes away after the role wrote ast2's new files, at the moment it asks for the
   reload: a stand-in control socket inside the container passes everything through to Asterisk
   until a request containing "reload" arrives while the new phone is in the file; then it drops
   that connection and takes the socket away (an event, not a race against a polling loop). The
   play fails on ast2 with a rollback message that says why, and ast2's files are byte-identical to
   before.
c. Asterisk back: a recovery run converges and the new phones register on ast2.
"""

import time

import e2e_lab as lab

SOCKET_DIR = "/var/run/asterisk"
DOWN = "cd %s && mv asterisk.ctl asterisk.ctl.e2e" % SOCKET_DIR
UP = "cd %s && if [ -S asterisk.ctl.e2e ]; then mv asterisk.ctl.e2e asterisk.ctl; fi" % SOCKET_DIR
# The stand-in control socket (python3 in the container): Asterisk's socket is moved aside to
# asterisk.ctl.e2e (where UP and the known_state fixture expect it) and a proxy listens on
# asterisk.ctl. The first request holding "reload" once the new phone is in the file is not passed on:
# the proxy drops the connection, removes its socket and exits: Asterisk is down from then on.
PROXY = r"""
import os, socket, sys, threading
ctl = "%s/asterisk.ctl"
real = ctl + ".e2e"
conf = "/etc/asterisk/pjsip_wizard-ansible-phones.conf"
stanza = b"\n[8113]\n"
st = os.stat(ctl)
os.rename(ctl, real)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(ctl)
os.chown(ctl, st.st_uid, st.st_gid)
os.chmod(ctl, st.st_mode & 0o777)
srv.listen(16)
with open("/run/e2e-watcher.pid", "w") as f:
    f.write(str(os.getpid()))
down = threading.Event()
trigger = threading.Lock()

def written():
    try:
        with open(conf, "rb") as f:
            return stanza in b"\n" + f.read()
    except OSError:
        return False

def pump(src, dst, inspect):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if inspect and b"reload" in data and written():
                with trigger:
                    down.set()
                    fd = os.open("/run/e2e-watcher.done", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.write(fd, b"moved")
                    os.close(fd)
                    try:
                        os.unlink(ctl)
                    except OSError:
                        pass
                    os._exit(0)
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

while not down.is_set():
    client, _ = srv.accept()
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    upstream.connect(real)
    threading.Thread(target=pump, args=(client, upstream, True), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()
""" % SOCKET_DIR
STOP_PROXY = ("pid=$(cat /run/e2e-watcher.pid 2>/dev/null); [ -n \"$pid\" ] && kill $pid 2>/dev/null; "
              "rm -f /run/e2e-watcher.pid; cd %s && if [ -S asterisk.ctl.e2e ]; then rm -f asterisk.ctl; fi"
              % SOCKET_DIR)
UNREACHABLE = ("Unable to connect to remote asterisk", "asterisk.ctl")


def _says_rolled_back(text):
    return "rolled back" in text.lower() or "restored" in text


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
        lab.run(["podman", "exec", "-d", lab.AST2, "python3", "-c", PROXY])
        deadline = time.monotonic() + 60
        while "ready" not in lab.pexec(lab.AST2, "[ -S %s/asterisk.ctl.e2e ] && [ -s /run/e2e-watcher.pid ] && "
                                                 "echo ready" % SOCKET_DIR, check=False).stdout:
            assert time.monotonic() < deadline, "the stand-in control socket never came up (test set-up)"
            time.sleep(0.1)
        assert lab.loaded(lab.AST2) == loaded2, "the stand-in control socket does not pass requests through"
        run_b = lab.playbook([lab.entries_vars(base + [new1, new2, new3])])
        moved = lab.pexec(lab.AST2, "cat /run/e2e-watcher.done 2>/dev/null; rm -f /run/e2e-watcher.done",
                          check=False).stdout
        went_away = "control socket" in run_b.failure_text("ast2") and "reload" in run_b.failure_text("ast2")
        assert "moved" in moved or went_away, (
            "no reload was asked for with the new file written (test set-up):\n" + run_b.explain())
        assert run_b.rc != 0, run_b.explain()
        final = [f for f in run_b.failures("ast2") if _says_rolled_back((f["result"] or {}).get("msg") or "")]
        assert final, "no rollback message on ast2:\n" + run_b.explain()
        msg = final[0]["result"]["msg"]
        after = lab.conf_state(lab.AST2)
        assert after == conf2, "ast2 files not restored byte for byte:\n" + lab.diff_state(conf2, after)
        if not _says_asterisk_is_unreachable(msg):
            problems.append("the rollback message does not say why the reload failed: %r" % msg)
    finally:
        lab.pexec(lab.AST2, STOP_PROXY, check=False)
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
