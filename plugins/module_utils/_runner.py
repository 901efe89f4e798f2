# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What vicidial_phone and vicidial_phones share around the planner. Private."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.telephony.vicidial.plugins.module_utils import _db, _phones
from ansible_collections.telephony.vicidial.plugins.module_utils import _model as model


def policy_argument_spec():
    """Options that govern how a set is applied (shared by both writers)."""
    return dict(
        update_password=dict(type="str", default="always", choices=["always", "on_create"], no_log=False),
        allow_weak_passwords=dict(type="bool", default=False, no_log=False),
        registration_password_min_length=dict(type="int", default=12, no_log=False),
        phone_pass_min_length=dict(type="int", default=8, no_log=False),
        admin_user=dict(type="str", default="ansible"),
        lock_timeout=dict(type="int", default=300),
    )


def phone_argument_spec():
    """One option per managed column (vicidial_phone), typed from the model."""
    spec = {}
    for column in model.COLUMNS:
        option = dict(type=model.ansible_type(column))
        if column.aliases:
            option["aliases"] = list(column.aliases)
        if column.secret:
            option["no_log"] = True
        if column.name in model.IDENTITY:
            option["required"] = True
        spec[column.option] = option
    return spec


class EntriesModule(AnsibleModule):
    """AnsibleModule for a module that takes phone entries as plain dicts.

    AnsibleModule logs its arguments to syslog before the module can tell it
    which values inside the entries are secret, so the entries are logged by
    count only.
    """

    def _log_invocation(self):
        self.log("Invoked with %d phone entries" % len(self.params.get("phones") or []),
                 log_args=dict(phones="%d entries" % len(self.params.get("phones") or [])))


def hide_secrets(module, entries):
    """Register every secret of the input with Ansible's output scrubbing.

    vicidial_phones takes its entries as plain dicts (no suboption spec, see
    its DOCUMENTATION), so Ansible does not know which values are secret: tell
    it before anything can be returned.
    """
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for key, value in entry.items():
            column = model.OPTION_NAMES.get(key)
            if column is not None and column.secret and value not in (None, ""):
                module.no_log_values.add(str(value))


def connect(module, **extra):
    if not _db.HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib("PyMySQL"), exception=str(_db.PYMYSQL_IMPORT_ERROR), **extra)
    try:
        settings = _db.connection_settings(module.params)
        return _db.connect(settings), settings
    except _db.DatabaseError as exc:
        module.fail_json(msg=str(exc), **extra)


def apply_entries(module, entries, purge_servers=None, invocation=None):
    """Run the planner for the module's entries and return its result.

    invocation, when given, replaces Ansible's echo of the input in the result
    and in failures.
    """
    extra = dict(invocation=invocation) if invocation else {}
    conn, settings = connect(module, **extra)
    options = dict((k, module.params.get(k)) for k in policy_argument_spec())
    options["defaults"] = module.params.get("defaults")
    try:
        plan, queries, _ctx = _phones.run(conn, settings["database"], entries, options,
                                          module.check_mode, purge_servers=purge_servers)
    except (_phones.PlanError, _db.DatabaseError) as exc:
        module.fail_json(msg=str(exc), **extra)
    except Exception as exc:  # a database error mid-run: one line, no traceback
        module.fail_json(msg="database error: %s" % exc, **extra)
    finally:
        conn.close()
    for warning in plan.warnings:
        module.warn(warning)
    counts = dict(created=0, updated=0, deleted=0, unchanged=plan.unchanged)
    for change in plan.changes:
        counts[change.action + "d"] += 1
    result = dict(
        changed=bool(plan.changes),
        changes=plan.report(),
        counts=counts,
        queries=queries,
        servers_flagged=plan.flag_servers,
    )
    result.update(extra)
    if module._diff:
        result["diff"] = plan.diff()
    if module.check_mode:
        result["pending"] = plan.pending()
    return result
