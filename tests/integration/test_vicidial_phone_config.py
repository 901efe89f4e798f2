"""vicidial_phone_config against a real MariaDB, writing into a temporary config dir.

Asterisk itself is exercised by Molecule and tests/e2e; here the module's own
contract is checked: what it writes, with which permissions, idempotence, the
check-mode plan, the two-writers refusal and the chan_sip guard.
"""

import os
import stat

from ansible_run import SECRET_A as SECRET
from ansible_run import SECRET_B as NEW_SECRET
from ansible_run import db_args, phone_entry, run_module


def phone(ext, ip="10.10.10.3", **extra):
    return phone_entry(ext, ip, **extra)


def config(db, tmp_path, **kw):
    check = kw.pop("check", False)
    diff = kw.pop("diff", False)
    args = db_args(db)
    args.update(server_ip="10.10.10.3", config_dir=str(tmp_path / "asterisk"), backup_dir=str(tmp_path / "backup"),
                owner="root", group="root", chan_sip=False, reload=False)
    args.update(kw)
    return run_module("vicidial_phone_config", args, check=check, diff=diff)


def apply(db, phones, **kw):
    check = kw.pop("check", False)
    args = db_args(db)
    args.update(phones=phones)
    args.update(kw)
    return run_module("vicidial_phones", args, check=check)


def read(tmp_path, name):
    with open(str(tmp_path / "asterisk" / name)) as handle:
        return handle.read()


def setup_server(db):
    # ast3 (10.10.10.3) has generate_vicidial_conf='N': this collection owns its config.
    db.query("UPDATE servers SET asterisk_version='22.10.1' WHERE server_ip='10.10.10.3'")


def test_renders_files_with_safe_permissions_and_is_idempotent(vicidial_db, tmp_path):
    db = vicidial_db
    setup_server(db)
    os.makedirs(str(tmp_path / "asterisk"))
    assert not apply(db, [phone("8001"), phone("8002", protocol="IAX2"), phone("8003", active=False)]).failed
    first = config(db, tmp_path)
    assert not first.failed, first
    assert first.result["changed"] is True
    assert first.result["reload"] == ["pjsip reload", "iax2 reload", "dialplan reload"]
    wizard = read(tmp_path, "pjsip_wizard-ansible-phones.conf")
    assert "[8001]\ntype=wizard\n" in wizard and "inbound_auth/password=%s\n" % SECRET in wizard
    assert "[8003]" not in wizard  # inactive phones are not written, as VICIdial does
    assert "[8002]" in read(tmp_path, "iax-ansible-phones.conf")
    assert "exten => 8001,1,Dial(PJSIP/8001,60,)" in read(tmp_path, "extensions-ansible-phones.conf")
    for name in ("pjsip_wizard", "iax", "extensions"):
        mode = stat.S_IMODE(os.stat(str(tmp_path / "asterisk" / ("%s-ansible-phones.conf" % name))).st_mode)
        assert mode == 0o640
    assert not os.path.exists(str(tmp_path / "asterisk" / "sip-ansible-phones.conf"))
    assert SECRET not in first.stdout + first.stderr

    second = config(db, tmp_path)
    assert second.result["changed"] is False and second.result["reload"] == []

    # A hand chmod on a file full of secrets does not survive a run, and needs no reload.
    wizard_path = str(tmp_path / "asterisk" / "pjsip_wizard-ansible-phones.conf")
    os.chmod(wizard_path, 0o644)
    planned = config(db, tmp_path, check=True)
    assert planned.result["changed"] is True and stat.S_IMODE(os.stat(wizard_path).st_mode) == 0o644
    repaired = config(db, tmp_path)
    assert repaired.result["changed"] is True and repaired.result["reload"] == []
    assert repaired.result["permissions_repaired"] == [wizard_path]
    assert stat.S_IMODE(os.stat(wizard_path).st_mode) == 0o640


