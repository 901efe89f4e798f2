# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Would a phone ring today: the database's rules, and what a live Asterisk 22 (captured answers) adds."""

import os

from ansible_collections.telephony.vicidial.plugins.module_utils import _readiness

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "asterisk22")


def captured(name):
    with open(os.path.join(HERE, name)) as handle:
        return handle.read()


def row(ext="8001", protocol="PJSIP", **cols):
    values = dict(extension=ext, server_ip="10.0.0.11", protocol=protocol, active="Y")
    values.update(cols)
    return values


def server(**cols):
    values = dict(server_ip="10.0.0.11", active_asterisk_server="Y", generate_vicidial_conf="Y",
                  asterisk_version="22.10.1")
    values.update(cols)
    return values


def live_state():
    return _readiness.state({
        "core show version": captured("core_show_version.txt"),
        "pjsip show endpoints": captured("pjsip_show_endpoints_registered.txt"),
        "database show registrar/contact": captured("database_show_registrar_contact.txt"),
        "iax2 show peers": captured("iax2_show_peers.txt")})


def test_a_pjsip_phone_on_a_generating_server_rings():
    assert _readiness.rings(row(), server()) == dict(ok=True, reasons=[], unsure=[])


def test_every_reason_a_phone_can_never_ring():
    inactive = _readiness.rings(row(active="N"), server())
    assert inactive["ok"] is False and "not active" in inactive["reasons"][0]
    idle = _readiness.rings(row(), server(active_asterisk_server="N"))
    assert idle["reasons"] == ["server 10.0.0.11 has active_asterisk_server='N': no phone config is generated there"]
    sip = _readiness.rings(row(protocol="SIP"), server())
    assert sip["ok"] is False and sip["reasons"] == [
        "protocol SIP on Asterisk 22.10.1 (servers.asterisk_version): chan_sip was removed in Asterisk 21; use PJSIP"]
    assert _readiness.rings(row(protocol="SIP"), server(asterisk_version="18.20.0-vici"))["ok"] is True
    zap = _readiness.rings(row("25-1", protocol="Zap"), server())
    assert zap["ok"] is False and "dials DAHDI/25-1" in zap["reasons"][0]
    assert _readiness.rings(row("25-1", protocol="Zap"), server(asterisk_version="1.4.21.2"))["ok"] is True
    missing = _readiness.rings(row(), None)
    assert missing["reasons"] == ["its server 10.0.0.11 is not in the servers table"]


def test_no_config_writer_is_a_reason_when_known_and_unsure_when_not():
    off = server(generate_vicidial_conf="N")
    nobody = _readiness.rings(row(), off, ansible_servers=["10.0.0.12"])
    assert nobody["ok"] is False and nobody["reasons"][0].startswith("no config writer: server 10.0.0.11")
    assert _readiness.rings(row(), off, ansible_servers=["10.0.0.11"]) == dict(ok=True, reasons=[], unsure=[])
    unknown = _readiness.rings(row(), off)
    assert unknown["ok"] is None and unknown["reasons"] == [] and "ansible_config_servers" in unknown["unsure"][0]
    # EXTERNAL and Zap phones get no peer from any writer: the writer does not matter for them.
    assert _readiness.rings(row(protocol="EXTERNAL"), off, ansible_servers=[])["ok"] is True


def test_what_a_live_asterisk_adds():
    state = live_state()
    assert state["version"] == "22.10.1"
    registered = _readiness.rings(row("8005"), server(generate_vicidial_conf="N"), asterisk=state)
    assert registered["ok"] is True
    assert registered["asterisk"] == dict(loaded=True, registered=True, state="Not in use", contacts=[dict(
        uri="sip:8005@10.89.20.1:53090", status="Avail", rtt_ms="2.322", user_agent="vicilab-sipreg/1.0")])
    gone = _readiness.rings(row("8001"), server(), asterisk=state)
    assert gone["ok"] is False and gone["asterisk"]["registered"] is False
    assert gone["reasons"] == ["loaded by Asterisk on 10.0.0.11 but no device is registered "
                               "(contact sip:8001@10.89.20.1:54081 is Unavail)"]
    absent = _readiness.rings(row("8009"), server(), asterisk=state)
    assert absent["reasons"] == ["Asterisk on 10.0.0.11 has not loaded PJSIP 8009"]
    iax = _readiness.rings(row("8003", protocol="IAX2"), server(), asterisk=state)
    assert iax["asterisk"]["loaded"] is True and iax["asterisk"]["registered"] is False
    # Asterisk's own version wins over the servers table's (which says 18 here): SIP cannot ring on 22.
    sip = _readiness.rings(row("8001", protocol="SIP"), server(asterisk_version="18.20.0"), asterisk=state)
    assert sip["reasons"] == [
        "protocol SIP on Asterisk 22.10.1 (Asterisk): chan_sip was removed in Asterisk 21; use PJSIP",
        "Asterisk on 10.0.0.11 has not loaded SIP 8001: chan_sip is not loaded on this Asterisk"]
