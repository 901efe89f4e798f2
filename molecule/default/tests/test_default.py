"""Verify the default scenario: inventory/lab's phones, applied by playbooks/phones.yml.

Every expectation comes from inventory/lab/group_vars/all/phones.yml and the
lab vault; every observation from the lab itself (database, files, Asterisk,
SIP).
"""

import pytest
import vicilab_checks as lab

DECLARED = lab.declared_phones()
SECRETS = lab.vault_secrets()
ACTIVE = {ext: p for ext, p in DECLARED.items() if lab.is_active(p)}
INACTIVE = sorted(set(DECLARED) - set(ACTIVE))
PJSIP_ACTIVE = sorted(ext for ext, p in ACTIVE.items() if p["protocol"] == "PJSIP")
WEBPHONES = sorted(ext for ext, p in ACTIVE.items() if p.get("is_webphone") in ("Y", "Y_API_LAUNCH"))
NOT_WEBPHONES = sorted(set(PJSIP_ACTIVE) - set(WEBPHONES))
FILE_CASES = [(srv, kind) for srv in sorted(lab.SERVERS) for kind in sorted(lab.PHONE_FILES)]


def own(server, protocol=None):
    return lab.active_on(DECLARED, server, protocol)


def test_lab_inventory_is_what_the_scenario_expects():
    # The checks below need these; a changed lab inventory should fail here first.
    assert PJSIP_ACTIVE and WEBPHONES and INACTIVE
    assert {lab.server_name(p) for p in DECLARED.values()} == set(lab.SERVERS)
    assert {p["protocol"] for p in ACTIVE.values()} == {"PJSIP", "IAX2"}


# ----------------------------------------------------------------- database --
@pytest.mark.parametrize("ext", sorted(DECLARED))
def test_phone_row_has_declared_values(ext):
    rows = lab.sql("SELECT * FROM phones WHERE extension='%s'" % ext)
    assert len(rows) == 1, "expected one row for %s, found %d" % (ext, len(rows))
    want = lab.expected_row(DECLARED[ext])
    have = {column: rows[0][column] for column in want}
    wrong = sorted(c for c in want if have[c] != want[c])
    # Secrets are compared but never printed.
    shown = {c: ("<secret differs>" if c in ("pass", "conf_secret") else (have[c], want[c])) for c in wrong}
    assert not wrong, "%s: columns differ from the inventory (have, want): %s" % (ext, shown)


def test_no_undeclared_phone_on_the_purged_servers():
    rows = lab.sql(
        "SELECT extension, server_ip FROM phones WHERE server_ip IN ('%s')" % "','".join(lab.SERVERS.values())
    )
    assert sorted((r["extension"], r["server_ip"]) for r in rows) == sorted(
        (ext, p["server_ip"]) for ext, p in DECLARED.items()
    )


@pytest.mark.parametrize("ext", INACTIVE)
def test_inactive_phone_row_is_inactive(ext):
    rows = lab.sql("SELECT active FROM phones WHERE extension='%s'" % ext)
    assert [r["active"] for r in rows] == ["N"]


def test_rebuild_flags_follow_admin_php():
    # admin.php flags rebuild_conf_files only where VICIdial's generator writes
    # the config (generate_vicidial_conf=Y, active_asterisk_server=Y). The lab
    # servers leave the phone config to the role, so no flag may be set.
    rows = lab.sql(
        "SELECT server_ip, generate_vicidial_conf, active_asterisk_server, rebuild_conf_files FROM servers "
        "WHERE server_ip IN ('%s')" % "','".join(lab.SERVERS.values())
    )
    assert len(rows) == len(lab.SERVERS)
    for row in rows:
        generated = row["generate_vicidial_conf"] == "Y" and row["active_asterisk_server"] == "Y"
        assert row["rebuild_conf_files"] == ("Y" if generated else "N"), row


def test_admin_log_has_one_add_row_per_phone_and_nothing_else():
    rows = lab.sql(
        "SELECT event_type, event_code, record_id, user, event_notes FROM vicidial_admin_log "
        "WHERE event_section='PHONES' ORDER BY admin_log_id"
    )
    assert sorted(r["record_id"] for r in rows) == sorted(DECLARED), (
        "one row per declared phone, and no MODIFY/DELETE rows after the idempotence run: %s"
        % [(r["event_code"], r["record_id"]) for r in rows]
    )
    for row in rows:
        phone = DECLARED[row["record_id"]]
        assert row["event_type"] == "ADD"
        assert row["event_code"] == "ANSIBLE ADD PHONE"
        assert "%s@%s" % (phone["extension"], phone["server_ip"]) in row["event_notes"]


def test_admin_log_holds_no_password():
    rows = lab.sql("SELECT record_id, event_sql, event_notes FROM vicidial_admin_log WHERE event_section='PHONES'")
    assert rows
    secrets = [v for s in SECRETS.values() for v in s.values()]
    for row in rows:
        text = (row["event_sql"] or "") + (row["event_notes"] or "")
        # Booleans first: a failure must not print the row's text.
        leaked = any(secret in text for secret in secrets)
        masked = "********" in (row["event_sql"] or "")
        assert not leaked, "a password is in the admin log row of %s" % row["record_id"]
        assert masked, "secret columns are not masked in %s's event_sql" % row["record_id"]


