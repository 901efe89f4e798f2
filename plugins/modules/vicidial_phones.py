#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vicidial_phones
short_description: Make VICIdial's phone entries match a declared set, in one task
version_added: 0.1.0
description:
  - Takes a whole set of phone entries and makes VICIdial's C(phones) table match it in one task. It creates,
    updates and (with O(purge) or C(state=absent)) deletes rows, exactly as VICIdial's ADMIN > PHONES
    screen would write them.
  - The whole set is validated before the first write (C(phones) is MyISAM, there is no rollback). An error
    lists every bad entry as C(extension@server_ip), with the field and the reason, and nothing is written.
  - Uniqueness (login across all phones and phone aliases) is judged on the state the run will leave, so
    moving a phone to another server in one run (declare it on the new server, purge the old one) works.
  - Flags C(servers.rebuild_conf_files) for every server touched and the voicemail server, with admin.php's
    filters, and writes one C(vicidial_admin_log) row per change (secrets masked), so VICIdial's own admin
    change log shows what was done.
  - Secrets are never shown, including those written inside C(conf_override) (C(secret=),
    C(inbound_auth/password=) and the like), in RV(queries), the diff, RV(pending) and the admin log rows.
  - An update is held to the rules of a create; it may not empty a required option, and activating a phone
    (or moving it to SIP, PJSIP or IAX2) judges the registration password already stored with the password
    rules.
  - A change that would leave an active PJSIP phone with chan_sip keys (C(host), C(secret), C(type=friend), ...)
    in its C(conf_override) or its template is refused, naming the keys; a stored row like that which the run
    does not change gets a warning.
  - The admin log rows and a journal row are written before the phone rows; a run that was interrupted before
    it flagged its servers is completed by the next run (it flags them and does not log its changes twice).
  - Deleting a phone whose login a phone alias still lists fails, naming the aliases, unless the same run also
    takes the login out of those aliases (see O(aliases)).
  - Two runs against one database never interleave; a named database lock serialises them.
  - This is the module playbooks should use. A C(loop) over M(telephony.vicidial.vicidial_phone) costs a
    task per phone and cannot purge.
extends_documentation_fragment:
  - telephony.vicidial.db
  - telephony.vicidial.db.POLICY
  - telephony.vicidial.db.PHONE_DEFAULTS
