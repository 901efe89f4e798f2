#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vicidial_phone_info
short_description: Read VICIdial phone entries; say whether an agent could log in with each and if it would ring
version_added: 0.1.0
description:
  - Reads rows of VICIdial's C(phones) table, filtered by server, extension, protocol and active flag.
  - Secrets are left out unless O(include_secrets) is set; the secrets inside C(conf_override) (C(secret=),
    C(inbound_auth/password=) and the like) are shown as C(********).
  - Logins and phone alias ids are compared without regard to case, as VICIdial's tables compare them.
  - For each entry, RV(phones[].agent_login) says whether an agent could log in with it today (entry active,
    its server accepting agent logins, login and password set, login not ambiguous) and, if not, why. That is
    the answer to "Sorry, your phone login and password are not active in this system".
  - For each entry, RV(phones[].rings) says whether the phone would ring today, and if not why. From the
    database it finds a phone that is inactive; on a server whose C(active_asterisk_server) is C(N) (no config
    is generated there); of protocol C(SIP) on Asterisk 21 or later (no chan_sip); of protocol C(Zap) on an
    Asterisk where the agent screen dials C(DAHDI/) (every version after 1.4.21); with no config writer
    (C(generate_vicidial_conf) C(N) and the server not in O(ansible_config_servers)). The Asterisk version is
    the server's C(asterisk_version) column, or Asterisk's own answer when it is asked.
  - Run on a telephony server with O(asterisk_server_ip), or given O(asterisk), it also says per phone of that
    server what Asterisk has (loaded, registered, and each contact with its status, round-trip time and the
    user agent that registered it). A phone not loaded, or loaded with no reachable device, would not ring.
extends_documentation_fragment:
  - telephony.vicidial.db
  - telephony.vicidial.read_only
  - telephony.vicidial.read_only.asterisk
options:
  server_ip:
    description: Only phones on these servers.
    type: list
    elements: str
  extension:
    description: Only these extensions.
    type: list
    elements: str
  protocol:
    description: Only phones of these protocols.
    type: list
    elements: str
  active:
    description: Only active (V(true)) or inactive (V(false)) phones.
    type: bool
  ansible_config_servers:
    description:
      - The servers (C(server_ip)) whose phone config the C(telephony.vicidial.vicidial_phones) role writes
        (config writer C(ansible), or after a take-over), for example
        C({{ groups.telephony | map('extract', hostvars, 'vicidial_server_ip') }}).
      - Left unset, a phone on a server with C(generate_vicidial_conf) C(N) that Asterisk was not asked about
        gets C(rings.ok) V(null) (nothing known stops it, but whether anything writes its config is not known).
    type: list
    elements: str
  asterisk_server_ip:
    description:
      - The server (C(server_ip)) whose Asterisk runs on the host the module runs on. Its Asterisk is asked
        (over O(asterisk_socket), or C(asterisk -rx)) what it has loaded and registered, for the phones of
        that server. No auth object is read.
      - When Asterisk cannot be asked, the phones of that server get that as the reason they would not ring.
    type: str
  asterisk:
    description:
      - Per C(server_ip), what its Asterisk has loaded, as returned by M(telephony.vicidial.vicidial_asterisk_info)
        (for a module run on the database host, after asking every telephony server).
    type: dict
    default: {}
  include_secrets:
    description:
      - Also return C(phone_pass), C(registration_password) and the legacy secret columns, and C(conf_override)
        with its secrets in clear.
      - Returned secrets are not hidden by Ansible; register the result with C(no_log) if you use this.
    type: bool
    default: false
seealso:
  - module: telephony.vicidial.vicidial_phones
author:
  - telephony.vicidial contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Why can agent 8001a not log in?
  telephony.vicidial.vicidial_phone_info:
    extension: ["8001"]
  register: phone

- name: Show the reasons
  ansible.builtin.debug:
    msg: "{{ phone.phones | map(attribute='agent_login') | list }}"

- name: Would each phone of this telephony server ring, and which device registered it?
  telephony.vicidial.vicidial_phone_info:
    server_ip: ["{{ vicidial_server_ip }}"]
    asterisk_server_ip: "{{ vicidial_server_ip }}"
    ansible_config_servers: "{{ groups.telephony | map('extract', hostvars, 'vicidial_server_ip') }}"
  register: ready

- name: Phones that would not ring, with why
  ansible.builtin.debug:
    msg: "{{ ready.phones | rejectattr('rings.ok') | map(attribute='rings') | list }}"
"""

RETURN = r"""
phones:
  description:
    - One item per phone, with the option names of M(telephony.vicidial.vicidial_phone), the columns VICIdial's
      background jobs write (C(phone_ip), C(peer_status), C(ping_time), C(messages), C(old_messages)), and
      C(agent_login).
  returned: always
  type: list
  elements: dict
  contains:
    agent_login:
      description: Whether an agent could log in with this phone's login and password today, and if not why.
      type: dict
      sample:
        ok: false
        reasons: ["server 10.0.0.12 does not accept agent logins (active_agent_login_server='N')"]
    rings:
      description:
        - Whether the phone would ring today. C(ok) is V(true), V(false) (C(reasons) say why) or V(null)
          (nothing known stops it; C(unsure) says what could not be known).
        - C(asterisk), when its server's Asterisk was asked, holds C(loaded), C(registered), C(state) and
          C(contacts) (C(uri), C(status), C(rtt_ms), C(user_agent)).
      type: dict
      sample:
        ok: false
        reasons: ["protocol SIP on Asterisk 22.10.1 (Asterisk): chan_sip was removed in Asterisk 21; use PJSIP"]
        unsure: []
        asterisk:
          loaded: false
          registered: false
          contacts: []
          reason: chan_sip is not loaded on this Asterisk
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.telephony.vicidial.plugins.module_utils import _asterisk, _readiness
from ansible_collections.telephony.vicidial.plugins.module_utils import _model as model
from ansible_collections.telephony.vicidial.plugins.module_utils._db import db_argument_spec, query
from ansible_collections.telephony.vicidial.plugins.module_utils._phones import fold, shown
from ansible_collections.telephony.vicidial.plugins.module_utils._runner import connect


