"""Verify the change scenario: inventory/lab converged, then changed_phones.yml on top of it.

BEFORE is inventory/lab's phones.yml, AFTER the overlay the side effect
converged; both templated with the lab vault (and the new password the side
effect wrote to Molecule's ephemeral directory). side_effect.yml recorded, per
server, the files before/after and what the role reloaded.
"""

import json
import os
import re

import pytest
import vicilab_checks as lab

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
OVERLAY = os.path.join(os.path.dirname(__file__), "..", "vars", "changed_phones.yml")
with open(os.path.join(EPHEMERAL, "8001-registration-password")) as _f:
    NEW_PASSWORD = _f.read().strip()

BEFORE = lab.declared_phones()
AFTER = lab.declared_phones(OVERLAY, {"vicilab_change_password_8001": NEW_PASSWORD})
SECRETS = lab.vault_secrets()

PASSWORD_CHANGED = "8001"
MOVED = "8002"
REMOVED = "8005"
UNTOUCHED = ("8003", "8004", "8006")


def record(server):
    with open(os.path.join(EPHEMERAL, "state-%s.json" % server)) as handle:
        return json.load(handle)


def reg_password(declared, ext):
    return declared[ext]["registration_password"]


# ----------------------------------------------------- the change itself ---
def differing(ext):
    """Options of EXT that differ between BEFORE and AFTER (names only: values may be secrets)."""
    keys = set(BEFORE[ext]) | set(AFTER[ext])
    return {k for k in keys if BEFORE[ext].get(k) != AFTER[ext].get(k)}


def test_overlay_is_exactly_the_intended_change():
    assert set(BEFORE) - set(AFTER) == {REMOVED}
    assert set(AFTER) <= set(BEFORE)
    for ext in UNTOUCHED:
        assert differing(ext) == set(), ext
    assert differing(PASSWORD_CHANGED) == {"registration_password"}
    strong = len(NEW_PASSWORD) >= 12
    assert strong, "the new registration password is too short"
    assert differing(MOVED) == {"server_ip"}
    assert lab.server_name(BEFORE[MOVED]) != lab.server_name(AFTER[MOVED])
    assert BEFORE[MOVED]["protocol"] == BEFORE[REMOVED]["protocol"] == "PJSIP"


# ----------------------------------------------------------------- database --
@pytest.mark.parametrize("ext", sorted(AFTER))
def test_phone_row_has_the_changed_values(ext):
    rows = lab.sql("SELECT * FROM phones WHERE extension='%s'" % ext)
    assert len(rows) == 1, "expected one row for %s, found %d" % (ext, len(rows))
    want = lab.expected_row(AFTER[ext])
    wrong = sorted(c for c in want if rows[0][c] != want[c])
    shown = {c: ("<secret differs>" if c in ("pass", "conf_secret") else (rows[0][c], want[c])) for c in wrong}
    assert not wrong, "%s: columns differ from the changed inventory (have, want): %s" % (ext, shown)


def test_removed_phone_row_is_gone_and_nothing_undeclared_is_left():
    assert lab.sql("SELECT extension FROM phones WHERE extension='%s'" % REMOVED) == []
    rows = lab.sql(
        "SELECT extension, server_ip FROM phones WHERE server_ip IN ('%s')" % "','".join(lab.SERVERS.values())
    )
    assert sorted((r["extension"], r["server_ip"]) for r in rows) == sorted(
        (ext, p["server_ip"]) for ext, p in AFTER.items()
    )


