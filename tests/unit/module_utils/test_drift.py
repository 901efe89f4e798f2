# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift report's comparisons, on hand-made database state and Asterisk 22's captured answers."""

import json
import os

from ansible_collections.telephony.vicidial.plugins.module_utils import _asterisk, _drift, _readiness
from ansible_collections.telephony.vicidial.plugins.module_utils._phones import PhonePlan, fkey, parse_all

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "asterisk22")
SECRET = "RegSecret-8001-abcd"
NEW_SECRET = "RegSecret-8001-NEW1"


def captured(name):
    with open(os.path.join(HERE, name)) as handle:
        return handle.read()


def row(ext, ip="10.89.20.11", **cols):
    values = dict(extension=ext, server_ip=ip, protocol="PJSIP", dialplan_number=ext, voicemail_id=ext,
                  login="L" + ext, conf_secret="RegSecret-%s-abcd" % ext, fullname="Desk " + ext, active="Y",
                  status="ACTIVE", template_id="", phone_ip="192.0.2.%s" % ext[-1], peer_status="UNREACHABLE",
                  conf_override="")
    values["pass"] = "LoginPw" + ext
    values.update(cols)
    return values


def entry(ext, ip="10.89.20.11", **opts):
    values = dict(extension=ext, server_ip=ip, protocol="PJSIP", dialplan_number=ext, voicemail_id=ext,
                  phone_login="L" + ext, phone_pass="LoginPw" + ext, registration_password="RegSecret-%s-abcd" % ext,
                  phone_full_name="Desk " + ext)
    values.update(opts)
    return values


def ctx_of(rows):
    servers = {"10.89.20.11": dict(server_id="ast1", server_ip="10.89.20.11", asterisk_version="22.10.1",
                                   active_asterisk_server="Y", generate_vicidial_conf="Y",
                                   active_agent_login_server="Y")}
    return dict(servers=servers, settings={"allowed_sip_stacks": "PJSIP"}, templates=set(), template_contents={},
                voicemail_ids=set(), alias_ids=set(),
                logins=[dict(extension=r["extension"], server_ip=r["server_ip"], login=r["login"]) for r in rows],
                rows=dict(((r["extension"], r["server_ip"]), r) for r in rows))


def report_for(entries, rows, states):
    parsed, errors = parse_all(entries, None)
    ctx = ctx_of(rows)
    plan = PhonePlan(dict(allow_weak_passwords=True))
    errors.extend(plan.build(parsed, ctx))
    declared = set(fkey(v["extension"], v["server_ip"]) for _l, s, v in parsed if s == "present")
    servers = {"10.89.20.11"}
    report = dict(inventory=_drift.inventory_drift(plan, ctx, declared, servers, errors),
                  asterisk=_drift.asterisk_drift(list(ctx["rows"].values()), declared, states, ["ast1"]),
                  servers_not_asked=[])
    report["drift"] = _drift.is_drift(report)
    return report


def captured_state():
    return _readiness.state({"pjsip show endpoints": captured("pjsip_show_endpoints.txt"),
                             "iax2 show peers": captured("iax2_show_peers.txt")})


def test_iax2_peer_rows_say_who_registered():
    assert _asterisk.parse_peer_table(captured("iax2_show_peers.txt")) == {
        "8003": {"host": "", "status": "UNKNOWN", "rtt": ""}}
    assert _asterisk.parse_peer_table(captured("iax2_show_peers_empty.txt")) == {}
    online = ("Name/Username    Host                 Mask             Port          Status      Description\n"
              "8004/8004        10.89.20.1      (D)  255.255.255.255  4569    (E)  OK (3 ms)\n"
              "ASTloop          127.0.0.1       (S)  255.255.255.255  40569        Unmonitored\n"
              "2 iax2 peers [1 online, 0 offline, 1 unmonitored]\n")
    assert _asterisk.parse_peer_table(online) == {
        "8004": {"host": "10.89.20.1", "status": "OK (3 ms)", "rtt": "3"},
        "ASTloop": {"host": "127.0.0.1", "status": "Unmonitored", "rtt": ""}}


