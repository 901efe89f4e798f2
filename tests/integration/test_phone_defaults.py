"""PHONE_DEFAULTS on create, against VICIdial's whole install schema in a real MariaDB (strict sql_mode).

When system_settings.phone_defaults_container names a PHONE_DEFAULTS settings container, admin.php's ADD
appends the container's keys to its INSERT (vicidial-phones.md 1.6, 2.3, 8). The reference row in these tests
is written with admin.php's own INSERT: its 20 columns plus the 23 the seeded container adds.
"""

from ansible_run import SECRET_A, apply_phones, phone_entry

SEEDED = "PHONE_DEFAULTS"
# admin.php's ADD INSERT (vicidial-phones.md 2.3) ...
ADD_COLUMNS = ("extension", "dialplan_number", "voicemail_id", "phone_ip", "computer_ip", "server_ip", "login",
               "pass", "status", "active", "phone_type", "fullname", "company", "picture", "protocol", "local_gmt",
               "outbound_cid", "conf_secret", "user_group", "template_id")
# ... and the keys the seeded container appends to it: every key with a value that the form does not carry,
# and conf_override, which is appended even when empty.
SEEDED_KEYS = {
    "voicemail_dump_exten": "85026666666666", "conf_override": "", "phone_context": "default",
    "phone_ring_timeout": "60", "delete_vm_after_email": "N", "is_webphone": "N", "use_external_server_ip": "N",
    "codecs_with_template": "0", "webphone_dialpad": "Y", "on_hook_agent": "N", "webphone_auto_answer": "Y",
    "voicemail_timezone": "eastern", "voicemail_dump_exten_no_inst": "85026666666667",
    "voicemail_instructions": "Y", "on_login_report": "N", "nva_new_list_id": "995", "nva_new_phone_code": "1",
    "nva_new_status": "NVAINS", "webphone_dialbox": "Y", "webphone_mute": "Y", "webphone_volume": "Y",
    "webphone_debug": "N", "conf_qualify": "Y",
}
# Columns that tell one phone from another (and the admin-screen-only ones that runtime jobs write).
OWN = ("extension", "dialplan_number", "voicemail_id", "login")


def use_container(db, name, default_tz="central"):
    db.query("UPDATE system_settings SET phone_defaults_container=%s, default_voicemail_timezone=%s",
             (name, default_tz))


def admin_php_add(db, ext, ip, keys):
    """The row admin.php's ADD writes for a PJSIP phone typed into the form like phone_entry(ext, ip)."""
    form = dict(extension=ext, dialplan_number=ext, voicemail_id=ext, phone_ip="", computer_ip="", server_ip=ip,
                login="L" + ext, **{"pass": "LoginPwAlpha99"}, status="ACTIVE", active="Y", phone_type="",
                fullname="", company="", picture="", protocol="PJSIP", local_gmt="-5.00", outbound_cid="",
                conf_secret=SECRET_A, user_group="---ALL---", template_id="")
    cols = list(ADD_COLUMNS) + sorted(keys)
    values = [form[c] for c in ADD_COLUMNS] + [keys[c] for c in sorted(keys)]
    db.query("INSERT INTO phones (%s) VALUES (%s)" % (",".join(cols), ",".join(["%s"] * len(cols))), values)


def row(db, ext, ip="10.10.10.1"):
    found = db.query("SELECT * FROM phones WHERE extension=%s AND server_ip=%s", (ext, ip))
    assert len(found) == 1, found
    return found[0]


def same_but_identity(a, b):
    return dict((k, v) for k, v in a.items() if k not in OWN) == dict((k, v) for k, v in b.items() if k not in OWN)