def test_admin_log_tells_the_change_and_nothing_more():
    rows = lab.sql(
        "SELECT event_code, record_id, event_notes FROM vicidial_admin_log WHERE event_section='PHONES' "
        "ORDER BY admin_log_id"
    )
    initial = [("ANSIBLE ADD PHONE", ext, "%s@%s" % (ext, BEFORE[ext]["server_ip"])) for ext in sorted(BEFORE)]
    change = [
        ("ANSIBLE MODIFY PHONE", PASSWORD_CHANGED, "%s@%s" % (PASSWORD_CHANGED, AFTER[PASSWORD_CHANGED]["server_ip"])),
        ("ANSIBLE DELETE PHONE", MOVED, "%s@%s" % (MOVED, BEFORE[MOVED]["server_ip"])),
        ("ANSIBLE ADD PHONE", MOVED, "%s@%s" % (MOVED, AFTER[MOVED]["server_ip"])),
        ("ANSIBLE DELETE PHONE", REMOVED, "%s@%s" % (REMOVED, BEFORE[REMOVED]["server_ip"])),
    ]
    seen = [(r["event_code"], r["record_id"], r["event_notes"].split()[1]) for r in rows]
    assert sorted(seen[: len(initial)]) == sorted(initial)
    assert sorted(seen[len(initial) :]) == sorted(change), "the converges logged: %s" % seen
    modify = [r for r in rows if r["event_code"] == "ANSIBLE MODIFY PHONE"]
    # "... fields: <option>,<option> ..." names the changed options (a run tag may follow them).
    assert re.findall(r"fields: (\S+)", modify[0]["event_notes"]) == ["registration_password"], modify[0]["event_notes"]


def test_admin_log_holds_no_password():
    rows = lab.sql("SELECT record_id, event_sql, event_notes FROM vicidial_admin_log WHERE event_section='PHONES'")
    secrets = [v for s in SECRETS.values() for v in s.values()] + [NEW_PASSWORD]
    for row in rows:
        text = (row["event_sql"] or "") + (row["event_notes"] or "")
        leaked = any(secret in text for secret in secrets)  # a failure must not print the row
        assert not leaked, "a password is in the admin log row of %s" % row["record_id"]


# ----------------------------------------------------------------- Asterisk --
@pytest.mark.parametrize("server", sorted(lab.SERVERS))
def test_asterisk_has_exactly_the_changed_phones(server):
    assert lab.pjsip_endpoints(server) == lab.active_on(AFTER, server, "PJSIP")
    assert lab.iax2_peers(server) == lab.active_on(AFTER, server, "IAX2")
    assert lab.dialplan_numbers(server) == {AFTER[e]["dialplan_number"] for e in lab.active_on(AFTER, server)}


def test_moved_phone_endpoint_is_gone_from_its_old_server():
    old, new = lab.server_name(BEFORE[MOVED]), lab.server_name(AFTER[MOVED])
    assert lab.endpoint_settings(old, MOVED) == {}
    assert lab.endpoint_settings(new, MOVED), "no endpoint %s on %s" % (MOVED, new)
    assert MOVED not in lab.stanzas(lab.phone_file(old, "pjsip_wizard").content_string)
    assert BEFORE[MOVED]["dialplan_number"] not in lab.dialplan_numbers(old)


def test_removed_phone_is_gone_everywhere():
    for server in lab.SERVERS:
        assert lab.endpoint_settings(server, REMOVED) == {}, server
        assert REMOVED not in lab.stanzas(lab.phone_file(server, "pjsip_wizard").content_string), server
        assert BEFORE[REMOVED]["dialplan_number"] not in lab.dialplan_numbers(server), server


@pytest.mark.parametrize("server,kind", [(s, k) for s in sorted(lab.SERVERS) for k in sorted(lab.PHONE_FILES)])
def test_config_files_stay_private_to_asterisk(server, kind):
    conf = lab.phone_file(server, kind)
    assert (conf.user, conf.group, conf.mode) == ("root", "asterisk", 0o640), conf.path


