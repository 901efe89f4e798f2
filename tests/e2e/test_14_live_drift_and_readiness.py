"""The drift report and phone readiness against the lab's real Asterisk 22, with a phone registered.

playbooks/drift.yml asks each Asterisk (vicidial_asterisk_info) and compares; vicidial_phone_info,
run on each telephony server, asks its Asterisk whether each phone would ring. A stdlib SIP phone
(tests/e2e/sip_call.py, User-Agent vicie2e-phone/1.0) registers and answers Asterisk's qualify, so the
contact, its round-trip time and the user agent come from Asterisk itself.
"""

import json
import os
import tempfile
import time

import e2e_lab as lab
import sip_call

WAIT = 60.0
LIVE = "8411"  # registered during the test
SIP_ROW = "8491"  # a SIP row typed into the web screen: chan_sip is gone on Asterisk 22


def _wait(what, predicate, seconds=WAIT):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def _drift(entries, report_dir, **extra):
    extra_vars = dict(lab.entries_vars(entries), vicidial_drift_dir=report_dir, **extra)
    run = lab.playbook([extra_vars], playbook_path="playbooks/drift.yml")
    with open(os.path.join(report_dir, "drift.json")) as handle:
        report = json.load(handle)
    with open(os.path.join(report_dir, "drift.md")) as handle:
        return run, report, handle.read()


def _readiness():
    run = lab.playbook(playbook_path="tests/e2e/playbooks/readiness.yml")
    assert run.rc == 0, run.explain()
    phones = {}
    for rec in run.task_results("Readiness of this server's phones", status="ok"):
        for item in rec["result"]["phones"]:
            phones[item["extension"]] = item
    return phones


def _avail(extension):
    out = lab.asterisk(lab.AST1, "pjsip show contacts")
    return any(line.split()[1].startswith(extension + "/") and " Avail " in line
               for line in out.splitlines() if line.strip().startswith("Contact:") and "<" not in line)


def test_live_drift_report_and_readiness_name_the_registered_device(known_state):
    entry = lab.phone(LIVE, lab.AST1_IP)
    entries = lab.lab_entries() + [entry]
    run = lab.playbook([lab.entries_vars(entries)])
    assert run.rc == 0, run.explain()
    phone = sip_call.Phone(LIVE, entry["registration_password"], lab.AST1_IP)
    report_dir = tempfile.mkdtemp(prefix="vicie2e-drift-")
    try:
        phone.register()
        _wait("Asterisk to qualify the registered phone (Avail)", lambda: _avail(LIVE))

        run, report, markdown = _drift(entries, report_dir)
        assert run.rc == 0, run.explain()  # registered or not, nothing differs: no drift
        assert report["drift"] is False and report["servers_not_asked"] == []
        live = [p for p in report["asterisk"]["registered_phones"] if p["phone"] == "%s@%s" % (LIVE, lab.AST1_IP)]
        assert len(live) == 1, report["asterisk"]
        contact = live[0]["contacts"][0]
        assert contact["user_agent"] == sip_call.USER_AGENT and contact["status"] == "Avail"
        assert contact["uri"].endswith("%s:%d" % (phone.local_ip, phone.port)) and float(contact["rtt_ms"]) >= 0
        assert "`%s`" % sip_call.USER_AGENT in markdown
        # The lab's own PJSIP phones are loaded and nobody registered them: reported, not drift.
        unregistered = [p["phone"] for p in report["asterisk"]["unregistered"]]
        assert "8001@%s" % lab.AST1_IP in unregistered and "%s@%s" % (LIVE, lab.AST1_IP) not in unregistered

        # A SIP row typed into the web screen, and the server's version as VICIdial recorded it years ago.
        lab.insert_phones([lab.raw_phone(SIP_ROW, lab.AST1_IP, protocol="SIP")])
        lab.sql("UPDATE servers SET asterisk_version='16.30.0-vici' WHERE server_ip=%s", (lab.AST1_IP,))
        phones = _readiness()
        ready = phones[LIVE]["rings"]
        assert ready["ok"] is True, ready
        assert ready["asterisk"]["registered"] is True
        assert ready["asterisk"]["contacts"][0]["user_agent"] == sip_call.USER_AGENT
        sip = phones[SIP_ROW]["rings"]
        # Asterisk's own answer (22), not the stale servers row (16), decides: chan_sip is gone.
        assert sip["ok"] is False and sip["reasons"][0].startswith("protocol SIP on Asterisk 22."), sip
        assert "chan_sip is not loaded" in sip["reasons"][1], sip
        idle = phones["8001"]["rings"]
        assert idle["ok"] is False and len(idle["reasons"]) == 1, idle
        assert idle["reasons"][0].startswith("loaded by Asterisk on %s but no device is registered" % lab.AST1_IP)

        # The device goes away: a scheduled drift job that counts unregistered phones fails and names it.
        phone.unregister()
        _wait("Asterisk to drop the contact", lambda: not _avail(LIVE))
        run, report, markdown = _drift(entries, report_dir, vicidial_drift_fail_on_unregistered=True)
        assert run.rc != 0 and "Drift: see" in run.stdout, run.explain()
        assert "%s@%s" % (LIVE, lab.AST1_IP) in [p["phone"] for p in report["asterisk"]["unregistered"]]
        # The SIP row is in the database, declared by no entry.
        assert "%s@%s" % (SIP_ROW, lab.AST1_IP) in [p["phone"] for p in report["inventory"]["undeclared"]]
    finally:
        phone.close()
