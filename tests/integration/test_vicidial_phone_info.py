"""vicidial_phone_info's readiness (would the phone ring?) against a real MariaDB, and with Asterisk's answers.

The Asterisk part here is Asterisk 22.10.1's captured answers behind a fake ``asterisk -rx`` (the
lab's real Asterisk is asked in tests/e2e/test_14_live_drift_and_readiness.py).
"""

import os
import stat

from ansible_run import SECRET_A, db_args, phone_entry, run_module
from ansible_run import apply_phones as apply

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURED = os.path.join(REPO, "tests", "unit", "module_utils", "asterisk22")
FAKE = """#!/bin/sh
case "$2" in
  "core show version") cat "%(dir)s/core_show_version.txt" ;;
  "pjsip show endpoints") cat "%(dir)s/pjsip_show_endpoints_registered.txt" ;;
  "database show registrar/contact") cat "%(dir)s/database_show_registrar_contact.txt" ;;
  "iax2 show peers") cat "%(dir)s/iax2_show_peers.txt" ;;
  "module show like chan_sip.so") cat "%(dir)s/module_show_chan_sip.txt" ;;
  *) echo "No such command '$2'"; exit 1 ;;
esac
"""


def fake_asterisk(tmp_path, body=FAKE):
    path = tmp_path / "asterisk-rx"
    path.write_text(body % {"dir": CAPTURED})
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def by_extension(run):
    assert not run.failed, run
    return dict((p["extension"], p) for p in run.result["phones"])


def test_the_database_says_which_phones_can_never_ring(vicidial_db):
    db = vicidial_db
    assert not apply(db, [phone_entry("8001", "10.10.10.1"), phone_entry("8002", "10.10.10.2"),
                          phone_entry("8003", "10.10.10.3")]).failed
    # Rows as years of the web screen leave them: SIP and Zap phones, and the servers' recorded versions.
    db.query("INSERT INTO phones (extension, server_ip, dialplan_number, voicemail_id, login, pass, conf_secret, "
             "status, active, protocol, template_id) VALUES ('8091', '10.10.10.1', '8091', '8091', 'sip8091', "
             "'test', 'test', 'ACTIVE', 'Y', 'SIP', ''), ('25-1', '10.10.10.1', '251', '251', 'zap251', 'test', "
             "'', 'ACTIVE', 'Y', 'Zap', '')")
    db.query("UPDATE servers SET asterisk_version='22.10.1' WHERE server_ip='10.10.10.1'")
    db.query("UPDATE servers SET asterisk_version='18.20.0-vici', active_asterisk_server='N' "
             "WHERE server_ip='10.10.10.2'")

    phones = by_extension(run_module("vicidial_phone_info", dict(db_args(db), ansible_config_servers=[])))
    assert phones["8001"]["rings"] == dict(ok=True, reasons=[], unsure=[])
    assert phones["8091"]["rings"]["reasons"] == [
        "protocol SIP on Asterisk 22.10.1 (servers.asterisk_version): chan_sip was removed in Asterisk 21; "
        "use PJSIP"]
    assert phones["25-1"]["rings"]["ok"] is False and "dials DAHDI/25-1" in phones["25-1"]["rings"]["reasons"][0]
    assert phones["8002"]["rings"]["reasons"] == [
        "server 10.10.10.2 has active_asterisk_server='N': no phone config is generated there"]
    assert phones["8003"]["rings"]["reasons"] == [
        "no config writer: server 10.10.10.3 has generate_vicidial_conf='N' and the role does not write its "
        "phone config"]
    # A login that works is not a phone that rings: agent_login and rings are separate answers.
    assert phones["8091"]["agent_login"]["ok"] is True

    # The role writes 10.10.10.3's config: that phone rings. Not told: not known.
    told = by_extension(run_module("vicidial_phone_info", dict(db_args(db), ansible_config_servers=["10.10.10.3"])))
    assert told["8003"]["rings"] == dict(ok=True, reasons=[], unsure=[])
    untold = by_extension(run_module("vicidial_phone_info", db_args(db)))
    assert untold["8003"]["rings"]["ok"] is None and untold["8003"]["rings"]["reasons"] == []
    assert "ansible_config_servers" in untold["8003"]["rings"]["unsure"][0]


def test_asterisk_adds_loaded_registered_contact_and_user_agent(vicidial_db, tmp_path):
    db = vicidial_db
    assert not apply(db, [phone_entry("8001", "10.10.10.1"), phone_entry("8005", "10.10.10.1"),
                          phone_entry("8009", "10.10.10.1")]).failed
    asterisk = fake_asterisk(tmp_path)
    args = dict(db_args(db), asterisk_server_ip="10.10.10.1", asterisk_command=asterisk,
                asterisk_socket=str(tmp_path / "no-socket"))
    run = run_module("vicidial_phone_info", args)
    phones = by_extension(run)
    assert phones["8005"]["rings"] == dict(ok=True, reasons=[], unsure=[], asterisk=dict(
        loaded=True, registered=True, state="Not in use", contacts=[dict(
            uri="sip:8005@10.89.20.1:53090", status="Avail", rtt_ms="2.322", user_agent="vicilab-sipreg/1.0")]))
    assert phones["8001"]["rings"]["ok"] is False and phones["8001"]["rings"]["reasons"] == [
        "loaded by Asterisk on 10.10.10.1 but no device is registered (contact sip:8001@10.89.20.1:54081 is "
        "Unavail)"]
    assert phones["8009"]["rings"]["reasons"] == ["Asterisk on 10.10.10.1 has not loaded PJSIP 8009"]
    assert SECRET_A not in run.stdout

    # The same answers handed over as vicidial_asterisk_info's result (the database host asks no Asterisk).
    info = run_module("vicidial_asterisk_info", dict(asterisk_command=asterisk,
                                                     asterisk_socket=str(tmp_path / "no-socket")))
    assert not info.failed, info
    assert info.result["version"] == "22.10.1"
    assert info.result["pjsip"]["8005"]["contacts"][0]["user_agent"] == "vicilab-sipreg/1.0"
    handed = by_extension(run_module("vicidial_phone_info", dict(db_args(db), asterisk={"10.10.10.1": info.result})))
    assert handed["8005"]["rings"] == phones["8005"]["rings"]

    # Asterisk down: the phones of that server would not ring, and the reason says why.
    down = fake_asterisk(tmp_path, "#!/bin/sh\necho 'Unable to connect to remote asterisk (does "
                                   "/var/run/asterisk/asterisk.ctl exist?)'\nexit 1\n")
    phones = by_extension(run_module("vicidial_phone_info", dict(args, asterisk_command=down)))
    assert phones["8005"]["rings"]["ok"] is False
    assert phones["8005"]["rings"]["reasons"][0].startswith("Asterisk on 10.10.10.1 could not be asked: ")
