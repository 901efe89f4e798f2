#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vicidial_phones_drift
short_description: Compare the phone inventory, VICIdial's database and what each Asterisk has loaded
version_added: 0.1.0
description:
  - Compares three sources for every phone on the servers in O(servers) and returns a report, as data and as
    Markdown fit to post on a pull request.
  - B(Inventory and database) (the planner of M(telephony.vicidial.vicidial_phones), run without writing), per
    phone, which fields differ and what the database holds now (a secret shows only as C(changed), secrets
    inside C(conf_override) are masked); declared phones missing from the database; phones declared
    C(absent) that are still there; phones in the database that no entry declares.
  - B(Database and Asterisk) (from O(asterisk), the results of M(telephony.vicidial.vicidial_asterisk_info)),
    endpoints and peers that no active phone row of that protocol on that server explains (VICIdial's own
    IAX peers, its servers' trunks, its carriers' sections and O(ignore_endpoints) aside); declared active
    phones Asterisk has not loaded; declared phones loaded but not registered (or whose contact no longer
    answers), with the contact and user agent Asterisk still holds and the last address and status VICIdial
    recorded; and the registered phones with contact, status, round-trip time and user agent.
  - Never writes anything. Password policy is not judged here (that is the apply's business).
extends_documentation_fragment:
  - telephony.vicidial.db
  - telephony.vicidial.read_only
options:
  phones:
    description: The inventory's phone entries (C(vicidial_phones_entries)). Their secrets are compared, never shown.
    type: list
    elements: dict
    required: true
  defaults:
    description: The inventory's C(vicidial_phones_defaults).
    type: dict
    default: {}
  servers:
    description: The servers (C(server_ip)) to report on.
    type: list
    elements: str
    required: true
  asterisk:
    description:
      - Per C(server_ip), what its Asterisk has loaded, as returned by M(telephony.vicidial.vicidial_asterisk_info).
      - A server left out is reported as not asked.
    type: dict
    default: {}
  ignore_endpoints:
    description: Regular expressions of endpoint and peer names that are not phones (trunks kept elsewhere).
    type: list
    elements: str
    default: []
  fail_on_unregistered:
    description: Count a declared phone that is loaded but not registered as drift.
    type: bool
    default: false
  title:
    description: Heading of the Markdown report.
    type: str
    default: Phones drift
seealso:
  - module: telephony.vicidial.vicidial_asterisk_info
  - module: telephony.vicidial.vicidial_phones
author:
  - telephony.vicidial contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Compare the inventory with the database and the loaded Asterisk state
  telephony.vicidial.vicidial_phones_drift:
    phones: "{{ vicidial_phones_entries }}"
    servers: [10.0.0.11, 10.0.0.12]
    asterisk: "{{ {'10.0.0.11': ast1_loaded, '10.0.0.12': ast2_loaded} }}"
  register: drift
"""

RETURN = r"""
drift:
  description: Whether anything differs.
  returned: always
  type: bool
report:
  description:
    - C(inventory) (C(fields), C(missing), C(declared_absent), C(undeclared), C(inventory_problems)),
      C(asterisk) (C(unexplained), C(not_loaded), C(unregistered), C(registered) (a count),
      C(registered_phones)), C(servers),
      C(servers_not_asked), C(drift).
  returned: always
  type: dict
markdown:
  description: The report as Markdown.
  returned: always
  type: str
"""

from ansible_collections.telephony.vicidial.plugins.module_utils import _db, _drift
from ansible_collections.telephony.vicidial.plugins.module_utils._runner import EntriesModule, connect


def main():
    argument_spec = _db.db_argument_spec()
    argument_spec.update(
        phones=dict(type="list", elements="dict", required=True),
        defaults=dict(type="dict", default={}),
        servers=dict(type="list", elements="str", required=True),
        asterisk=dict(type="dict", default={}),
        ignore_endpoints=dict(type="list", elements="str", default=[]),
        fail_on_unregistered=dict(type="bool", default=False),
        title=dict(type="str", default="Phones drift"),
    )
    module = EntriesModule(argument_spec=argument_spec, supports_check_mode=True)
    invocation = dict(module_args=dict(phones="%d entries" % len(module.params["phones"]),
                                       servers=module.params["servers"]))
    conn, _settings = connect(module, invocation=invocation)
    try:
        report = _drift.build(conn, module.params["phones"], module.params["defaults"], module.params["servers"],
                              module.params["asterisk"], module.params["ignore_endpoints"],
                              module.params["fail_on_unregistered"])
    except _db.DatabaseError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # a database error: one line, no traceback
        module.fail_json(msg="database error: %s" % exc)
    finally:
        conn.close()
    module.exit_json(changed=False, drift=report["drift"], report=report,
                     markdown=_drift.markdown(report, module.params["title"]), invocation=invocation)


if __name__ == "__main__":
    main()
