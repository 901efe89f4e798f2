# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Would a phone ring today?  Private.

Two sources, used by vicidial_phone_info (readiness) and vicidial_phones_drift:

* the database alone: the server's flags and Asterisk version, the phone's
  protocol, and who writes the server's phone config;
* what one Asterisk has loaded and registered (``state()``, from the answers
  of ``_asterisk.live_answers``): per phone, loaded, registered, its contacts
  with status, round-trip time and user agent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.telephony.vicidial.plugins.module_utils import _asterisk
from ansible_collections.telephony.vicidial.plugins.module_utils._phones import fold

# chan_sip was removed in Asterisk 21.
NO_CHAN_SIP_FROM = (21,)
# Asterisk versions whose Zap channel driver the agent screen still dials as
# Zap/; on any other it dials DAHDI/, and nothing VICIdial or this collection
# writes configures a DAHDI channel for a phone row (vicidial.php).
ZAP_VERSIONS = ((1, 0), (1, 2), (1, 4, 1), (1, 4, 20), (1, 4, 21))
# Contact statuses of a registered device that answers (qualify), or is not qualified.
REACHABLE = ("Avail", "NonQual", "Unknown", "Created")
TABLES = {"PJSIP": "pjsip", "IAX2": "iax2", "SIP": "sip"}


def state(answers):
    """{command: answer} of one Asterisk -> {"version", "pjsip", "iax2"[, "sip"]}.

    PJSIP contacts carry uri, status, rtt and, from the registrar's store,
    user_agent and via_addr (the address the REGISTER came from).
    """
    endpoints = _asterisk.parse_endpoints(answers.get("pjsip show endpoints", ""))
    registered = dict(((c["aor"], c["uri"]), c)
                      for c in _asterisk.parse_registrar_contacts(answers.get("database show registrar/contact", "")))
    for endpoint in endpoints.values():
        for contact in endpoint["contacts"]:
            stored = {}
            for aor in endpoint["aors"]:
                stored = registered.get((aor, contact["uri"])) or stored
            contact["user_agent"] = stored.get("user_agent", "")
            contact["via_addr"] = stored.get("via_addr", "")
    version = _asterisk.parse_version(answers.get("core show version", ""))
    out = dict(pjsip=endpoints, iax2=_asterisk.parse_peer_table(answers.get("iax2 show peers", "")),
               version=".".join(str(p) for p in version) if version else "")
    if "sip show peers" in answers:
        out["sip"] = _asterisk.parse_peer_table(answers["sip show peers"])
    return out


def states_from_results(results, servers=None):
    """{server_ip: state()} from what a play hands over per server: vicidial_asterisk_info's results (already
    states), or the CLI's answers themselves. Failed or skipped results, and servers not in servers (when
    given), are left out: those servers were not asked."""
    states = {}
    for server_ip, result in (results or {}).items():
        if (servers is not None and server_ip not in servers) or not isinstance(result, dict) \
                or result.get("failed") or result.get("skipped"):
            continue
        if "pjsip" in result:
            states[server_ip] = result
        elif "pjsip show endpoints" in result:
            states[server_ip] = state(result)
    return states


def live(asterisk, protocol, extension):
    """What one Asterisk (a state()) knows of one phone.

    {"loaded", "registered", "contacts": [{"uri", "status", "rtt_ms", "user_agent"}]} or, where the
    protocol's channel driver is not loaded there, {"loaded": False, "registered": False, "contacts": [],
    "reason"}.
    """
    table = TABLES.get(protocol)
    if table is None:
        return None
    objects = asterisk.get(table)
    if objects is None:
        return dict(loaded=False, registered=False, contacts=[],
                    reason="chan_%s is not loaded on this Asterisk" % table)
    found = objects.get(extension)
    if found is None:  # VICIdial compares extensions without regard to case; Asterisk's names keep theirs
        found = next((v for n, v in objects.items() if fold(n) == fold(extension)), None)
    if found is None:
        return dict(loaded=False, registered=False, contacts=[])
    if protocol == "PJSIP":
        contacts = [dict(uri=c["uri"], status=c["status"], rtt_ms=c.get("rtt") or "",
                         user_agent=c.get("user_agent", "")) for c in found.get("contacts") or []]
        return dict(loaded=True, registered=any(c["status"] in REACHABLE for c in contacts), contacts=contacts,
                    state=found.get("state") or "")
    host = found.get("host") or ""
    contacts = [dict(uri=host, status=found.get("status") or "", rtt_ms=found.get("rtt") or "",
                     user_agent="")] if host else []
    return dict(loaded=True, registered=bool(host) and "UNREACHABLE" not in (found.get("status") or ""),
                contacts=contacts, state=found.get("status") or "")


