# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift between the inventory, VICIdial's database and what each Asterisk has loaded. Private.

Three sources, for every phone:

* inventory vs database: the planner of vicidial_phones, run without
  writing, says which fields an apply would change; the report shows what the
  database holds now (a secret only as "changed", secrets inside
  conf_override masked);
* database vs inventory: rows on the reported servers that no entry declares;
* database vs Asterisk: endpoints and IAX2/SIP peers that no active row of
  that protocol on that server explains (VICIdial's own IAX peers and trunks,
  and names matching ignore patterns, aside), and active declared phones that
  Asterisk has not loaded or that have not registered.

A phone that is loaded but not registered (a device switched off) is
reported, and is drift only when asked (fail_on_unregistered).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.telephony.vicidial.plugins.module_utils import _model as model
from ansible_collections.telephony.vicidial.plugins.module_utils import _phones, _readiness
from ansible_collections.telephony.vicidial.plugins.module_utils._db import query

# Peers VICIdial's generator writes for every server (iax-vicidial.conf).
VICIDIAL_PEERS = ("ASTloop", "ASTblind", "ASTplay", "ASTloop2")
CHANGED = "changed"


def shown_value(column_name, value):
    """A database value as the report shows it."""
    if column_name in model.SECRET_COLUMNS:
        return "(set)" if model.comparable(value) else "(empty)"
    return _phones.shown(column_name, model.comparable(value))


def inventory_drift(plan, ctx, declared_keys, servers, errors):
    """The inventory/database part: per phone, differing fields; missing, unwanted and undeclared rows."""
    phones, missing, unwanted = [], [], []
    for change in sorted(plan.changes, key=lambda c: c.label):
        if change.action == "update":
            fields = []
            for name in change.fields:
                column = model.BY_COLUMN[name]
                item = dict(field=column.option)
                if column.secret:
                    item["database"] = CHANGED
                else:
                    item["database"] = shown_value(name, change.before.get(name))
                    item["inventory"] = _phones.shown(name, model.comparable(change.values[name]))
                fields.append(item)
            phones.append(dict(phone=change.label, fields=fields))
        elif change.action == "create":
            missing.append(change.label)
        else:
            unwanted.append(change.label)
    undeclared = []
    for key in sorted(ctx["rows"], key=lambda k: (k[1], k[0])):
        row = ctx["rows"][key]
        if row["server_ip"] in servers and _phones.fkey(row["extension"], row["server_ip"]) not in declared_keys:
            undeclared.append(dict(phone=model.phone_id(row["extension"], row["server_ip"]),
                                   protocol=row.get("protocol"), active=row.get("active"),
                                   login=row.get("login"), dialplan_number=row.get("dialplan_number")))
    return dict(fields=phones, missing=missing, declared_absent=unwanted, undeclared=undeclared,
                inventory_problems=[str(e) for e in errors])


def _ignored(name, patterns):
    return any(re.search(p, name) for p in patterns)