def test_no_drift_when_all_three_agree():
    rows = [row("8001"), row("8005"), row("8003", protocol="IAX2")]
    entries = [entry("8001"), entry("8005"), entry("8003", protocol="IAX2")]
    report = report_for(entries, rows, {"10.89.20.11": captured_state()})
    assert report["inventory"] == dict(fields=[], missing=[], declared_absent=[], undeclared=[],
                                       inventory_problems=[])
    assert report["asterisk"]["unexplained"] == [] and report["asterisk"]["not_loaded"] == []
    assert report["asterisk"]["registered"] == 1  # 8001 has a contact (Avail, 1.414 ms)
    assert report["asterisk"]["registered_phones"] == [dict(
        phone="8001@10.89.20.11", protocol="PJSIP", asterisk="Not in use", contacts=[dict(
            uri="sip:8001@10.89.20.1:46336", status="Avail", rtt_ms="1.414", user_agent="")])]
    # 8005 (PJSIP, no contact) and 8003 (IAX2, host (null)) are loaded but not registered: reported, not drift.
    assert [(u["phone"], u["asterisk"], u["phone_ip"], u["peer_status"]) for u in report["asterisk"]["unregistered"]
            ] == [("8003@10.89.20.11", "UNKNOWN", "192.0.2.3", "UNREACHABLE"),
                  ("8005@10.89.20.11", "Unavailable", "192.0.2.5", "UNREACHABLE")]
    assert report["drift"] is False
    assert _drift.is_drift(report, fail_on_unregistered=True) is True


def test_field_differences_show_what_the_database_holds_and_a_secret_only_as_changed():
    rows = [row("8001", fullname="Edited in the web screen", conf_secret=NEW_SECRET,
                conf_override="type=wizard\ninbound_auth/password=%s" % NEW_SECRET), row("8005")]
    entries = [entry("8001", conf_override=""), entry("8005")]
    report = report_for(entries, rows, {"10.89.20.11": captured_state()})
    fields = report["inventory"]["fields"]
    assert [f["phone"] for f in fields] == ["8001@10.89.20.11"]
    by_field = dict((f["field"], f) for f in fields[0]["fields"])
    assert by_field["registration_password"] == {"field": "registration_password", "database": "changed"}
    assert by_field["phone_full_name"] == {"field": "phone_full_name", "database": "Edited in the web screen",
                                           "inventory": "Desk 8001"}
    assert by_field["conf_override"]["database"] == "type=wizard\ninbound_auth/password=********"
    text = json.dumps(report) + _drift.markdown(dict(report, servers=["10.89.20.11"]))
    assert NEW_SECRET not in text and SECRET not in text
    assert report["drift"] is True


def test_missing_undeclared_unexplained_and_not_loaded():
    rows = [row("8001"), row("8005", active="N"), row("8099")]
    # 8002 declared, not in the database; 8099 in the database, not declared; 8001 declared as IAX2 in the DB.
    entries = [entry("8001"), entry("8005", active=False), entry("8002")]
    rows.append(row("8003", protocol="IAX2", active="N"))
    entries.append(entry("8003", protocol="IAX2", active=False))
    state = captured_state()
    state["pjsip"]["trunk-east"] = {"state": "Not in use", "auths": [], "aors": [], "contacts": []}
    state["iax2"]["ASTloop"] = {"host": "127.0.0.1", "status": "Unmonitored", "rtt": ""}
    state["iax2"]["ast1"] = {"host": "10.89.20.12", "status": "OK (1 ms)", "rtt": "1"}
    report = report_for(entries, rows, {"10.89.20.11": state})
    inv, ast = report["inventory"], report["asterisk"]
    assert inv["missing"] == ["8002@10.89.20.11"]
    assert [u["phone"] for u in inv["undeclared"]] == ["8099@10.89.20.11"]
    # 8005 is loaded but its row is inactive; 8003 is inactive too; trunk-east is nobody's; VICIdial's own
    # ASTloop and the inter-server trunk ast1 are explained.
    assert sorted((e["name"], e["protocol"]) for e in ast["unexplained"]) == [
        ("8003", "IAX2"), ("8005", "PJSIP"), ("trunk-east", "PJSIP")]
    # 8099 is active in the database but undeclared: its absence from Asterisk is not this report's business.
    assert ast["not_loaded"] == []
    md = _drift.markdown(dict(report, servers=["10.89.20.11"]))
    assert "### In the database, declared by no entry" in md and "| 8099@10.89.20.11 | PJSIP |" in md
    assert "### Loaded by Asterisk, explained by no phone row" in md and "`trunk-east`" in md
    assert md.splitlines()[2].startswith("**Drift**")


