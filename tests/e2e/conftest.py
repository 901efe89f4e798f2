"""End-to-end reliability tests against a lab of their own (vicie2e, 10.89.23.0/24).

``lab`` (session)
    ``scripts/lab up --no-apply`` with VICILAB_NAME=vicie2e VICILAB_SUBNET_PREFIX=10.89.23, the lab
    vault (lab/make_vault.py), then ``playbooks/phones.yml`` on ``inventory/lab``: the known state.
    Its database rows, config files (bytes, modes, owners) and what each Asterisk has loaded are
    snapshotted. ``scripts/lab down`` at the end (set E2E_KEEP_LAB=1 to keep the lab).

``known_state`` (function)
    Puts the lab back to that snapshot before a test: database rows (phones, servers, templates)
    rewritten, config files rewritten and reloaded only where they differ, then checked. If the
    check fails, the lab inventory is applied again and the check repeated.

Run (as root, ~6 min once the images exist):

    cd /work/main && . scripts/env.sh && python -m pytest -p no:cacheprovider tests/e2e -v
"""

import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_lab as lab_mod  # noqa: E402


class Snapshot(object):
    """The known state: what the lab looks like right after applying inventory/lab."""

    def __init__(self):
        self.phones = lab_mod.sql("SELECT * FROM phones ORDER BY server_ip, extension")
        self.servers = lab_mod.sql("SELECT * FROM servers ORDER BY server_id")
        self.templates = [r["template_id"] for r in lab_mod.sql("SELECT template_id FROM vicidial_conf_templates")]
        self.conf = {}
        self.files = {}
        self.loaded = {}
        for container in lab_mod.AST.values():
            self.conf[container] = lab_mod.conf_state(container)
            self.files[container] = lab_mod.role_files(container)
            self.loaded[container] = lab_mod.loaded(container)

    def matches(self, container):
        return (lab_mod.conf_state(container) == self.conf[container]
                and lab_mod.loaded(container) == self.loaded[container])


def _clean_database(snap=None):
    """Remove what tests add: phones, servers and templates that are not the lab's."""
    lab_ids = [r["server_id"] for r in snap.servers] if snap else ["ast1", "ast2"]
    marks = ",".join(["%s"] * len(lab_ids))
    lab_mod.sql("DELETE FROM servers WHERE server_id NOT IN (%s)" % marks, lab_ids)
    lab_mod.sql("DELETE FROM phones WHERE server_ip NOT IN (%s, %s)", lab_mod.LAB_IPS)
    lab_mod.sql("DELETE FROM vicidial_conf_templates WHERE template_id LIKE 'E2E%%'")
    if snap is None:
        return
    lab_mod.sql("DELETE FROM phones")
    lab_mod.insert_phones(snap.phones)
    for row in snap.servers:
        cols = sorted(row)
        lab_mod.sql("REPLACE INTO servers (%s) VALUES (%s)" % (",".join(cols), ",".join(["%s"] * len(cols))),
                    [row[c] for c in cols])
    keep = snap.templates or ["--none--"]
    lab_mod.sql("DELETE FROM vicidial_conf_templates WHERE template_id NOT IN (%s)"
                % ",".join(["%s"] * len(keep)), keep)


def _restore_config(snap, container):
    if lab_mod.conf_state(container) != snap.conf[container]:
        for name, content in snap.files[container].items():
            lab_mod.write_file(container, "/etc/asterisk/" + name, content)
    if lab_mod.loaded(container) != snap.loaded[container]:
        for command in ("pjsip reload", "iax2 reload", "dialplan reload"):
            lab_mod.asterisk(container, command)
    # Reloads apply asynchronously: wait for what Asterisk has loaded to match (a deadline, not a
    # number of tries); a lab that cannot get there is re-applied by restore().
    deadline = time.monotonic() + 30
    while not snap.matches(container):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def restore(snap):
    lab_mod.wait_for_db()
    for container in lab_mod.AST.values():
        # After a database container restart the lab's containers may need up to ~30 s to reach it
        # again (see test_5); never let that spill over into the next test.
        assert lab_mod.db_reachable_from(container, 90), lab_mod.network_view(container)
    for container in lab_mod.AST.values():
        # A test that made Asterisk unreachable puts it back itself; this is a safety net.
        lab_mod.pexec(container, "cd /var/run/asterisk && [ -S asterisk.ctl ] || mv asterisk.ctl.e2e asterisk.ctl",
                      check=False)
    _clean_database(snap)
    if all(_restore_config(snap, c) for c in lab_mod.AST.values()):
        return
    run = lab_mod.playbook()
    assert run.rc == 0, "re-applying the lab inventory failed:\n" + run.explain()
    for container in lab_mod.AST.values():
        assert snap.matches(container), "%s is not back in the known state after re-applying" % container


@pytest.fixture(scope="session")
def lab():
    if os.geteuid() != 0:
        pytest.fail("the e2e tests drive podman and scripts/lab as root", pytrace=False)
    started = time.monotonic()
    lab_mod.run([os.path.join(lab_mod.REPO_ROOT, "scripts", "lab"), "up", "--no-apply"], timeout=3600)
    lab_mod.run([os.path.join(lab_mod.VENV, "bin", "python"), os.path.join(lab_mod.REPO_ROOT, "lab", "make_vault.py")])
    try:
        for container in lab_mod.AST.values():
            assert lab_mod.db_reachable_from(container, 90), lab_mod.network_view(container)
        _clean_database()
        run = lab_mod.playbook()
        assert run.rc == 0, "applying inventory/lab to the fresh vicie2e lab failed:\n" + run.explain()
        snap = Snapshot()
        ast1, ast2 = snap.loaded[lab_mod.AST1], snap.loaded[lab_mod.AST2]
        assert (ast1["endpoints"], ast1["iax2"]) == (["8001", "8005"], ["8003"]), ast1
        assert (ast2["endpoints"], ast2["iax2"]) == (["8002"], ["8004"]), ast2
        sys.stderr.write("\n[e2e] lab vicie2e up and applied in %.0fs\n" % (time.monotonic() - started))
        yield snap
    finally:
        if not os.environ.get("E2E_KEEP_LAB"):
            lab_mod.run([os.path.join(lab_mod.REPO_ROOT, "scripts", "lab"), "down"], check=False)


@pytest.fixture
def known_state(lab):
    restore(lab)
    return lab
