"""playbooks/export.yml against VICIdial's whole install schema: export, then apply, changes nothing.

The rows are written the way admin.php writes them (its ADD column list, then
MODIFY's rewrite of every editable column, NULL turned into ''), never through
the collection, so the export sees what an adopted call centre holds.
"""

import json
import os
import subprocess
import sys

import yaml
from ansible_run import db_args, run_module
from collection_path import COLLECTIONS_ROOT

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
VAULT_PASSWORD = "export-test-vault-password"
# Secrets of the rows; none of them may appear in plaintext in any output or file.
SECRETS = {
    "7001": ("LoginPw7001xyz", "RegSecret7001abcdef"),
    "7002": ("LoginPw7002xyz", "RegSecret7002abcdef"),
    "7003": ("LoginPw7003xyz", "RegSecret7003abcdef"),
    "7004": ("LoginPw7004xyz", "RegSecret7004abcdef"),
    "7005": ("LoginPw7005xyz", "RegSecret7005abcdef"),
    "7006": ("LoginPw7006xyz", "RegSecret7006abcdef"),
    "7007": ("LoginPw7007xyz", "RegSecret7007abcdef"),
    "7008": ("LoginPw7008xyz", "RegSecret7008abcdef"),
    "7011": ("LoginPw7011xyz", "RegSecret7011abcdef"),
}
OVERRIDE_SECRET = "OverrideSecret9931zz"
CRLF_SECRET = "CrlfOverrideSecret77"
ADD_COLUMNS = ("extension", "dialplan_number", "voicemail_id", "phone_ip", "computer_ip", "server_ip", "login",
               "pass", "status", "active", "phone_type", "fullname", "company", "picture", "protocol", "local_gmt",
               "outbound_cid", "conf_secret", "user_group", "template_id")
# What MODIFY turns from NULL into '' (and VICIDIAL_web_URL, which the form blanks).
MODIFY_BLANKS = ("login_user", "login_pass", "login_campaign", "DBX_server", "DBY_server", "email", "conf_override",
                 "nva_call_url", "VICIDIAL_web_URL")


def admin_add(db, ext, ip, protocol="SIP", login=None, secrets=None, active="Y", fullname="", outbound_cid="",
              number=None):
    """admin.php ADD=21111111111: its 20 columns, template_id '', everything else the schema default."""
    login_pw, secret = secrets or SECRETS[ext]
    values = dict(extension=ext, dialplan_number=number or ext, voicemail_id=number or ext, phone_ip="",
                  computer_ip="", server_ip=ip,
                  login=login or "a" + ext, status="ACTIVE", active=active, phone_type="",
                  fullname=fullname, company="", picture="", protocol=protocol, local_gmt="-5.00",
                  outbound_cid=outbound_cid, conf_secret=secret, user_group="---ALL---", template_id="")
    values["pass"] = login_pw
    columns = ",".join("`%s`" % c for c in ADD_COLUMNS)
    marks = ",".join(["%s"] * len(ADD_COLUMNS))
    db.query("INSERT INTO phones (%s) VALUES (%s)" % (columns, marks), [values[c] for c in ADD_COLUMNS])


def admin_modify(db, ext, ip, **values):
    """admin.php ADD=41111111111: the form's values, NULL columns saved as ''."""
    sets = dict((c, "") for c in MODIFY_BLANKS)
    sets.update(values)
    db.query("UPDATE phones SET %s WHERE extension=%%s AND server_ip=%%s" % ",".join("`%s`=%%s" % c for c in sets),
             list(sets.values()) + [ext, ip])


