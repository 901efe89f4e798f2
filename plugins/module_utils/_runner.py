# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What vicidial_phone and vicidial_phones share around the planner. Private."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.telephony.vicidial.plugins.module_utils import _db, _phones, _render
from ansible_collections.telephony.vicidial.plugins.module_utils import _model as model
from ansible_collections.telephony.vicidial.plugins.module_utils import _validate as validate


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


def override_secrets(text):
    """The values _render.mask_secrets hides in a conf_override text.

    Read off the masked text rather than found by a second pattern, so that
    what is registered for scrubbing and what is masked can never disagree.
    """
    if not isinstance(text, str):
        return []
    found = []
    for line, masked in zip(text.split("\n"), _render.mask_secrets(text).split("\n")):
        if line != masked and masked.endswith(_render.MASK):
            value = line[len(masked) - len(_render.MASK):]
            found.extend(v for v in (value, value.strip()) if v.strip())
    return found


def entry_secrets(entry):
    """Every secret an entry (a dict of phone options, validated or not) holds."""
    found = []
    if not isinstance(entry, dict):
        return found
    for key, value in entry.items():
        column = model.OPTION_NAMES.get(key)
        if column is None or value is None or value == "":
            continue
        if column.secret:
            found.append(str(value))
        elif column.name in model.SECRET_BEARING_COLUMNS:
            found.extend(override_secrets(value))
    return found


def hide_secrets(module, entries):
    """Register every secret of the input with Ansible's output scrubbing.

    Only for a failure: AnsibleModule scrubs every string of the result
    against every registered value, which is quadratic over a large set
    (134 s at 10,000 phones). A success result is built masked instead.
    """
    for entry in entries:
        module.no_log_values.update(entry_secrets(entry))


class EntriesModule(AnsibleModule):
    """AnsibleModule for a module that takes phone entries as plain dicts.

    AnsibleModule logs its arguments to syslog before the module can tell it
    which values inside the entries are secret, so the entries are logged by
    count only. A failure, AnsibleModule's own argument checks included (they
    run before main() sees the entries), registers the entries' secrets and
    echoes the entries by count only.
    """

    def _log_invocation(self):
        self.log("Invoked with %d phone entries" % len(self._entries()),
                 log_args=dict(phones="%d entries" % len(self._entries())))

    def _entries(self):
        phones = self.params.get("phones") if isinstance(self.params, dict) else None
        return list(phones) if isinstance(phones, list) else []

    def invocation(self):
        """What the result says about the input: never the entries themselves."""
        phones = self.params.get("phones") if isinstance(self.params, dict) else None
        shown = "%d entries" % len(phones) if isinstance(phones, list) else "(not a list of entries)"
        return dict(module_args=dict(phones=shown, purge=self.params.get("purge"),
                                     purge_servers=self.params.get("purge_servers")))

    def fail_json(self, msg, **kwargs):
        defaults = self.params.get("defaults") if isinstance(self.params, dict) else None
        hide_secrets(self, self._entries() + [defaults])
        kwargs["invocation"] = self.invocation()
        super(EntriesModule, self).fail_json(msg, **kwargs)


class PhoneModule(AnsibleModule):
    """AnsibleModule for vicidial_phone: one entry as options.

    Its secret options are no_log, but conf_override is free text that may
    hold secrets (secret=..., inbound_auth/password=...): it is logged and
    echoed masked. The raw option values are kept to tell a quoted "0123"
    from YAML's number 83 (AnsibleModule turns both into strings).
    """

    def _load_params(self):
        super(PhoneModule, self)._load_params()
        self.raw_params = dict(self.params) if isinstance(self.params, dict) else {}

    def masked_params(self):
        params = dict(self.params)
        if isinstance(params.get("conf_override"), str):
            params["conf_override"] = _render.mask_secrets(params["conf_override"])
        return params

    def _log_invocation(self):
        params = self.params
        self.params = self.masked_params()
        try:
            super(PhoneModule, self)._log_invocation()
        finally:
            self.params = params

    def exit_json(self, **kwargs):
        kwargs.setdefault("invocation", dict(module_args=self.masked_params()))
        super(PhoneModule, self).exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        self.no_log_values.update(override_secrets(self.params.get("conf_override")))
        kwargs.setdefault("invocation", dict(module_args=self.masked_params()))
        super(PhoneModule, self).fail_json(msg, **kwargs)

    def entry(self):
        """The options as one entry for the planner. Identity and secret
        options that did not arrive as strings are passed as they arrived,
        so that the planner refuses them (model.STRING_ONLY)."""
        entry = dict((c.option, self.params[c.option]) for c in model.COLUMNS if self.params[c.option] is not None)
        for key, value in self.raw_params.items():
            column = model.OPTION_NAMES.get(key)
            if column is not None and column.name in model.STRING_ONLY and validate.string_type_problem(column, value):
                entry[column.option] = value
        entry["state"] = self.params["state"]
        return entry


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
    options["aliases"] = module.params.get("aliases")
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
        changed=bool(plan.changes) or plan.resumed > 0,
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