def asterisk_drift(rows, declared_keys, states, server_ids, ignore=()):
    """The database/Asterisk part, for the servers in states ({server_ip: _readiness.state()})."""
    unexplained, not_loaded, unregistered, registered = [], [], [], []
    for server_ip in sorted(states):
        state = states[server_ip] or {}
        active = dict(((r["protocol"], _phones.fold(r["extension"])), r) for r in rows
                      if r["server_ip"] == server_ip and r.get("active") == "Y")
        ignore_all = list(ignore) + ["^%s$" % re.escape(n) for n in VICIDIAL_PEERS + tuple(server_ids)]
        for protocol, table in (("PJSIP", "pjsip"), ("IAX2", "iax2"), ("SIP", "sip")):
            for name in sorted(state.get(table) or {}):
                if (protocol, _phones.fold(name)) in active or _ignored(name, ignore_all):
                    continue
                other = [p for p in ("PJSIP", "IAX2", "SIP") if (p, _phones.fold(name)) in active]
                why = ("the active row of that extension is %s" % other[0] if other else
                       "no active phone row on this server has this extension")
                unexplained.append(dict(server_ip=server_ip, name=name, protocol=protocol, reason=why))
        for (protocol, _folded), row in sorted(active.items(), key=lambda i: i[0]):
            key = _phones.fkey(row["extension"], row["server_ip"])
            label = model.phone_id(row["extension"], row["server_ip"])
            seen = _readiness.live(state, protocol, row["extension"])
            if key not in declared_keys or seen is None:
                continue
            if not seen["loaded"]:
                not_loaded.append(dict(phone=label, protocol=protocol, reason=seen.get("reason") or (
                    "Asterisk has no such %s %s" % (protocol, "endpoint" if protocol == "PJSIP" else "peer"))))
                continue
            found = dict(phone=label, protocol=protocol, asterisk=seen["state"], contacts=seen["contacts"])
            if seen["registered"]:
                registered.append(found)
            else:
                # What VICIdial last recorded, for a device Asterisk no longer knows.
                found.update(phone_ip=row.get("phone_ip") or "", peer_status=row.get("peer_status") or "")
                unregistered.append(found)
    return dict(unexplained=unexplained, not_loaded=not_loaded, unregistered=unregistered,
                registered=len(registered), registered_phones=registered)


def is_drift(report, fail_on_unregistered=False):
    inv, ast = report["inventory"], report["asterisk"]
    found = bool(inv["fields"] or inv["missing"] or inv["declared_absent"] or inv["undeclared"]
                 or inv["inventory_problems"] or ast["unexplained"] or ast["not_loaded"])
    return found or bool(fail_on_unregistered and ast["unregistered"])


def _cell(value):
    text = str(value if value is not None else "")
    text = text.replace("|", "\\|").replace("\r", "\\r").replace("\n", "<br>")
    return "`%s`" % text if text else "(empty)"