def seed(db):
    db.query("UPDATE servers SET asterisk_version='22.10.1' WHERE server_ip='10.10.10.3'")
    db.query("INSERT INTO vicidial_conf_templates (template_id, template_name, template_contents) VALUES "
             "('PJTPL', 'wizard', %s)", ("type=wizard\r\naccepts_auth=yes\r\naccepts_registrations=yes\r\n",))
    db.query("INSERT INTO phones_alias (alias_id, alias_name, logins_list) VALUES ('a7011', 'clash', 'a7001')")
    admin_add(db, "7001", "10.10.10.1", fullname="Front desk, east", outbound_cid="3125550100")
    admin_add(db, "7002", "10.10.10.1", protocol="PJSIP")
    admin_modify(db, "7002", "10.10.10.1", template_id="PJTPL", codecs_list="ulaw,alaw", phone_ring_timeout=45)
    admin_add(db, "7003", "10.10.10.2", protocol="IAX2")
    admin_modify(db, "7003", "10.10.10.2", template_id="--NONE--", conf_qualify="N",
                 conf_override="type=friend\r\nhost=dynamic\r\ncontext=default\r\nsecret=%s\r\n" % CRLF_SECRET)
    admin_add(db, "25-1", "10.10.10.2", protocol="Zap", secrets=("LoginPwZap25xyz", "test"), login="zap251",
              number="251")
    admin_add(db, "7004", "10.10.10.2", protocol="EXTERNAL")
    admin_modify(db, "7004", "10.10.10.2", ext_context="external", email="desk@example.com")
    admin_add(db, "7005", "10.10.10.1", protocol="PJSIP")
    admin_modify(db, "7005", "10.10.10.1", is_webphone="Y", webphone_dialpad="TOGGLE", use_external_server_ip="Y",
                 webphone_auto_answer="N", webphone_settings="VICIPHONE_SETTINGS")
    admin_add(db, "7006", "10.10.10.1", protocol="PJSIP", active="N")
    admin_add(db, "7007", "10.10.10.2", protocol="IAX2", secrets=("test", "test"))        # VICIdial's default
    admin_add(db, "7008", "10.10.10.1", protocol="IAX2")
    admin_modify(db, "7008", "10.10.10.1", template_id="--NONE--",
                 conf_override="type=friend\nhost=dynamic\ncontext=default\nsecret=%s" % OVERRIDE_SECRET)
    admin_add(db, "7009", "10.10.10.1", protocol="PJSIP", secrets=("LoginPw7009xyz", "RegSecret7009abcdef"))
    admin_modify(db, "7009", "10.10.10.1", template_id="GONE")                            # template deleted since
    admin_add(db, "7010", "10.10.10.3", protocol="SIP", secrets=("LoginPw7010xyz", "RegSecret7010abcdef"),
              active="N")                                                                 # SIP on Asterisk 22
    admin_add(db, "7011", "10.10.10.1", protocol="PJSIP", login="a7011")                  # login = an alias id
    admin_add(db, "7012", "10.10.10.3", protocol="PJSIP", secrets=("short", "short"))


ALL_SECRETS = [s for pair in SECRETS.values() for s in pair] + [
    OVERRIDE_SECRET, CRLF_SECRET, "LoginPwZap25xyz", "LoginPw7009xyz", "RegSecret7009abcdef", "LoginPw7010xyz",
    "RegSecret7010abcdef"]


def config(db, tmp):
    """vicidial_phone_config for ast3 into a temporary config dir (no Asterisk: no reload)."""
    args = db_args(db)
    args.update(server_ip="10.10.10.3", config_dir=str(tmp / "asterisk"), backup_dir=str(tmp / "backup"),
                owner="root", group="root", chan_sip=False, reload=False)
    os.makedirs(str(tmp / "asterisk"), exist_ok=True)
    return run_module("vicidial_phone_config", args)


def play(path, inventory_dir, extra, check=False, vault=True, tmp=None):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "ansible-tmp"), ANSIBLE_RETRY_FILES_ENABLED="false")
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    cmd = [ANSIBLE_PLAYBOOK, "-i", inventory_dir, path, "-e", json.dumps(extra), "-vvv"]
    if vault:
        cmd += ["--vault-password-file", os.path.join(tmp, "vault-pass")]
    if check:
        cmd.append("--check")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False, cwd=REPO)


def inventory(tmp, db):
    inv = tmp / "inventory"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"telephony": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "vicidial_server_ip": "10.10.10.1"}}}}))
    (inv / "group_vars" / "all" / "db.yml").write_text(yaml.safe_dump({"vicidial_phones_db": db_args(db)}))
    (tmp / "vault-pass").write_text(VAULT_PASSWORD + "\n")
    os.chmod(str(tmp / "vault-pass"), 0o600)
    return inv