# --------------------------------------------------------------- reloads ---
@pytest.mark.parametrize("server", sorted(lab.SERVERS))
def test_only_pjsip_and_dialplan_were_reloaded(server):
    # Both servers lose or gain a PJSIP phone and its dial plan number; no
    # IAX2 phone changed, so chan_iax2 must not be reloaded anywhere.
    rec = record(server)
    assert rec["server_ip"] == lab.SERVERS[server]
    assert sorted(rec["files_changed"]) == ["extensions", "pjsip_wizard"]
    assert sorted(rec["reload_planned"]) == ["dialplan reload", "pjsip reload"]
    assert sorted(rec["reload_ran"]) == ["dialplan reload", "pjsip reload"], "reloads run on %s" % server


@pytest.mark.parametrize("server", sorted(lab.SERVERS))
def test_untouched_iax_file_was_not_rewritten(server):
    # Asterisk logs nothing for `iax2 reload`, so the file is the observable:
    # same content, same inode, same mtime as before the side effect, and
    # still the same now.
    rec = record(server)
    before = {f["path"]: f for f in rec["files_before"]}
    after = {f["path"]: f for f in rec["files_after"]}
    path = "/etc/asterisk/iax-%s.conf" % lab.FILE_SUFFIX
    for key in ("checksum", "inode", "mtime"):
        assert before[path][key] == after[path][key], "%s %s changed" % (path, key)
    now = lab.host(server).file(path)
    assert now.sha256sum == before[path]["checksum"]
    for kind in ("pjsip_wizard", "extensions"):
        changed = "/etc/asterisk/%s-%s.conf" % (kind, lab.FILE_SUFFIX)
        assert before[changed]["checksum"] != after[changed]["checksum"], changed


def test_database_run_changed_exactly_three_phones():
    rec = record("ast1")
    got = sorted((c["action"], c["phone"]) for c in rec["db_changes"])
    assert got == sorted(
        [
            ("update", "%s@%s" % (PASSWORD_CHANGED, AFTER[PASSWORD_CHANGED]["server_ip"])),
            ("delete", "%s@%s" % (MOVED, BEFORE[MOVED]["server_ip"])),
            ("create", "%s@%s" % (MOVED, AFTER[MOVED]["server_ip"])),
            ("delete", "%s@%s" % (REMOVED, BEFORE[REMOVED]["server_ip"])),
        ]
    )
    assert rec["db_counts"]["unchanged"] == len(UNTOUCHED)


# ---------------------------------------------------------------------- SIP --
def test_changed_password_old_one_is_rejected():
    ext = PASSWORD_CHANGED
    result = lab.register(ext, lab.server_name(AFTER[ext]), reg_password(BEFORE, ext))
    assert (result["status"], result["exit_code"]) == (401, 3), result


def test_changed_password_new_one_is_accepted_and_reachable():
    ext = PASSWORD_CHANGED
    result, status = lab.register_reachable(ext, lab.server_name(AFTER[ext]), NEW_PASSWORD)
    assert result["status"] == 200, result
    assert status == "Avail", status


def test_moved_phone_registers_on_its_new_server():
    result, status = lab.register_reachable(MOVED, lab.server_name(AFTER[MOVED]), reg_password(AFTER, MOVED))
    assert result["status"] == 200, result
    assert status == "Avail", status


def test_moved_phone_is_rejected_by_its_old_server():
    result = lab.register(MOVED, lab.server_name(BEFORE[MOVED]), reg_password(AFTER, MOVED))
    assert (result["status"], result["exit_code"]) == (401, 3), result


def test_removed_phone_is_rejected():
    result = lab.register(REMOVED, lab.server_name(BEFORE[REMOVED]), reg_password(BEFORE, REMOVED))
    assert (result["status"], result["exit_code"]) == (401, 3), result


@pytest.mark.parametrize("ext", sorted(e for e, p in AFTER.items() if lab.is_active(p) and p["protocol"] == "PJSIP"))
def test_login_and_wrong_passwords_are_still_rejected(ext):
    server = lab.server_name(AFTER[ext])
    for password in (AFTER[ext]["phone_pass"], lab.WRONG_PASSWORD):
        result = lab.register(ext, server, password)
        assert (result["status"], result["exit_code"]) == (401, 3), result