def markdown(report, title="Phones drift"):
    """The report as Markdown, fit for a pull request comment."""
    inv, ast = report["inventory"], report["asterisk"]
    out = ["## %s" % title, ""]
    out.append("**%s**: %d phone(s) differ, %d missing, %d declared absent but present, %d undeclared, "
               "%d unexplained Asterisk endpoint(s), %d not loaded, %d not registered (%d registered)." % (
                   "Drift" if report["drift"] else "No drift", len(inv["fields"]), len(inv["missing"]),
                   len(inv["declared_absent"]), len(inv["undeclared"]), len(ast["unexplained"]),
                   len(ast["not_loaded"]), len(ast["unregistered"]), ast["registered"]))
    out.append("")
    if inv["inventory_problems"]:
        out += ["### Inventory problems", ""] + ["- %s" % p for p in inv["inventory_problems"]] + [""]
    if inv["fields"]:
        out += ["### Fields that differ (inventory vs database)", "",
                "| phone | field | database now | inventory |", "| --- | --- | --- | --- |"]
        for phone in inv["fields"]:
            for item in phone["fields"]:
                out.append("| %s | %s | %s | %s |" % (phone["phone"], item["field"], _cell(item["database"]),
                                                      _cell(item.get("inventory", CHANGED))))
        out.append("")
    if inv["missing"]:
        out += ["### Declared, not in the database", ""] + ["- %s" % p for p in inv["missing"]] + [""]
    if inv["declared_absent"]:
        out += ["### Declared absent, still in the database", ""] + ["- %s" % p for p in inv["declared_absent"]]
        out.append("")
    if inv["undeclared"]:
        out += ["### In the database, declared by no entry", "",
                "| phone | protocol | active | login | dial plan number |", "| --- | --- | --- | --- | --- |"]
        for p in inv["undeclared"]:
            cells = (p["phone"], p["protocol"], p["active"], _cell(p["login"]), _cell(p["dialplan_number"]))
            out.append("| %s | %s | %s | %s | %s |" % cells)
        out.append("")
    if ast["unexplained"]:
        out += ["### Loaded by Asterisk, explained by no phone row", "",
                "| server | name | protocol | why |", "| --- | --- | --- | --- |"]
        out += ["| %s | %s | %s | %s |" % (e["server_ip"], _cell(e["name"]), e["protocol"], e["reason"])
                for e in ast["unexplained"]]
        out.append("")
    if ast["not_loaded"]:
        out += ["### Declared and active, not loaded by Asterisk", ""]
        out += ["- %s (%s): %s" % (p["phone"], p["protocol"], p["reason"]) for p in ast["not_loaded"]] + [""]
    if ast["unregistered"]:
        out += ["### Declared and loaded, not registered", "",
                "| phone | protocol | Asterisk says | last contact (Asterisk) | user agent | last IP (database) "
                "| last status (database) |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for p in ast["unregistered"]:
            contact = (p["contacts"] or [{}])[0]
            cells = (p["phone"], p["protocol"], _cell(p["asterisk"]),
                     _cell(" ".join(x for x in (contact.get("uri", ""), contact.get("status", "")) if x)),
                     _cell(contact.get("user_agent")), _cell(p["phone_ip"]), _cell(p["peer_status"]))
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % cells)
        out.append("")
    if ast.get("registered_phones"):
        out += ["<details><summary>Registered (%d)</summary>" % len(ast["registered_phones"]), "",
                "| phone | protocol | contact | status | RTT (ms) | user agent |",
                "| --- | --- | --- | --- | --- | --- |"]
        for p in ast["registered_phones"]:
            for contact in p["contacts"]:
                cells = (p["phone"], p["protocol"], _cell(contact["uri"]), _cell(contact["status"]),
                         _cell(contact["rtt_ms"]), _cell(contact["user_agent"]))
                out.append("| %s | %s | %s | %s | %s | %s |" % cells)
        out += ["", "</details>", ""]
    if report.get("servers_not_asked"):
        out += ["Asterisk was not asked on: %s." % ", ".join(report["servers_not_asked"]), ""]
    return "\n".join(out)


def build(conn, entries, defaults, servers, states, ignore=(), fail_on_unregistered=False):
    """The whole report. entries: the inventory's phone entries (with secrets: compared, never shown)."""
    parsed, errors = _phones.parse_all(entries, defaults)
    server_ips = set(servers) | set(values["server_ip"] for _l, _s, values in parsed)
    ctx = _phones.PhonePlan.read_context(conn, server_ips)
    plan = _phones.PhonePlan(dict(defaults=defaults, allow_weak_passwords=True))
    errors.extend(plan.build(parsed, ctx))
    declared = set(_phones.fkey(v["extension"], v["server_ip"]) for _l, s, v in parsed if s == "present")
    inventory = inventory_drift(plan, ctx, declared, set(servers), errors)
    rows = [r for r in ctx["rows"].values() if r["server_ip"] in servers]
    server_ids = [s.get("server_id") or "" for s in ctx["servers"].values()]
    server_ids += _carrier_sections(conn)
    asked = _readiness.states_from_results(states, servers)
    report = dict(inventory=inventory, asterisk=asterisk_drift(rows, declared, asked, server_ids, ignore),
                  servers=sorted(servers), servers_not_asked=sorted(set(servers) - set(asked)))
    report["drift"] = is_drift(report, fail_on_unregistered)
    return report


def _carrier_sections(conn):
    """Section names of VICIdial's carriers (they are peers and endpoints, not phones)."""
    try:
        rows = query(conn, "SELECT account_entry FROM vicidial_server_carriers")
    except Exception:  # the table is not in every schema
        return []
    names = []
    for row in rows:
        names.extend(re.findall(r"^\s*\[([^\]]+)\]", row.get("account_entry") or "", re.M))
    return names
