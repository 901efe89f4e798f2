"""Issue item 7: purge safety at scale.

A third VICIdial server exists only as a ``servers`` row (no host) and holds 400 phones; the two
lab servers also hold 150 phones that nobody declared (inserted directly, as another tool would).
``--check --diff`` with purge on the lab servers must list each of the 150 as a deletion, and
nothing else, without writing; the real run must delete exactly those 150 and leave the third
server's 400 rows, and its servers row, byte for byte as they were.
"""

import re

import e2e_lab as lab

GHOST_PHONES = 400
UNDECLARED = 150


def test_purge_touches_only_the_listed_servers(known_state):
    lab.add_ghost_server()
    lab.insert_phones([lab.raw_phone(30000 + i, lab.GHOST_IP) for i in range(GHOST_PHONES)])
    undeclared = [lab.raw_phone(6000 + i, lab.LAB_IPS[i % 2]) for i in range(UNDECLARED)]
    lab.insert_phones(undeclared)
    undeclared_ids = set("%s@%s" % (r["extension"], r["server_ip"]) for r in undeclared)

    ghost_rows = lab.phones_rows("server_ip=%s", (lab.GHOST_IP,))
    ghost_server = lab.sql("SELECT * FROM servers WHERE server_ip=%s", (lab.GHOST_IP,))
    assert len(ghost_rows) == GHOST_PHONES
    phones_before = lab.checksums("phones")

    # ---- the plan ----------------------------------------------------------------------------
    plan = lab.playbook(args=["--check", "--diff"])
    assert plan.rc == 0, plan.explain()
    assert lab.checksums("phones") == phones_before, "--check wrote to the database"
    applied = plan.task_results("Apply the phone entries", status="ok")
    assert len(applied) == 1, plan.explain()
    result = applied[0]["result"]
    deletes = set(c["phone"] for c in result["changes"] if c["action"] == "delete")
    assert deletes == undeclared_ids, "planned deletions differ: extra %s, missing %s" % (
        sorted(deletes - undeclared_ids)[:10], sorted(undeclared_ids - deletes)[:10])
    assert result["counts"]["deleted"] == UNDECLARED
    assert set(c["action"] for c in result["changes"]) == {"delete"}, result["changes"][:5]
    # What a reviewer reads: every deletion in the printed diff, no phone of the third server.
    shown = set(re.findall(r"(\d+@\d+\.\d+\.\d+\.\d+)", plan.stdout))
    missing = undeclared_ids - shown
    assert not missing, "%d deletions are not in the --diff output, e.g. %s" % (len(missing), sorted(missing)[:5])
    assert not [p for p in shown if p.endswith("@" + lab.GHOST_IP)], "the plan shows phones of the third server"

    # ---- the apply ---------------------------------------------------------------------------
    apply = lab.playbook()
    assert apply.rc == 0, apply.explain()
    left = lab.phones_rows("server_ip IN (%s, %s)", lab.LAB_IPS)
    assert sorted(left) == sorted((r["extension"], r["server_ip"]) for r in known_state.phones), sorted(left)
    assert lab.phones_rows("server_ip=%s", (lab.GHOST_IP,)) == ghost_rows, "the third server's phones changed"
    assert lab.sql("SELECT * FROM servers WHERE server_ip=%s", (lab.GHOST_IP,)) == ghost_server
    for container in lab.AST.values():
        assert known_state.matches(container), container