options:
  phones:
    description:
      - The phone entries. Each is a dictionary with the options of M(telephony.vicidial.vicidial_phone)
        (C(extension) and C(server_ip) required, C(state) V(present) or V(absent)), validated by this module
        so that every problem is reported with the entry it belongs to.
      - Secrets in entries (C(phone_pass), C(registration_password) and the legacy secret columns) are hidden
        from all output.
      - Give O(phones) or O(phones_from).
    type: list
    elements: dict
  phones_from:
    description:
      - The name of the variable that holds the phone entries, for example V(vicidial_phones_entries), instead of
        O(phones). A variable name or a dotted path into one (V(site.phones)); no Jinja.
      - The collection's action plugin resolves the variable on the controller, templates it as O(phones) would
        be (Vault values decrypted), and gives the entries to the module as O(phones).
      - Use it for large sets. With O(phones), the templated entries are the task's own arguments, and ansible-core
        sends a task's arguments back from the worker process to the main process with its result. With 10,000
        entries that cost about 6 s per run (bench/README.md); with O(phones_from) the arguments hold the name only.
      - The role telephony.vicidial.vicidial_phones uses it.
    type: str
  defaults:
    description:
      - Options applied to every entry of O(phones); an entry's own value wins.
    type: dict
    default: {}
  purge:
    description:
      - Delete every phone on the servers in O(purge_servers) that is not in O(phones).
      - Never touches a server that is not listed in O(purge_servers).
    type: bool
    default: false
  purge_servers:
    description:
      - The servers (C(server_ip)) that O(purge) applies to. Required with O(purge); there is no implicit scope.
    type: list
    elements: str
  aliases:
    description:
      - The phone aliases (C(phones_alias)) this run also applies, after the phones, with
        M(telephony.vicidial.vicidial_phone_aliases). Only used to judge deletes; this module never writes an alias.
      - A phone whose login an existing alias lists in C(logins_list) is deleted (C(state=absent) or O(purge)) only
        when this run also takes the login out of that alias; the alias is declared in O(aliases.declared) with a
        C(logins_list) without the login, or declared with C(state=absent), or removed by the alias purge
        (O(aliases.purge), an alias not declared whose admin user group is in O(aliases.purge_user_groups)).
        Otherwise the whole run fails before anything is written, naming the phone, its login and the aliases.
        Logins compare without regard to case. A login that another phone keeps or gets in this run (a phone
        moved to another server) is not lost, and its aliases are not judged.
      - Without this option no alias is declared, so any alias listing the login refuses the delete.
      - The role telephony.vicidial.vicidial_phones passes its C(vicidial_phones_aliases*) variables here.
    type: dict
    suboptions:
      declared:
        description:
          - The declared aliases, as O(telephony.vicidial.vicidial_phone_aliases#module:aliases) takes them (only
            C(alias_id), C(logins_list) and C(state) are read here).
        type: list
        elements: dict
        default: []
      purge:
        description: Whether the alias run purges (O(telephony.vicidial.vicidial_phone_aliases#module:purge)).
        type: bool
        default: false
      purge_user_groups:
        description: The admin user groups the alias purge applies to.
        type: list
        elements: str
        default: []
attributes:
  check_mode:
    support: full
    description: Reports every change (including each phone a purge would delete) and the SQL that would run.
  diff_mode:
    support: full
    description: Before and after of each changed entry, secrets masked.
  idempotent:
    support: full
    description: A second run with the same set changes nothing.
notes:
  - To keep large runs fast, the result does not echo the input back, and reports only the entries that change.
seealso:
  - module: telephony.vicidial.vicidial_phone
  - module: telephony.vicidial.vicidial_phone_info
  - ref: ansible_collections.telephony.vicidial.vicidial_phones_role
    description: The role telephony.vicidial.vicidial_phones, which applies a phone set and proves the devices register.
author:
  - telephony.vicidial contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Every phone of the call centre, as declared in the inventory
  telephony.vicidial.vicidial_phones:
    defaults:
      protocol: PJSIP
      local_gmt: "-5.00"
      phone_context: default
    phones: "{{ vicidial_phones_entries }}"
    purge: true
    purge_servers: "{{ groups['telephony'] | map('extract', hostvars, 'vicidial_server_ip') | list }}"

- name: Every phone of the call centre, by variable name (fastest with thousands of entries)
  telephony.vicidial.vicidial_phones:
    phones_from: vicidial_phones_entries
    purge: true
    purge_servers: "{{ groups['telephony'] | map('extract', hostvars, 'vicidial_server_ip') | list }}"

- name: Let agents keep the passwords they set themselves
  telephony.vicidial.vicidial_phones:
    phones: "{{ vicidial_phones_entries }}"
    update_password: on_create
"""

RETURN = r"""
changes:
  description: One item per phone that changed, with the option names that changed.
  returned: always
  type: list
  elements: dict
  sample: [{"phone": "8001@10.0.0.11", "action": "create", "fields": ["dialplan_number", "..."]}]
counts:
  description: How many phones were created, updated, deleted or left unchanged.
  returned: always
  type: dict
  sample: {"created": 2, "updated": 0, "deleted": 1, "unchanged": 997}
queries:
  description: The SQL that ran (or would run in check mode), secrets masked.
  returned: always
  type: list
  elements: str
servers_flagged:
  description: Servers whose C(rebuild_conf_files) was set, so VICIdial's generator rebuilds their config.
  returned: always
  type: list
  elements: str
pending:
  description:
    - In check mode, the planned row changes with every secret replaced by C(********), for
      M(telephony.vicidial.vicidial_phone_config)'s O(telephony.vicidial.vicidial_phone_config#module:pending).
  returned: in check mode
  type: list
  elements: dict
"""

from ansible_collections.telephony.vicidial.plugins.module_utils._db import db_argument_spec
from ansible_collections.telephony.vicidial.plugins.module_utils._runner import (
    EntriesModule,
    apply_entries,
    policy_argument_spec,
)


def main():
    argument_spec = db_argument_spec()
    argument_spec.update(policy_argument_spec())
    argument_spec.update(
        phones=dict(type="list", elements="dict"),
        phones_from=dict(type="str"),
        defaults=dict(type="dict", default={}),
        purge=dict(type="bool", default=False),
        purge_servers=dict(type="list", elements="str"),
        aliases=dict(type="dict", options=dict(
            declared=dict(type="list", elements="dict", default=[]),
            purge=dict(type="bool", default=False),
            purge_user_groups=dict(type="list", elements="str", default=[]),
        )),
    )
    module = EntriesModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("purge", True, ("purge_servers",))],
        required_one_of=[("phones", "phones_from")],
        mutually_exclusive=[("phones", "phones_from")],
    )
    if module.params["phones_from"] is not None:
        # The action plugin (plugins/action/vicidial_phones.py) turns phones_from into phones.
        module.fail_json(msg="phones_from is resolved by the action plugin telephony.vicidial.vicidial_phones, "
                             "which did not run; give phones instead")
    phones = module.params["phones"]
    # The entries' secrets are not registered with module.no_log_values here:
    # scrubbing a large result against thousands of values is quadratic. The
    # result is built masked; EntriesModule.fail_json registers them before
    # any failure, whose output is small.
    purge_servers = module.params["purge_servers"] if module.params["purge"] else None
    if module.params["purge"] and not purge_servers:
        module.fail_json(msg="purge_servers must name at least one server: purge has no implicit scope")
    # The input is not echoed back: with a thousand entries that echo would
    # dominate the cost of scrubbing secrets out of the result.
    invocation = dict(module_args=dict(phones="%d entries" % len(phones), purge=module.params["purge"],
                                       purge_servers=purge_servers))
    module.exit_json(**apply_entries(module, phones, purge_servers=set(purge_servers) if purge_servers else None,
                                     invocation=invocation))


if __name__ == "__main__":
    main()