def asterisk_version(server, asterisk=None):
    """(version tuple, where it was read): Asterisk's own answer when asked, else servers.asterisk_version."""
    if asterisk and asterisk.get("version"):
        return _asterisk.version_tuple(asterisk["version"]), "Asterisk"
    return _asterisk.version_tuple((server or {}).get("asterisk_version")), "servers.asterisk_version"


def rings(row, server, ansible_servers=None, asterisk=None):
    """Whether the phone would ring today, and if not why: {"ok", "reasons", "unsure"[, "asterisk"]}.

    ok is True, False (reasons say why) or None (nothing known stops it, and
    unsure says what could not be known).

    server: the phone's servers row (None when missing); ansible_servers: the
    servers whose phone config the role writes (None: unknown); asterisk: the
    state() of the phone's server, when it was asked.
    """
    reasons, unsure = [], []
    protocol = row.get("protocol") or ""
    server_ip = row.get("server_ip")
    if row.get("active") != "Y":
        reasons.append("the phone is not active (active='%s'): no config is written for it"
                       % (row.get("active") or ""))
    if server is None:
        reasons.append("its server %s is not in the servers table" % server_ip)
    else:
        if server.get("active_asterisk_server") != "Y":
            reasons.append("server %s has active_asterisk_server='%s': no phone config is generated there"
                           % (server_ip, server.get("active_asterisk_server") or ""))
        version, source = asterisk_version(server, asterisk)
        shown = ".".join(str(p) for p in version) if version else ""
        if protocol == "SIP" and version and version[:1] >= NO_CHAN_SIP_FROM:
            reasons.append("protocol SIP on Asterisk %s (%s): chan_sip was removed in Asterisk 21; "
                           "use PJSIP" % (shown, source))
        if protocol == "Zap" and version and not any(version[:len(v)] == v for v in ZAP_VERSIONS):
            reasons.append("protocol Zap on Asterisk %s (%s): the agent screen dials DAHDI/%s, and no config "
                           "is written for a Zap phone" % (shown, source, row.get("extension")))
        writes = server.get("generate_vicidial_conf") == "Y" or (
            ansible_servers is not None and server_ip in ansible_servers)
        if protocol in TABLES and not writes and asterisk is None:
            why = "server %s has generate_vicidial_conf='%s'" % (server_ip, server.get("generate_vicidial_conf") or "")
            if ansible_servers is not None:
                reasons.append("no config writer: %s and the role does not write its phone config" % why)
            else:
                unsure.append("%s: VICIdial's generator writes nothing there, and whether the role does is not "
                              "known (ansible_config_servers)" % why)
    out = dict(ok=False, reasons=reasons, unsure=unsure)
    if asterisk is not None and protocol in TABLES:
        seen = live(asterisk, protocol, row.get("extension"))
        out["asterisk"] = seen
        if not seen["loaded"]:
            reasons.append("Asterisk on %s has not loaded %s %s%s" % (
                server_ip, protocol, row.get("extension"), ": " + seen["reason"] if seen.get("reason") else ""))
        elif not seen["registered"]:
            reasons.append("loaded by Asterisk on %s but no device is registered%s" % (
                server_ip, " (contact %s is %s)" % (seen["contacts"][0]["uri"], seen["contacts"][0]["status"])
                if seen["contacts"] else ""))
    # None: nothing known stops it, but not everything could be known.
    out["ok"] = False if reasons else (None if unsure else True)
    return out