def test_only_the_changed_file_reloads_and_the_old_one_is_backed_up(vicidial_db, tmp_path):
    db = vicidial_db
    setup_server(db)
    os.makedirs(str(tmp_path / "asterisk"))
    assert not apply(db, [phone("8001"), phone("8002", protocol="IAX2")]).failed
    assert not config(db, tmp_path).failed
    before = read(tmp_path, "pjsip_wizard-ansible-phones.conf")
    assert not apply(db, [phone("8001", registration_password=NEW_SECRET), phone("8002", protocol="IAX2")]).failed
    run = config(db, tmp_path, diff=True)
    assert run.result["reload"] == ["pjsip reload"]
    assert [f["kind"] for f in run.result["files"] if f["changed"]] == ["pjsip_wizard"]
    backup = run.result["backups"][0]
    assert backup["path"].endswith("pjsip_wizard-ansible-phones.conf")
    with open(backup["backup"]) as handle:
        assert handle.read() == before
    assert stat.S_IMODE(os.stat(backup["backup"]).st_mode) == 0o600
    for text in (run.stdout, run.stderr, str(run.result)):
        assert SECRET not in text and NEW_SECRET not in text


def test_check_mode_plan_shows_the_config_the_apply_would_write(vicidial_db, tmp_path):
    db = vicidial_db
    setup_server(db)
    os.makedirs(str(tmp_path / "asterisk"))
    assert not apply(db, [phone("8001")]).failed
    assert not config(db, tmp_path).failed
    files_before = {n: read(tmp_path, n) for n in os.listdir(str(tmp_path / "asterisk"))}
    plan = apply(db, [phone("8001", phone_ring_timeout=45), phone("8009")], check=True)
    assert not plan.failed, plan
    assert SECRET not in str(plan.result["pending"])
    run = config(db, tmp_path, check=True, diff=True, pending=plan.result["pending"])
    assert not run.failed, run
    assert run.result["changed"] is True
    after = {d["after_header"]: d["after"] for d in run.result["diff"]}
    dialplan = after[str(tmp_path / "asterisk" / "extensions-ansible-phones.conf")]
    assert "exten => 8001,1,Dial(PJSIP/8001,45,)" in dialplan
    assert "exten => 8009,1,Dial(PJSIP/8009,60,)" in dialplan  # new phone gets the column default
    wizard = after[str(tmp_path / "asterisk" / "pjsip_wizard-ansible-phones.conf")]
    assert "[8009]" in wizard and "inbound_auth/password=********" in wizard
    assert files_before == {n: read(tmp_path, n) for n in os.listdir(str(tmp_path / "asterisk"))}


def test_refuses_a_server_vicidial_still_generates_for_unless_asked(vicidial_db, tmp_path):
    db = vicidial_db
    os.makedirs(str(tmp_path / "asterisk"))
    db.query("UPDATE servers SET asterisk_version='22.10.1'")
    refused = config(db, tmp_path, server_ip="10.10.10.1", writer="ansible")
    assert refused.failed
    assert "generate_vicidial_conf='Y'" in refused.result["msg"]
    assert "vicidial_phones_take_over_generation" in refused.result["msg"]
    assert "vicidial_phones_config_writer: auto" in refused.result["msg"]
    assert os.listdir(str(tmp_path / "asterisk")) == []
    taken = config(db, tmp_path, server_ip="10.10.10.1", take_over_generation=True)
    assert not taken.failed and taken.result["generation_taken_over"] is True
    assert db.query("SELECT generate_vicidial_conf FROM servers WHERE server_ip='10.10.10.1'") == [
        {"generate_vicidial_conf": "N"}]


def test_active_sip_phone_without_chan_sip_is_an_error_naming_it(vicidial_db, tmp_path):
    db = vicidial_db
    os.makedirs(str(tmp_path / "asterisk"))
    # asterisk_version stays at VICIdial's default, so the database module accepts SIP.
    assert not apply(db, [phone("8001", protocol="SIP")]).failed
    run = config(db, tmp_path)
    assert run.failed
    assert "8001@10.10.10.3" in run.result["msg"] and "PJSIP" in run.result["msg"]
    with_sip = config(db, tmp_path, chan_sip=True)
    assert not with_sip.failed, with_sip
    assert "[8001]" in read(tmp_path, "sip-ansible-phones.conf")
    # VICIdial's default asterisk_version (1.4.21.2) means the pre-1.6 dial plan: said loudly.
    assert "exten => 8001,1,Dial(SIP/8001|60|)" in read(tmp_path, "extensions-ansible-phones.conf")
    assert any("pre-1.6 syntax" in w for w in with_sip.result["warnings"])


