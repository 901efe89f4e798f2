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
                owner="root", group="root", chan_sip=False, verify_unchanged=False)
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
    assert first.result["reload"] == ["iax2 reload", "pjsip reload", "dialplan reload"]
    assert first.result["expected"] == {"pjsip": ["8001"], "iax2": ["8002"], "sip": [], "dialplan": ["8002", "8001"]}
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
    refused = config(db, tmp_path, server_ip="10.10.10.1")
    assert refused.failed
    assert "generate_vicidial_conf='Y'" in refused.result["msg"]
    assert "vicidial_phones_take_over_generation" in refused.result["msg"]
    assert "vicidial_phones_config_writer: vicidial" in refused.result["msg"]
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
# Stands in for asterisk -rx: answers from files the test writes.
case "$2" in
  "pjsip show endpoints") cat "%(dir)s/endpoints" ;;
  "iax2 show peers") cat "%(dir)s/peers" ;;
  "dialplan show vicidial-auto-phones") cat "%(dir)s/dialplan" ;;
  "module show like chan_sip") echo "0 modules loaded" ;;
  *) echo "No such command '$2'"; exit 1 ;;
esac
"""


def test_unchanged_config_is_still_checked_against_what_asterisk_has(vicidial_db, tmp_path):
    db = vicidial_db
    setup_server(db)
    os.makedirs(str(tmp_path / "asterisk"))
    fake = tmp_path / "fake"
    fake.mkdir()
    script = tmp_path / "asterisk-rx"
    script.write_text(FAKE_ASTERISK % {"dir": fake})
    script.chmod(0o755)
    assert not apply(db, [phone("8001"), phone("8002", protocol="IAX2")]).failed
    assert not config(db, tmp_path).failed
    (fake / "endpoints").write_text(" Endpoint:  <Endpoint/CID.....>  <State.....>\n"
                                    " Endpoint:  8001/8001  Unavailable\n")
    (fake / "peers").write_text("Name/Username    Host\n8002/8002   (Unspecified)\n1 iax2 peers\n")
    (fake / "dialplan").write_text("[ Context 'vicidial-auto-phones' created by 'pbx_config' ]\n"
                                   "  '8001' =>  1. Dial(PJSIP/8001,60,)\n  '8002' =>  1. Dial(IAX2/8002,60,)\n")
    # chan_sip is asked of "Asterisk" when not given.
    run = config(db, tmp_path, chan_sip=None, verify_unchanged=True, asterisk_command=str(script))
    assert not run.failed, run
    assert run.result["chan_sip"] is False and run.result["not_loaded"] == []
    (fake / "peers").write_text("Name/Username    Host\n0 iax2 peers\n")
    (fake / "dialplan").write_text("  '8002' =>  1. Dial(IAX2/8002,60,)\n")
    run = config(db, tmp_path, chan_sip=None, verify_unchanged=True, asterisk_command=str(script))
    assert run.result["not_loaded"] == ["IAX2/8002", "dial plan number 8001"]


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