def agent_login(row, servers, login_count, alias_ids):
    """Mirror the checks of VICIdial's agent screen login (vicidial.php)."""
    reasons = []
    if row.get("active") != "Y":
        reasons.append("the phone is not active (active='%s')" % (row.get("active") or ""))
    server = servers.get(row["server_ip"])
    if server is None:
        reasons.append("its server %s is not in the servers table" % row["server_ip"])
    elif server.get("active_agent_login_server") != "Y":
        reasons.append("server %s does not accept agent logins (active_agent_login_server='%s')"
                       % (row["server_ip"], server.get("active_agent_login_server") or ""))
    if not row.get("login"):
        reasons.append("no phone login is set")
    else:
        # login_count and alias_ids are keyed by fold(): VICIdial's tables
        # compare logins case-insensitively, so 'L8001' and 'l8001' clash.
        if login_count.get(fold(row["login"]), 0) > 1:
            reasons.append("login %r is used by %d phones; the agent screen may pick another one"
                           % (row["login"], login_count[fold(row["login"])]))
        if fold(row["login"]) in alias_ids:
            reasons.append("login %r is also a phone alias id; the alias wins at login" % row["login"])
    if not row.get("pass"):
        reasons.append("no phone login password is set")
    return dict(ok=not reasons, reasons=reasons)


def asked_asterisk(module):
    """({server_ip: _readiness.state()}, {server_ip: why Asterisk could not be asked})."""
    states, errors = _readiness.states_from_results(module.params["asterisk"]), {}
    server_ip = module.params["asterisk_server_ip"]
    if server_ip:
        try:
            states[server_ip] = _readiness.state(_asterisk.live_answers(_asterisk.cli_for(module)))
        except _asterisk.AsteriskError as exc:
            errors[server_ip] = str(exc)
    return states, errors


def main():
    argument_spec = db_argument_spec()
    argument_spec.update(
        server_ip=dict(type="list", elements="str"),
        extension=dict(type="list", elements="str"),
        protocol=dict(type="list", elements="str"),
        active=dict(type="bool"),
        include_secrets=dict(type="bool", default=False, no_log=False),
        ansible_config_servers=dict(type="list", elements="str"),
        asterisk_server_ip=dict(type="str"),
        asterisk=dict(type="dict", default={}),
    )
    argument_spec.update(_asterisk.argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    conn, _settings = connect(module)
    where, args = [], []
    for option, column in (("server_ip", "server_ip"), ("extension", "extension"), ("protocol", "protocol")):
        values = module.params[option]
        if values:
            where.append("%s IN (%s)" % (column, ",".join(["%s"] * len(values))))
            args.extend(values)
    if module.params["active"] is not None:
        where.append("active=%s")
        args.append("Y" if module.params["active"] else "N")
    sql = "SELECT * FROM phones"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY server_ip, extension"
    try:
        rows = query(conn, sql, args)
        servers = dict((r["server_ip"], r) for r in query(
            conn, "SELECT server_ip, active_agent_login_server, active_asterisk_server, generate_vicidial_conf, "
                  "asterisk_version FROM servers"))
        # GROUP BY follows the column's case-insensitive collation.
        login_count = dict((fold(r["login"]), r["n"]) for r in query(
            conn, "SELECT login, COUNT(*) AS n FROM phones WHERE login<>'' GROUP BY login HAVING n > 1"))
        alias_ids = set(fold(r["alias_id"]) for r in query(conn, "SELECT alias_id FROM phones_alias"))
    except Exception as exc:
        module.fail_json(msg="database error: %s" % exc)
    finally:
        conn.close()

    states, asterisk_errors = asked_asterisk(module)
    phones = []
    for row in rows:
        item = {}
        for column in model.COLUMNS:
            if column.secret and not module.params["include_secrets"]:
                continue
            value = row.get(column.name)
            if column.kind in ("yn", "01") and value is not None:
                value = value in ("Y", "1")
            elif not module.params["include_secrets"]:
                value = shown(column.name, value)  # secrets inside conf_override
            item[column.option] = value
        for name in model.RUNTIME_COLUMNS:
            item[name] = row.get(name)
        item["agent_login"] = agent_login(row, servers, login_count, alias_ids)
        if row["server_ip"] in asterisk_errors:
            item["rings"] = dict(ok=False, unsure=[], reasons=["Asterisk on %s could not be asked: %s" % (
                row["server_ip"], asterisk_errors[row["server_ip"]])])
        else:
            item["rings"] = _readiness.rings(row, servers.get(row["server_ip"]),
                                             module.params["ansible_config_servers"], states.get(row["server_ip"]))
        phones.append(item)
    module.exit_json(changed=False, phones=phones)


if __name__ == "__main__":
    main()