APPLY = [{
    "name": "apply the inventory as the role does",
    "hosts": "localhost",
    "gather_facts": False,
    "tasks": [{
        "name": "apply",
        "telephony.vicidial.vicidial_phones": {
            "phones": "{{ vicidial_phones_entries }}",
            "defaults": "{{ vicidial_phones_defaults | default({}) }}",
        },
        "module_defaults": {"telephony.vicidial.vicidial_phones": "{{ vicidial_phones_db }}"},
        "register": "applied",
    }, {
        "name": "keep the result",
        "ansible.builtin.copy": {"content": "{{ applied | to_json }}", "dest": "{{ result_file }}"},
        "check_mode": False,
        "changed_when": False,
    }],
}]


def test_export_then_apply_changes_nothing_and_secrets_stay_encrypted(vicidial_full_db, tmp_path):
    db = vicidial_full_db
    seed(db)
    inv = inventory(tmp_path, db)
    out = inv / "group_vars" / "all"
    servers = ["10.10.10.1", "10.10.10.2", "10.10.10.3"]
    # ast3 (generate_vicidial_conf='N') has its phone config written by the collection, from the rows.
    written = config(db, tmp_path)
    assert not written.failed and written.result["changed"] is True, written
    conf_files = sorted(str(p) for p in (tmp_path / "asterisk").iterdir())
    conf_stamps = [os.stat(p).st_mtime_ns for p in conf_files]
    before = db.checksum()
    export = play("playbooks/export.yml", str(inv),
                  {"vicidial_export_dir": str(out), "vicidial_export_servers": servers}, tmp=tmp_path)
    assert export.returncode == 0, export.stdout + export.stderr
    assert db.checksum() == before  # the export only reads

    entries_file = out / "phones.yml"
    vault_file = out / "vault_phones.yml"
    entries_text = entries_file.read_text()
    vault_bytes = vault_file.read_bytes()
    assert vault_bytes.startswith(b"$ANSIBLE_VAULT;1.1;AES256")
    assert oct(os.stat(str(vault_file)).st_mode & 0o777) == "0o600"
    # No secret in plaintext: not in the entries, the vault file, the output, nor anywhere under tmp.
    everything = export.stdout + export.stderr + entries_text + vault_bytes.decode()
    for root, _dirs, files in os.walk(str(tmp_path)):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                everything += handle.read().decode("utf-8", "replace")
    leaked = [s for s in ALL_SECRETS if s in everything]
    assert leaked == [], leaked

    entries = yaml.safe_load(entries_text)["vicidial_phones_entries"]
    by_label = dict(("%s@%s" % (e["extension"], e["server_ip"]), e) for e in entries)
    # Stable order: by server, then extension.
    assert list(by_label) == ["7001@10.10.10.1", "7002@10.10.10.1", "7005@10.10.10.1", "7006@10.10.10.1",
                              "7008@10.10.10.1", "7009@10.10.10.1", "7011@10.10.10.1", "25-1@10.10.10.2",
                              "7003@10.10.10.2", "7004@10.10.10.2", "7007@10.10.10.2", "7012@10.10.10.3"]
    e7001 = by_label["7001@10.10.10.1"]
    assert list(e7001)[:3] == ["extension", "server_ip", "protocol"]
    assert "phone_pass: \"{{ vault_phone_secrets['7001@10.10.10.1'].phone_pass }}\"" in entries_text
    assert e7001 == {
        "extension": "7001", "server_ip": "10.10.10.1", "dialplan_number": "7001", "voicemail_id": "7001",
        "phone_login": "a7001", "phone_pass": "{{ vault_phone_secrets['7001@10.10.10.1'].phone_pass }}",
        "phone_full_name": "Front desk, east", "protocol": "SIP", "outbound_cid": "3125550100",
        "registration_password": "{{ vault_phone_secrets['7001@10.10.10.1'].registration_password }}"}
    # Only what differs from a create: the template, codecs and timeout of 7002; the webphone's options.
    assert {k: v for k, v in by_label["7002@10.10.10.1"].items() if k in (
        "template_id", "codecs_list", "phone_ring_timeout", "VICIDIAL_web_URL")} == {
        "template_id": "PJTPL", "codecs_list": "ulaw,alaw", "phone_ring_timeout": 45, "VICIDIAL_web_URL": ""}
    assert {k: by_label["7005@10.10.10.1"][k] for k in (
        "is_webphone", "webphone_dialpad", "use_external_server_ip", "webphone_auto_answer")} == {
        "is_webphone": "Y", "webphone_dialpad": "TOGGLE", "use_external_server_ip": True,
        "webphone_auto_answer": False}
    assert "webphone_settings" not in by_label["7005@10.10.10.1"]  # equal to the column default
    assert by_label["7006@10.10.10.1"]["active"] is False
    assert by_label["25-1@10.10.10.2"]["protocol"] == "Zap" and by_label["25-1@10.10.10.2"]["dialplan_number"] == "251"
    assert by_label["7004@10.10.10.2"]["ext_context"] == "external"
    # A secret-bearing override goes to the vault, referenced; CRLF line ends (the web screen's) included.
    assert by_label["7008@10.10.10.1"]["conf_override"] == (
        "{{ vault_phone_secrets['7008@10.10.10.1'].conf_override }}")
    assert by_label["7003@10.10.10.2"]["conf_override"] == (
        "{{ vault_phone_secrets['7003@10.10.10.2'].conf_override }}")
    assert "7003@10.10.10.2: conf_override: left out" not in entries_text
    # A template that no longer exists and a login that is an alias id: left out, named.
    assert "template_id" not in by_label["7009@10.10.10.1"]
    assert "phone_login" not in by_label["7011@10.10.10.1"]
    # A SIP phone on Asterisk 22 cannot be an entry: left out, named.
    assert "7010@10.10.10.3" not in by_label and "7010@10.10.10.3: protocol: left out" not in entries_text
    assert "#   7010@10.10.10.3: " in entries_text and "Asterisk 22" in entries_text
    result = export.stdout
    assert "weak passwords" in result and "7007@10.10.10.2" in result and "7012@10.10.10.3" in result

    # Apply straight away: nothing changes (module result, and the tables themselves).
    db.query("UPDATE servers SET rebuild_conf_files='N'")
    before = db.checksum()
    apply_play = tmp_path / "apply.yml"
    apply_play.write_text(json.dumps(APPLY))
    result_file = tmp_path / "result.json"
    applied = play(str(apply_play), str(inv), {"result_file": str(result_file)}, tmp=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "changed=0" in applied.stdout
    got = json.loads(result_file.read_text())
    assert got["changed"] is False and got["queries"] == [], got
    assert got["counts"] == {"created": 0, "updated": 0, "deleted": 0, "unchanged": len(entries)}
    assert db.checksum() == before
    assert [s for s in ALL_SECRETS if s in applied.stdout + applied.stderr] == []
    # ...and the config of the server the collection writes is not rewritten.
    again = config(db, tmp_path)
    assert not again.failed and again.result["changed"] is False, again
    assert [os.stat(p).st_mtime_ns for p in conf_files] == conf_stamps

    # A second export of the same rows rewrites no file.
    stamps = [os.stat(str(f)).st_mtime_ns for f in (entries_file, vault_file)]
    again = play("playbooks/export.yml", str(inv),
                 {"vicidial_export_dir": str(out), "vicidial_export_servers": servers}, tmp=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "changed=0" in again.stdout
    assert [os.stat(str(f)).st_mtime_ns for f in (entries_file, vault_file)] == stamps
    assert vault_file.read_bytes() == vault_bytes


def test_export_refuses_to_run_without_a_vault_password(vicidial_db, tmp_path):
    db = vicidial_db
    admin_add(db, "7001", "10.10.10.1", protocol="PJSIP")
    inv = inventory(tmp_path, db)
    out = tmp_path / "out"
    run = play("playbooks/export.yml", str(inv), {"vicidial_export_dir": str(out),
                                                  "vicidial_export_servers": ["10.10.10.1"]},
               vault=False, tmp=tmp_path)
    assert run.returncode != 0
    assert "no vault password" in run.stdout
    assert not out.exists()


def test_check_mode_writes_no_file(vicidial_db, tmp_path):
    db = vicidial_db
    admin_add(db, "7001", "10.10.10.1", protocol="PJSIP")
    inv = inventory(tmp_path, db)
    out = tmp_path / "out"
    run = play("playbooks/export.yml", str(inv), {"vicidial_export_dir": str(out),
                                                  "vicidial_export_servers": ["10.10.10.1"]},
               check=True, tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "changed=1" in run.stdout
    assert not out.exists()