def test_the_seeded_container_is_applied_as_admin_php_applies_it_and_a_rerun_changes_nothing(vicidial_full_db):
    db = vicidial_full_db
    assert len(SEEDED_KEYS) == 23  # what the reference measured for the seeded container
    use_container(db, SEEDED)
    admin_php_add(db, "7999", "10.10.10.1", SEEDED_KEYS)
    entries = [phone_entry("8001", "10.10.10.1")]

    plan = apply_phones(db, entries, check=True, diff=True)
    assert not plan.failed, plan
    after = plan.result["diff"]["after"]["8001@10.10.10.1"]
    # The plan shows what the container writes (a value the schema default would not give).
    assert after["conf_override"] == "" and after["voicemail_timezone"] == "eastern"
    assert after["voicemail_dump_exten_no_inst"] == "85026666666667" and after["nva_new_status"] == "NVAINS"
    assert db.query("SELECT COUNT(*) AS n FROM phones WHERE extension='8001'")[0]["n"] == 0
    pending = plan.result["pending"][0]["values"]
    assert pending["voicemail_timezone"] == "eastern" and pending["conf_override"] == ""

    first = apply_phones(db, entries)
    assert not first.failed and first.result["counts"]["created"] == 1, first
    created = row(db, "8001")
    assert same_but_identity(created, row(db, "7999")), (created, row(db, "7999"))
    # The container's voicemail_timezone line wins over system_settings.default_voicemail_timezone ('central'),
    # and conf_override is appended even when empty ('' where the column default is NULL).
    assert created["voicemail_timezone"] == "eastern" and created["conf_override"] == ""

    before = db.checksum()
    again = apply_phones(db, entries)
    assert not again.failed and again.result["changed"] is False and again.result["queries"] == [], again
    assert db.checksum() == before


def test_a_disabled_container_changes_nothing(vicidial_full_db):
    db = vicidial_full_db
    use_container(db, "---DISABLED---")
    admin_php_add(db, "7999", "10.10.10.1", {})
    run = apply_phones(db, [phone_entry("8001", "10.10.10.1")])
    assert not run.failed, run
    created = row(db, "8001")
    assert same_but_identity(created, row(db, "7999"))
    # Column defaults: no container, so neither its conf_override nor default_voicemail_timezone.
    assert created["conf_override"] is None and created["voicemail_timezone"] == "eastern"


CUSTOM = "\r\n".join([
    "# a container of our own",
    "voicemail_timezone => ",
    "protocol => SIP",
    "local_gmt => -8.00",
    "phone_context => custom_ctx",
    "phone_ring_timeout => 45",
    "email => ops@example.com",
    "codecs_list => ulaw,alaw",
    "conf_override => allow=ulaw",
    "disallow=all",
    "# not part of it",
    "",
    "webphone_dialpad => TOGGLE",
    "no_such_column => 1",
    "on_login_report => Y",
    "",
])


def test_a_container_of_our_own_declared_options_win_and_updates_never_apply_it(vicidial_full_db):
    db = vicidial_full_db
    db.query("INSERT INTO vicidial_settings_containers (container_id, container_notes, container_type, user_group, "
             "container_entry) VALUES ('OUR_PHONES', 'test', 'PHONE_DEFAULTS', '---ALL---', %s)", (CUSTOM,))
    apply_phones(db, [phone_entry("8002", "10.10.10.1")])  # before the container is enabled
    use_container(db, "OUR_PHONES", default_tz="central")
    # IAX2: the container's conf_override is an IAX2 peer body (a PJSIP phone would need a wizard one).
    entries = [phone_entry("8001", "10.10.10.1", phone_ring_timeout=30, protocol="IAX2"),
               phone_entry("8002", "10.10.10.1", phone_full_name="Existing")]

    run = apply_phones(db, entries, diff=True)
    assert not run.failed, run
    assert sorted(c["action"] for c in run.result["changes"]) == ["create", "update"]
    warnings = " ".join(run.result.get("warnings") or [])
    assert "no_such_column" in warnings, run.result
    created = row(db, "8001")
    assert created["phone_context"] == "custom_ctx" and created["email"] == "ops@example.com"
    assert created["codecs_list"] == "ulaw,alaw" and created["conf_override"] == "allow=ulaw\ndisallow=all"
    assert created["webphone_dialpad"] == "TOGGLE" and created["on_login_report"] == "Y"
    # The entry's own value wins over the container's.
    assert created["phone_ring_timeout"] == 30
    # Keys the ADD form carries are not applied from the container: the entry's protocol, the form's local_gmt.
    assert created["protocol"] == "IAX2" and created["local_gmt"] == "-5.00"
    # An empty voicemail_timezone line: system_settings.default_voicemail_timezone.
    assert created["voicemail_timezone"] == "central"
    # The update never applies the container.
    updated = row(db, "8002")
    assert updated["fullname"] == "Existing"
    assert updated["phone_context"] == "default" and updated["email"] is None and updated["conf_override"] is None
    assert run.result["diff"]["after"]["8002@10.10.10.1"] == {"phone_full_name": "Existing"}

    before = db.checksum()
    again = apply_phones(db, entries)
    assert not again.failed and again.result["changed"] is False, again
    assert db.checksum() == before