def test_an_active_declared_phone_asterisk_lacks_is_not_loaded_and_sip_without_chan_sip_is_named():
    rows = [row("8001"), row("8007"), row("8008", protocol="SIP")]
    entries = [entry("8001"), entry("8007"), entry("8008", protocol="SIP")]
    report = report_for(entries, rows, {"10.89.20.11": captured_state()})
    assert report["asterisk"]["not_loaded"] == [
        {"phone": "8007@10.89.20.11", "protocol": "PJSIP", "reason": "Asterisk has no such PJSIP endpoint"},
        {"phone": "8008@10.89.20.11", "protocol": "SIP", "reason": "chan_sip is not loaded on this Asterisk"}]


def test_inventory_problems_are_reported_not_raised():
    rows = [row("8001")]
    report = report_for([entry("8001"), entry("8001"), {"extension": "x"}], rows, {})
    assert any("declared more than once" in p for p in report["inventory"]["inventory_problems"])
    assert any("server_ip: is required" in p for p in report["inventory"]["inventory_problems"])
    assert report["drift"] is True


def test_the_user_agent_and_contact_of_registered_and_of_no_longer_answering_phones():
    """Captured together: 8005 registered and answering; 8001's device left without unregistering."""
    state = _readiness.state({
        "pjsip show endpoints": captured("pjsip_show_endpoints_registered.txt"),
        "database show registrar/contact": captured("database_show_registrar_contact.txt"),
        "iax2 show peers": captured("iax2_show_peers_empty.txt"),
        "core show version": captured("core_show_version.txt")})
    report = report_for([entry("8001"), entry("8005")], [row("8001"), row("8005")], {"10.89.20.11": state})
    ast = report["asterisk"]
    assert ast["registered_phones"] == [dict(
        phone="8005@10.89.20.11", protocol="PJSIP", asterisk="Not in use", contacts=[dict(
            uri="sip:8005@10.89.20.1:53090", status="Avail", rtt_ms="2.322", user_agent="vicilab-sipreg/1.0")])]
    assert ast["unregistered"] == [dict(
        phone="8001@10.89.20.11", protocol="PJSIP", asterisk="Unavailable", phone_ip="192.0.2.1",
        peer_status="UNREACHABLE", contacts=[dict(uri="sip:8001@10.89.20.1:54081", status="Unavail",
                                                  rtt_ms="-nan", user_agent="vicilab-sipreg/1.0")])]
    md = _drift.markdown(dict(report, servers=["10.89.20.11"]))
    assert ("| 8001@10.89.20.11 | PJSIP | `Unavailable` | `sip:8001@10.89.20.1:54081 Unavail` "
            "| `vicilab-sipreg/1.0` | `192.0.2.1` | `UNREACHABLE` |") in md
    assert "| 8005@10.89.20.11 | PJSIP | `sip:8005@10.89.20.1:53090` | `Avail` | `2.322` | `vicilab-sipreg/1.0` |" in md
    assert report["drift"] is False and _drift.is_drift(report, fail_on_unregistered=True) is True
