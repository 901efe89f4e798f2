#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vicidial_phone
short_description: Manage one VICIdial phone entry
version_added: 0.1.0
description:
  - Creates, updates or deletes one row of VICIdial's C(phones) table, identified by O(extension) and
    O(server_ip), the way VICIdial's ADMIN > PHONES screen writes it, but validated and idempotent.
  - Flags C(servers.rebuild_conf_files) for the phone's server and the voicemail server (with admin.php's
    filters) and writes a C(vicidial_admin_log) row per change, with secrets masked.
  - Secrets are never shown, including those written inside C(conf_override) (C(secret=),
    C(inbound_auth/password=) and the like), in RV(queries), the diff, the check-mode plan, the module's
    invocation and syslog line, and the admin log rows.
  - An update is held to the rules of a create; it may not empty a required option, and activating a phone
    (or moving it to SIP, PJSIP or IAX2) judges the registration password already stored with the password
    rules.
  - A change that would leave an active PJSIP phone with chan_sip keys (C(host), C(secret), C(type=friend), ...)
    in its C(conf_override) or its template is refused, naming the keys; a stored row like that which the run
    does not change gets a warning.
  - The admin log rows and a journal row are written before the phone rows; a run that was interrupted before
    it flagged its servers is completed by the next run (it flags them and does not log its changes twice).
  - Deleting a phone whose login a phone alias still lists (C(phones_alias.logins_list)) fails, naming the
    aliases, and writes nothing (unless another phone has the same login). Take the login out of the alias first
    (M(telephony.vicidial.vicidial_phone_aliases)), or use M(telephony.vicidial.vicidial_phones) with its
    O(telephony.vicidial.vicidial_phones#module:aliases) option, which can delete the phone and the alias's login
    in one run.
  - Only the options you set are managed; columns VICIdial's background jobs write (C(phone_ip),
    C(peer_status), C(ping_time), C(messages), C(old_messages)) are never compared or written.
  - To manage many phones use M(telephony.vicidial.vicidial_phones), which takes the whole set in one task,
    is much faster than a loop over this module, and can purge.
extends_documentation_fragment:
  - telephony.vicidial.db
  - telephony.vicidial.db.POLICY
  - telephony.vicidial.db.PHONE_DEFAULTS
  - telephony.vicidial.phone
options:
  state:
    description:
      - V(present) creates or updates the phone; V(absent) deletes it.
    type: str
    default: present
    choices: [present, absent]
attributes:
  check_mode:
    support: full
    description: Reports what would change and the SQL that would run, without writing.
  diff_mode:
    support: full
    description: Before and after of the changed fields, secrets masked.
  idempotent:
    support: full
    description: A second run with the same options changes nothing.
seealso:
  - module: telephony.vicidial.vicidial_phones
  - module: telephony.vicidial.vicidial_phone_info
author:
  - telephony.vicidial contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A PJSIP softphone on the first telephony server
  telephony.vicidial.vicidial_phone:
    extension: "8001"
    server_ip: 10.0.0.11
    protocol: PJSIP
    dialplan_number: "8001"
    voicemail_id: "8001"
    phone_login: "8001a"
    phone_pass: "{{ vault_phone_8001_login }}"
    registration_password: "{{ vault_phone_8001_secret }}"
    phone_full_name: Front desk

- name: Remove it
  telephony.vicidial.vicidial_phone:
    extension: "8001"
    server_ip: 10.0.0.11
    state: absent
"""

RETURN = r"""
changes:
  description: One item per phone that changed (at most one here), with the option names that changed.
  returned: always
  type: list
  elements: dict
  sample: [{"phone": "8001@10.0.0.11", "action": "update", "fields": ["phone_full_name"]}]
counts:
  description: How many phones were created, updated, deleted or left unchanged.
  returned: always
  type: dict
  sample: {"created": 0, "updated": 1, "deleted": 0, "unchanged": 0}
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
"""

from ansible_collections.telephony.vicidial.plugins.module_utils._db import db_argument_spec
from ansible_collections.telephony.vicidial.plugins.module_utils._runner import (
    PhoneModule,
    apply_entries,
    phone_argument_spec,
    policy_argument_spec,
)


def main():
    argument_spec = db_argument_spec()
    argument_spec.update(policy_argument_spec())
    argument_spec.update(phone_argument_spec())
    argument_spec.update(state=dict(type="str", default="present", choices=["present", "absent"]))
    # PhoneModule logs and echoes conf_override masked, and keeps the raw
    # option values so that an unquoted YAML number is refused, not converted.
    module = PhoneModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**apply_entries(module, [module.entry()]))


if __name__ == "__main__":
    main()