def test_a_container_value_the_column_cannot_hold_is_an_error_and_nothing_is_written(vicidial_full_db):
    db = vicidial_full_db
    db.query("INSERT INTO vicidial_settings_containers (container_id, container_type, container_entry) "
             "VALUES ('BAD_PHONES', 'PHONE_DEFAULTS', 'is_webphone => MAYBE\nphone_ring_timeout => soon')")
    use_container(db, "BAD_PHONES")
    before = db.checksum()
    run = apply_phones(db, [phone_entry("8001", "10.10.10.1")])
    assert run.failed
    msg = run.result["msg"]
    assert "8001@10.10.10.1: is_webphone:" in msg and "BAD_PHONES" in msg, msg
    assert "8001@10.10.10.1: phone_ring_timeout:" in msg, msg
    assert db.checksum() == before
    # A declared value shadows the container's: the container is not in the way of an entry that says it all.
    declared = apply_phones(db, [phone_entry("8001", "10.10.10.1", is_webphone="N", phone_ring_timeout=50)])
    assert not declared.failed, declared
    assert row(db, "8001")["phone_ring_timeout"] == 50
    # Disabling the container lets any create through.
    use_container(db, "---DISABLED---")
    assert not apply_phones(db, [phone_entry("8002", "10.10.10.1")]).failed


def test_the_export_leaves_out_what_the_enabled_container_would_write_on_create(vicidial_full_db, tmp_path):
    import yaml
    from test_vicidial_phones_export import inventory, play

    db = vicidial_full_db
    db.query("INSERT INTO vicidial_settings_containers (container_id, container_type, container_entry) "
             "VALUES ('OUR_PHONES', 'PHONE_DEFAULTS', 'phone_context => ctx1\nemail => ops@example.com')")
    assert not apply_phones(db, [phone_entry("8002", "10.10.10.1")]).failed  # before the container is enabled
    use_container(db, "OUR_PHONES")
    assert not apply_phones(db, [phone_entry("8001", "10.10.10.1")]).failed
    assert row(db, "8001")["phone_context"] == "ctx1" and row(db, "8002")["phone_context"] == "default"
    inv = inventory(tmp_path, db)
    out = tmp_path / "out"
    run = play("playbooks/export.yml", str(inv), {"vicidial_export_dir": str(out),
                                                  "vicidial_export_servers": ["10.10.10.1"]}, tmp=str(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:]
    entries = dict((e["extension"], e) for e in yaml.safe_load((out / "phones.yml").read_text())
                   ["vicidial_phones_entries"])
    # A create stores the container's values: the phone that has them needs no option for them; the phone
    # made before the container was enabled needs them, or re-creating it would take the container's.
    assert "phone_context" not in entries["8001"] and "email" not in entries["8001"], entries["8001"]
    assert entries["8002"]["phone_context"] == "default", entries["8002"]
