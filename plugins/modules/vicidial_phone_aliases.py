#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vicidial_phone_aliases
short_description: Make VICIdial's phone aliases match a declared set, in one task
version_added: 0.1.0
description:
  - Keeps the rows of VICIdial's C(phones_alias) table as declared. A phone alias is a load-balanced phone
    login; at agent login VICIdial picks, among the phones whose logins it lists, the one whose server has the
    fewest agents.
  - Follows admin.php's rules, but reports every problem at once before anything is written; C(alias_id) is
    unique among aliases and is never a phone's login; C(alias_name) has at least 2 characters; C(logins_list)
    holds only logins of existing phones, and every unknown login is named.
  - Logins and alias ids are compared without regard to case, as VICIdial's tables compare them.
  - A stored alias that the run does not change is not judged (a warning says what is wrong with it).
  - Writes one C(vicidial_admin_log) row per change (section C(PHONEALIASES), as admin.php does), before the
    change. Aliases are not in Asterisk's config, so no server is flagged for a rebuild.
  - Deleting undeclared aliases (O(purge)) is limited to the admin user groups in O(purge_user_groups); there is
    no implicit scope.
  - Runs under the same database lock as M(telephony.vicidial.vicidial_phones), so a phone run and an alias run
    never interleave.
extends_documentation_fragment:
  - telephony.vicidial.db
options:
  aliases:
    description: The declared aliases.
    type: list
    elements: dict
    required: true
    suboptions:
      alias_id:
        description: The alias, typed by agents as their phone login. 2 to 20 letters, digits, C(-) or C(_).
        type: str
        required: true
      alias_name:
        description: Descriptive name, 2 to 50 characters. Required to create an alias.
        type: str
      logins_list:
        description:
          - Logins (C(phone_login)) of existing phones, usually one per server. Required to create an alias.
          - A comma-separated string is accepted too. The order is kept as declared.
        type: list
        elements: str
      admin_user_group:
        description: Admin user group that may see the alias (C(---ALL---), the default on create, for all).
        type: str
        aliases: [user_group]
      state:
        description: V(absent) deletes the alias.
        type: str
        choices: [present, absent]
        default: present
  purge:
    description: Delete every alias of the groups in O(purge_user_groups) that O(aliases) does not declare.
    type: bool
    default: false
  purge_user_groups:
    description:
      - The admin user groups (C(phones_alias.user_group)) that O(purge) applies to; required with O(purge).
      - Use C(---ALL---) for aliases of the default group.
    type: list
    elements: str
  extra_logins:
    description:
      - Logins to treat as existing phones' logins, in addition to the database's. For a check-mode run after a
        check-mode M(telephony.vicidial.vicidial_phones) run, pass the logins that run would create.
    type: list
    elements: str
    default: []
  admin_user:
    description: User recorded in C(vicidial_admin_log) for each change (at most 20 characters).
    type: str
    default: ansible
  lock_timeout:
    description: Seconds to wait for another run holding the phones lock.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: Reports every change and the SQL that would run, writes nothing.
  diff_mode:
    support: full
    description: Before and after of each changed alias.
  idempotent:
    support: full
    description: A second run with the same set changes nothing.
seealso:
  - module: telephony.vicidial.vicidial_phones
author:
  - telephony.vicidial contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Agents type "sales" and get the least busy server's phone
  telephony.vicidial.vicidial_phone_aliases:
    aliases:
      - alias_id: sales
        alias_name: Sales floor
        logins_list: [8001a, 8001b]
      - alias_id: oldalias
        state: absent

- name: Aliases as code, deleting the undeclared ones of the default group
  telephony.vicidial.vicidial_phone_aliases:
    aliases: "{{ vicidial_phones_aliases }}"
    purge: true
    purge_user_groups: ["---ALL---"]
"""

RETURN = r"""
changes:
  description: One item per alias that changed (or would change in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"alias_id": "sales", "action": "update", "fields": ["logins_list"]}]
counts:
  description: How many aliases were created, updated, deleted or left unchanged.
  returned: always
  type: dict
  sample: {"created": 1, "updated": 0, "deleted": 0, "unchanged": 4}
queries:
  description: The SQL that ran, or would run in check mode.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.telephony.vicidial.plugins.module_utils import _aliases, _db
from ansible_collections.telephony.vicidial.plugins.module_utils._runner import connect


def main():
    argument_spec = _db.db_argument_spec()
    argument_spec.update(
        aliases=dict(type="list", elements="dict", required=True, options=dict(
            alias_id=dict(type="str", required=True),
            alias_name=dict(type="str"),
            logins_list=dict(type="list", elements="str"),
            admin_user_group=dict(type="str", aliases=["user_group"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        )),
        purge=dict(type="bool", default=False),
        purge_user_groups=dict(type="list", elements="str"),
        extra_logins=dict(type="list", elements="str", default=[]),
        admin_user=dict(type="str", default="ansible"),
        lock_timeout=dict(type="int", default=300),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("purge", True, ("purge_user_groups",))])
    purge_groups = module.params["purge_user_groups"] if module.params["purge"] else None
    if module.params["purge"] and not purge_groups:
        module.fail_json(msg="purge_user_groups must name at least one group: purge has no implicit scope")
    admin_user = module.params["admin_user"]
    if len(admin_user) > 20 or not admin_user.isprintable():
        module.fail_json(msg="admin_user must be at most 20 printable characters (vicidial_admin_log.user)")
    conn, settings = connect(module)
    plan = _aliases.AliasPlan()
    queries = []
    try:
        with _db.NamedLock(conn, settings["database"], module.params["lock_timeout"]):
            aliases, logins = _aliases.AliasPlan.read(conn)
            problems = plan.build(module.params["aliases"], aliases, logins, purge_groups,
                                  module.params["extra_logins"])
            if problems:
                module.fail_json(msg="%d problem%s; nothing was written:\n%s" % (
                    len(problems), "" if len(problems) == 1 else "s", "\n".join("  - " + p for p in problems)),
                    problems=problems)
            plan.statements()
            queries = [c["readable"] for c in plan.changes]
            if plan.changes and not module.check_mode:
                plan.apply(conn, admin_user)
    except _db.DatabaseError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # a database error mid-run: one line, no traceback
        module.fail_json(msg="database error: %s" % exc)
    finally:
        conn.close()
    for warning in plan.warnings:
        module.warn(warning)
    counts = dict(created=0, updated=0, deleted=0, unchanged=plan.unchanged)
    for change in plan.changes:
        counts[change["action"] + "d"] += 1
    result = dict(changed=bool(plan.changes), changes=plan.report(), counts=counts, queries=queries)
    if module._diff:
        result["diff"] = plan.diff()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