# -------------------------------------------------------------------- files --
@pytest.mark.parametrize("server,kind", FILE_CASES)
def test_config_file_is_private_to_asterisk(server, kind):
    conf = lab.phone_file(server, kind)
    path = conf.path
    assert conf.is_file, path
    assert (conf.user, conf.group) == ("root", "asterisk"), path
    assert conf.mode == 0o640, "%s: mode %o" % (path, conf.mode)
    assert conf.mode & 0o007 == 0, "%s is readable by others" % path
    main = lab.host(server).file("/etc/asterisk/" + lab.PHONE_FILES[kind])
    assert '#include "%s-%s.conf"' % (kind, lab.FILE_SUFFIX) in main.content_string


@pytest.mark.parametrize("server", sorted(lab.SERVERS))
def test_config_files_hold_exactly_this_servers_active_phones(server):
    files = {kind: lab.phone_file(server, kind).content_string for kind in ("pjsip_wizard", "iax")}
    for kind, protocol in (("pjsip_wizard", "PJSIP"), ("iax", "IAX2")):
        assert lab.stanzas(files[kind]) == own(server, protocol), "%s %s stanzas" % (server, kind)
    for ext in own(server):
        kind = "pjsip_wizard" if DECLARED[ext]["protocol"] == "PJSIP" else "iax"
        # Computed first so that a failure never prints a secret or the file.
        present = DECLARED[ext]["registration_password"] in files[kind]
        assert present, "%s's registration password is not in %s's %s file" % (ext, server, kind)


# ----------------------------------------------------------------- Asterisk --
@pytest.mark.parametrize("server", sorted(lab.SERVERS))
def test_asterisk_has_exactly_this_servers_pjsip_endpoints(server):
    assert lab.pjsip_endpoints(server) == own(server, "PJSIP")


@pytest.mark.parametrize("server", sorted(lab.SERVERS))
def test_asterisk_has_exactly_this_servers_iax2_peers(server):
    assert lab.iax2_peers(server) == own(server, "IAX2")


@pytest.mark.parametrize("server", sorted(lab.SERVERS))
def test_asterisk_dialplan_has_exactly_this_servers_numbers(server):
    want = {DECLARED[ext]["dialplan_number"] for ext in own(server)}
    assert lab.dialplan_numbers(server) == want


@pytest.mark.parametrize("ext", WEBPHONES)
def test_webphone_endpoint_has_webrtc(ext):
    settings = lab.endpoint_settings(lab.server_name(DECLARED[ext]), ext)
    assert settings.get("webrtc") == "yes", settings
    assert settings.get("ice_support") == "true"
    assert settings.get("media_encryption") == "dtls"
    assert settings.get("dtls_auto_generate_cert", "").lower() == "yes"


@pytest.mark.parametrize("ext", NOT_WEBPHONES)
def test_desk_phone_endpoint_has_no_webrtc(ext):
    settings = lab.endpoint_settings(lab.server_name(DECLARED[ext]), ext)
    assert settings.get("webrtc") == "no", settings


@pytest.mark.parametrize("ext", INACTIVE)
def test_inactive_phone_is_not_loaded_anywhere(ext):
    for server in lab.SERVERS:
        assert lab.endpoint_settings(server, ext) == {}, "%s has an endpoint %s" % (server, ext)
        assert DECLARED[ext]["dialplan_number"] not in lab.dialplan_numbers(server)
    result = lab.register(ext, lab.server_name(DECLARED[ext]), DECLARED[ext]["registration_password"])
    assert result["status"] == 401, result


# ---------------------------------------------------------------------- SIP --
@pytest.mark.parametrize("ext", PJSIP_ACTIVE)
def test_register_with_registration_password_is_accepted_and_reachable(ext):
    phone = DECLARED[ext]
    result, status = lab.register_reachable(ext, lab.server_name(phone), phone["registration_password"])
    assert result["status"] == 200, result
    assert status == "Avail", "contact %s is %s in pjsip show contacts" % (result.get("contact"), status)


@pytest.mark.parametrize("ext", PJSIP_ACTIVE)
def test_register_with_login_password_is_rejected(ext):
    phone = DECLARED[ext]
    result = lab.register(ext, lab.server_name(phone), phone["phone_pass"])
    assert (result["status"], result["exit_code"]) == (401, 3), result


@pytest.mark.parametrize("ext", PJSIP_ACTIVE)
def test_register_with_wrong_password_is_rejected(ext):
    result = lab.register(ext, lab.server_name(DECLARED[ext]), lab.WRONG_PASSWORD)
    assert (result["status"], result["exit_code"]) == (401, 3), result


@pytest.mark.parametrize("ext", PJSIP_ACTIVE)
def test_register_on_the_other_server_is_rejected(ext):
    phone = DECLARED[ext]
    result = lab.register(ext, lab.other_server(lab.server_name(phone)), phone["registration_password"])
    assert result["status"] == 401, result
