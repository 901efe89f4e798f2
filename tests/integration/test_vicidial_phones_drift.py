"""playbooks/drift.yml against the private MariaDB, with Asterisk 22's captured answers behind a fake CLI."""

import json
import os
import subprocess
import sys

import yaml
from ansible_run import LOGIN_PW_A, SECRET_A, db_args, phone_entry, run_module
from collection_path import COLLECTIONS_ROOT

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURED = os.path.join(REPO, "tests", "unit", "module_utils", "asterisk22")
NEW_SECRET = "DriftedSecret-4711xy"
FAKE = """#!/bin/sh
case "$2" in
  "pjsip show endpoints") cat "%(dir)s/pjsip_show_endpoints.txt" ;;
  "iax2 show peers") cat "%(dir)s/iax2_show_peers.txt" ;;
  "module show like chan_sip.so") cat "%(dir)s/module_show_chan_sip.txt" ;;
  "core show version") cat "%(dir)s/core_show_version.txt" ;;
  "database show registrar/contact") cat "%(dir)s/database_show_registrar_contact_empty.txt" ;;
  *) echo "No such command '$2'"; exit 1 ;;
esac
"""
ENTRIES = [phone_entry("8001", "10.10.10.1", phone_full_name="Desk 8001"),
           phone_entry("8005", "10.10.10.1", is_webphone="Y"),
           phone_entry("8003", "10.10.10.1", protocol="IAX2")]


def setup(db, tmp):
    run = run_module("vicidial_phones", dict(db_args(db), phones=ENTRIES))
    assert not run.failed, run
    fake = tmp / "asterisk-rx"
    fake.write_text(FAKE % {"dir": CAPTURED})
    fake.chmod(0o755)
    inv = tmp / "inventory"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"telephony": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "vicidial_server_ip": "10.10.10.1", "vicidial_phones_asterisk_command": str(fake),
        "vicidial_drift_asterisk_socket": str(tmp / "no-socket")}}}}))
    (inv / "group_vars" / "all" / "phones.yml").write_text(yaml.safe_dump(
        {"vicidial_phones_db": db_args(db), "vicidial_phones_entries": ENTRIES}))
    return inv


def drift(inv, tmp, check=False):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inv),
           "playbooks/drift.yml", "-e", json.dumps({"vicidial_drift_dir": str(tmp / "report")})]
    if check:
        cmd.append("--check")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False, cwd=REPO)


def test_no_drift_then_drift_is_reported_and_fails_the_play(vicidial_db, tmp_path):
    db = vicidial_db
    inv = setup(db, tmp_path)
    before = db.checksum()
    clean = drift(inv, tmp_path, check=True)  # the report is written in check mode too
    assert clean.returncode == 0, clean.stdout + clean.stderr
    report = json.loads((tmp_path / "report" / "drift.json").read_text())
    assert report["drift"] is False
    assert report["asterisk"]["registered"] == 1
    assert [u["phone"] for u in report["asterisk"]["unregistered"]] == ["8003@10.10.10.1", "8005@10.10.10.1"]
    assert (tmp_path / "report" / "drift.md").read_text().startswith("## Phones drift\n\n**No drift**")

    # What the web screen and a stray row do behind the inventory's back.
    db.query("UPDATE phones SET fullname='Renamed by hand', conf_secret=%s WHERE extension='8001'", (NEW_SECRET,))
    db.query("INSERT INTO phones (extension, server_ip, dialplan_number, voicemail_id, login, pass, conf_secret, "
             "status, active, protocol, template_id) VALUES ('8099', '10.10.10.1', '8099', '8099', 'stray', "
             "'StrayPass123', 'StraySecret12345', 'ACTIVE', 'Y', 'PJSIP', '')")
    before = db.checksum()
    dirty = drift(inv, tmp_path)
    assert dirty.returncode == 2, dirty.stdout + dirty.stderr
    assert "Drift: see" in dirty.stdout
    assert db.checksum() == before  # the report writes nothing to the database
    report = json.loads((tmp_path / "report" / "drift.json").read_text())
    markdown = (tmp_path / "report" / "drift.md").read_text()
    assert report["drift"] is True
    assert [p["phone"] for p in report["inventory"]["fields"]] == ["8001@10.10.10.1"]
    fields = dict((f["field"], f) for f in report["inventory"]["fields"][0]["fields"])
    assert fields["registration_password"] == {"field": "registration_password", "database": "changed"}
    assert fields["phone_full_name"] == {"field": "phone_full_name", "database": "Renamed by hand",
                                         "inventory": "Desk 8001"}
    assert [u["phone"] for u in report["inventory"]["undeclared"]] == ["8099@10.10.10.1"]
    assert "| 8001@10.10.10.1 | registration_password | `changed` |" in markdown
    assert "| 8099@10.10.10.1 | PJSIP | Y | `stray` | `8099` |" in markdown
    everything = dirty.stdout + dirty.stderr + markdown + json.dumps(report)
    for secret in (NEW_SECRET, SECRET_A, LOGIN_PW_A, "StrayPass123", "StraySecret12345"):
        assert secret not in everything