FAKE_ASTERISK = """#!/bin/sh
# Stands in for asterisk -rx: answers from files the test writes, logs reloads.
case "$2" in
  "pjsip show endpoints") cat "%(dir)s/endpoints" ;;
  "iax2 show peers") cat "%(dir)s/peers" ;;
  "dialplan show vicidial-auto-phones") cat "%(dir)s/dialplan" ;;
  "pjsip show auth "*) cat "%(dir)s/auth" ;;
  "pjsip show endpoint "*) cat "%(dir)s/endpoint" ;;
  "module show like chan_sip.so") echo "0 modules loaded" ;;
  *" reload") echo "$2" >> "%(dir)s/reloads" ;;
  *) echo "No such command '$2'"; exit 1 ;;
esac
"""

AUTH = """
     Auth:  8001-iauth/8001

 ParameterName            : ParameterValue
 ===================================================
 auth_type                : userpass
 password                 : %s
 username                 : 8001
"""


def fake_asterisk(tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    script = tmp_path / "asterisk-rx"
    script.write_text(FAKE_ASTERISK % {"dir": fake})
    script.chmod(0o755)
    (fake / "endpoints").write_text(" Endpoint:  <Endpoint/CID.....>  <State.....>\n"
                                    " Endpoint:  8001                    Unavailable   0 of inf\n"
                                    "     InAuth:  8001-iauth/8001\n")
    (fake / "peers").write_text("Name/Username    Host\n8002/8002        (null)   (D)\n1 iax2 peers [0 online]\n")
    (fake / "dialplan").write_text("[ Context 'vicidial-auto-phones' created by 'pbx_config' ]\n"
                                   "  '8001' =>         1. Dial(PJSIP/8001,60,)       [x.conf:1]\n"
                                   "  '8002' =>         1. Dial(IAX2/8002,60,)        [x.conf:4]\n")
    (fake / "auth").write_text(AUTH % SECRET)
    # What Asterisk 22 answers for a default PJSIP phone (captured in the lab), as 8001.
    with open(os.path.join(os.path.dirname(__file__), "..", "unit", "module_utils", "asterisk22",
                           "pjsip_show_endpoint.txt")) as handle:
        (fake / "endpoint").write_text(handle.read().replace("8005", "8001"))
    return fake, dict(asterisk_command=str(script), asterisk_socket=str(tmp_path / "no-socket"), reload=True,
                      verify_timeout=1)


def test_unchanged_config_is_still_checked_against_what_asterisk_has(vicidial_db, tmp_path):
    db = vicidial_db
    setup_server(db)
    os.makedirs(str(tmp_path / "asterisk"))
    fake, asterisk = fake_asterisk(tmp_path)
    assert not apply(db, [phone("8001"), phone("8002", protocol="IAX2")]).failed
    assert not config(db, tmp_path).failed
    # chan_sip is asked of "Asterisk" when not given.
    run = config(db, tmp_path, chan_sip=None, **asterisk)
    assert not run.failed, run
    assert run.result["chan_sip"] is False and run.result["reload"] == []
    assert run.result["verified"] == {"pjsip": 1, "iax2": 1, "sip": 0, "dialplan": 2, "secrets": 0}
    (fake / "peers").write_text("Name/Username    Host\n0 iax2 peers\n")
    (fake / "dialplan").write_text("[ Context 'vicidial-auto-phones' created by 'pbx_config' ]\n"
                                   "  '8002' =>         1. Dial(IAX2/8002,60,)        [x.conf:4]\n")
    run = config(db, tmp_path, chan_sip=None, **asterisk)
    assert run.failed
    assert "8002@10.10.10.3: IAX2/8002 is not loaded" in run.result["msg"]
    assert "8001@10.10.10.3: dial plan number 8001 does not ring it" in run.result["msg"]


def test_a_failed_verification_puts_back_files_include_lines_and_reloads(vicidial_db, tmp_path):
    db = vicidial_db
    setup_server(db)
    conf = tmp_path / "asterisk"
    conf.mkdir()
    fake, asterisk = fake_asterisk(tmp_path)
    # A main config typed on Windows, reached through a symlink.
    (conf / "real-extensions.conf").write_bytes(b"[general]\r\nstatic=yes\r\n")
    os.symlink("real-extensions.conf", str(conf / "extensions.conf"))
    (conf / "iax.conf").write_bytes(b"[general]\nbindport=4569\n")
    assert not apply(db, [phone("8001"), phone("8002", protocol="IAX2")]).failed
    before = dict((n, (conf / n).read_bytes()) for n in ("real-extensions.conf", "iax.conf"))
    # Asterisk answers with another secret than declared: the new config is not what it loaded.
    (fake / "auth").write_text(AUTH % "stale-secret-in-asterisk")
    run = config(db, tmp_path, **asterisk)
    assert run.failed and run.result["rolled_back"] is True
    assert "PJSIP/8001 is loaded with another registration secret than declared" in run.result["msg"]
    assert "stale-secret-in-asterisk" not in str(run.result) and SECRET not in str(run.result)
    assert sorted(os.listdir(str(conf))) == ["extensions.conf", "iax.conf", "real-extensions.conf"]
    assert os.path.islink(str(conf / "extensions.conf"))
    assert dict((n, (conf / n).read_bytes()) for n in before) == before
    # The same modules were reloaded again after the files went back.
    reloads = (fake / "reloads").read_text().split("\n")
    assert reloads[:3] == ["pjsip reload", "iax2 reload", "dialplan reload"] and reloads[3:6] == reloads[:3]
    # With the secret Asterisk really has, the same run goes through, and the CRLF main config stays CRLF.
    (fake / "auth").write_text(AUTH % SECRET)
    run = config(db, tmp_path, **asterisk)
    assert not run.failed, run
    assert run.result["verified"]["secrets"] == 1 and run.result["verified"]["endpoints_as_written"] == 1
    assert (conf / "real-extensions.conf").read_bytes() == (
        b"[general]\r\nstatic=yes\r\n#include \"extensions-ansible-phones.conf\"\r\n")
    assert os.path.islink(str(conf / "extensions.conf"))


def test_crlf_override_renders_once_and_then_changes_nothing(vicidial_db, tmp_path):
    db = vicidial_db
    setup_server(db)
    os.makedirs(str(tmp_path / "asterisk"))
    assert not apply(db, [phone("8001", protocol="IAX2")]).failed
    # As the web screen stores it: CRLF line ends in the override.
    db.query("UPDATE phones SET conf_override=%s WHERE extension='8001'",
             ("type=friend\r\nhost=dynamic\r\ncontext=default\r\nsecret=%s\r\n" % SECRET,))
    first = config(db, tmp_path, diff=True)
    assert not first.failed and first.result["changed"] is True
    assert b"host=dynamic\r\n" in (tmp_path / "asterisk" / "iax-ansible-phones.conf").read_bytes()
    assert SECRET not in str(first.result)  # the secret inside the override is masked in the diff
    second = config(db, tmp_path)
    assert second.result["changed"] is False and second.result["reload"] == []
    assert second.result["backups"] == []


def test_file_suffix_and_mode_are_validated(vicidial_db, tmp_path):
    db = vicidial_db
    setup_server(db)
    os.makedirs(str(tmp_path / "asterisk"))
    for suffix in ('x"\n#include "/etc/shadow', "../../tmp/x", "a/b"):
        run = config(db, tmp_path, file_suffix=suffix)
        assert run.failed and "file_suffix" in run.result["msg"]
    assert os.listdir(str(tmp_path / "asterisk")) == []
    # Unquoted YAML 0640 arrives as the int 416: that is 0o640, not 0o416.
    assert not apply(db, [phone("8001")]).failed
    run = config(db, tmp_path, mode=416)
    assert not run.failed, run
    assert stat.S_IMODE(os.stat(str(tmp_path / "asterisk" / "pjsip_wizard-ansible-phones.conf")).st_mode) == 0o640
    run = config(db, tmp_path, mode="0644")
    assert run.failed and "0640 or stricter" in run.result["msg"]


def test_main_configs_get_their_include_lines_once(vicidial_db, tmp_path):
    db = vicidial_db
    setup_server(db)
    conf = tmp_path / "asterisk"
    conf.mkdir()
    (conf / "iax.conf").write_text("[general]\nbindport=4569")
    os.chmod(str(conf / "iax.conf"), 0o644)
    assert not apply(db, [phone("8001")]).failed
    run = config(db, tmp_path)
    assert sorted(os.path.basename(p) for p in run.result["includes_added"]) == [
        "extensions.conf", "iax.conf", "pjsip_wizard.conf"]
    assert read(tmp_path, "iax.conf") == '[general]\nbindport=4569\n#include "iax-ansible-phones.conf"\n'
    assert stat.S_IMODE(os.stat(str(conf / "iax.conf")).st_mode) == 0o644  # an existing file keeps its mode
    assert '#include "pjsip_wizard-ansible-phones.conf"' in read(tmp_path, "pjsip_wizard.conf")
    assert not os.path.exists(str(conf / "sip.conf"))
    again = config(db, tmp_path)
    assert again.result["includes_added"] == [] and again.result["changed"] is False


def insert_raw(db, extension, **values):
    """A phones row written the way admin.php writes it (no validation of ours in between)."""
    row = dict(extension=extension, dialplan_number=extension, voicemail_id=extension, server_ip="10.10.10.3",
               login="raw%s" % extension, **{"pass": "test"})
    row.update(status="ACTIVE", active="Y", protocol="PJSIP", conf_secret="test", fullname="Raw %s" % extension,
               template_id="--NONE--", conf_override="")
    row.update(values)
    columns = ", ".join("`%s`" % c for c in row)
    db.query("INSERT INTO phones (%s) VALUES (%s)" % (columns, ", ".join(["%s"] * len(row))), list(row.values()))


def test_rows_as_the_web_screen_writes_them_render_once_and_nothing_is_mangled(vicidial_db, tmp_path):
    db = vicidial_db
    setup_server(db)
    os.makedirs(str(tmp_path / "asterisk"))
    db.query("INSERT INTO vicidial_conf_templates (template_id, template_name, template_contents) VALUES "
             "('CRLFTPL', 'typed on Windows', %s)", ("endpoint/context=default\r\naor/max_contacts=1\r\n",))
    insert_raw(db, "7001")                                           # VICIdial's default secret 'test'
    insert_raw(db, "7002", conf_secret="7002", **{"pass": "7002"})   # secrets equal to the extension
    insert_raw(db, "7003", template_id="CRLFTPL")
    insert_raw(db, "7004", template_id="NOSUCHTPL")                  # a missing template: default stanza
    insert_raw(db, "7005", template_id="--NONE--", protocol="IAX2",
               conf_override="type=friend\r\nhost=dynamic\r\ncontext=default\r\nsecret=test\r\n")
    insert_raw(db, "7006", protocol="Zap")
    insert_raw(db, "7007", protocol="EXTERNAL")
    first = config(db, tmp_path, diff=True)
    assert not first.failed, first
    wizard = read(tmp_path, "pjsip_wizard-ansible-phones.conf")
    for ext in ("7001", "7002", "7003", "7004"):
        assert "[%s]\n" % ext in wizard
    assert "endpoint/context=default\naor/max_contacts=1" in wizard  # \r taken out of the template, as VICIdial
    dialplan = read(tmp_path, "extensions-ansible-phones.conf")
    assert "7006" not in dialplan and "7007" not in dialplan  # Zap and EXTERNAL produce nothing
    # Short or common secrets are not masked wherever they occur in the result: only secret values are.
    after = "\n".join(d["after"] for d in first.result["diff"])
    assert "[7002]\n" in after and "inbound_auth/username=7002\n" in after
    assert "inbound_auth/password=********" in after and "password=test" not in after
    assert all(f["path"].startswith(str(tmp_path)) and "*" not in f["path"] for f in first.result["files"])
    second = config(db, tmp_path)
    assert second.result["changed"] is False and second.result["reload"] == []
