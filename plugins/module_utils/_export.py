# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn today's phones rows into inventory entries. Private to the collection.

An entry holds the options VICIdial needs to create the phone (identity, dial
plan number, voicemail box, login, both passwords), its protocol, and every
other option whose stored value differs from what a create would store (the
create defaults of vicidial_phones, the column defaults of the schema, or the
inventory's own vicidial_phones_defaults). Secrets go to a separate mapping,
keyed extension@server_ip, that the entries reference by a Jinja expression.

The entries are then planned, in process, by the same planner the
vicidial_phones module uses, against the very rows they were read from. An
option the planner refuses (for example a login that is also a phone alias id) is left out of the entry, so that it is
not managed, and named in the notes; an option it would write differently
(a value it normalises) is left out the same way. What is exported therefore
plans to zero changes, by construction and by proof.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.telephony.vicidial.plugins.module_utils import _model as model
from ansible_collections.telephony.vicidial.plugins.module_utils import _phones, _render
from ansible_collections.telephony.vicidial.plugins.module_utils._db import query

# Always in an entry (when not empty): what a create needs, and the protocol.
ALWAYS = ("extension", "server_ip", "protocol", "dialplan_number", "voicemail_id", "login", "pass", "conf_secret")
DEFAULT_VAULT_VAR = "vault_phone_secrets"
# The options of an entry in the order they are written: identity and protocol first.
ORDERED = tuple(model.BY_COLUMN[c] for c in ("extension", "server_ip", "protocol")) + tuple(
    c for c in model.COLUMNS if c.name not in ("extension", "server_ip", "protocol"))
MAX_ROUNDS = 6


def parse_column_default(value):
    """information_schema.COLUMNS.COLUMN_DEFAULT -> the value, as MariaDB >= 10.2.7 spells it
    (string literals quoted, NULL as the word NULL) and as MySQL spells it (unquoted)."""
    if value is None or value == "NULL":
        return None
    if len(value) >= 2 and value[0] == "'" and value[-1] == "'":
        inner = value[1:-1]
        return inner.replace("''", "'").replace("\\\\", "\\")
    return value


def schema_defaults(conn):
    """{column: default} of the phones table, read from the schema."""
    rows = query(conn, "SELECT COLUMN_NAME AS name, COLUMN_DEFAULT AS dflt FROM information_schema.COLUMNS "
                       "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'phones'")
    return dict((r["name"], parse_column_default(r["dflt"])) for r in rows)


def option_value(column, stored):
    """A stored value as an entry writes it (booleans for Y/N and 1/0 columns)."""
    if stored is None:
        return ""
    if column.kind == "yn":
        return stored == "Y"
    if column.kind == "01":
        return str(stored) == "1"
    if column.kind == "int":
        try:
            return int(stored)
        except (TypeError, ValueError):
            return str(stored)
    return str(stored)


def baseline(settings, schema, defaults):
    """{column: value a create would store}, comparable()-normalised.

    defaults: the inventory's vicidial_phones_defaults (option names); what
    they set is what a create of this inventory stores.
    """
    base = {}
    create = model.create_defaults(settings)
    for column in model.COLUMNS:
        if column.name in create:
            base[column.name] = model.comparable(create[column.name])
        else:
            base[column.name] = model.comparable(schema.get(column.name))
    parsed, _errors = _phones.parse_all([dict(defaults or {}, extension="x", server_ip="127.0.0.1")], None)
    if parsed:
        for name, value in parsed[0][2].items():
            if name not in model.IDENTITY:
                base[name] = model.comparable(value)
    return base


def is_secret_text(column, value):
    """A secret column, or free text that carries secrets (secret=, inbound_auth/password=, ...)."""
    if column.secret:
        return True
    return column.name in model.SECRET_BEARING_COLUMNS and _render.mask_secrets(value) != value


def reference(vault_var, label, option):
    return "{{ %s['%s'].%s }}" % (vault_var, label, option)


class Export(object):
    """The entries, secrets and notes for a set of rows."""

    def __init__(self, rows, settings, schema, defaults=None, vault_var=DEFAULT_VAULT_VAR):
        self.rows = sorted(rows, key=lambda r: (_ip_key(r["server_ip"]), r["extension"]))
        self.base = baseline(settings, schema, defaults)
        self.defaults = dict(defaults or {})
        self.vault_var = vault_var
        self.notes = []        # [{"phone", "field", "reason"}]: options left out
        self.skipped = []      # [{"phone", "reason"}]: phones left out
        self.weak = []         # phones whose stored passwords the collection's policy would refuse on create
        self.dropped = {}      # label -> set of column names left out
        self.skip = {}         # label -> reason

    def columns_for(self, row):
        """The columns this row's entry sets, in the model's order."""
        label = model.phone_id(row["extension"], row["server_ip"])
        dropped = self.dropped.get(label, set())
        out = []
        for column in ORDERED:
            if column.name in dropped:
                continue
            stored = model.comparable(row.get(column.name))
            if column.name in ALWAYS:
                if stored != "" or column.name in model.IDENTITY:
                    out.append(column)
            elif stored != self.base.get(column.name, ""):
                out.append(column)
        return out

    def entry(self, row, real_secrets):
        """The entry of one row: with the secrets themselves (real_secrets, to plan it) or with
        references to the vault variable (to write it)."""
        label = model.phone_id(row["extension"], row["server_ip"])
        entry = {}
        for column in self.columns_for(row):
            value = option_value(column, row.get(column.name))
            if not real_secrets and isinstance(value, str) and is_secret_text(column, value):
                value = reference(self.vault_var, label, column.option)
            entry[column.option] = value
        return entry

    def secrets(self):
        """{label: {option: value}} of every secret the entries reference."""
        out = {}
        for row in self.rows:
            label = model.phone_id(row["extension"], row["server_ip"])
            if label in self.skip:
                continue
            for column in self.columns_for(row):
                value = option_value(column, row.get(column.name))
                if isinstance(value, str) and is_secret_text(column, value):
                    out.setdefault(label, {})[column.option] = value
        return out

    def entries(self):
        return [self.entry(r, False) for r in self.rows
                if model.phone_id(r["extension"], r["server_ip"]) not in self.skip]

    def settle(self, ctx, options=None):
        """Plan the entries against ctx (the rows they came from) until the plan is clean.

        Returns the final plan. Every option the planner refuses or would
        change is left out (and noted); a phone refused as a whole is left out.
        """
        options = dict(options or {})
        options.setdefault("defaults", self.defaults)
        plan = None
        for _round in range(MAX_ROUNDS):
            entries = [self.entry(r, True) for r in self.rows
                       if model.phone_id(r["extension"], r["server_ip"]) not in self.skip]
            parsed, errors = _phones.parse_all(entries, self.defaults)
            plan = _phones.PhonePlan(options)
            errors.extend(plan.build(parsed, ctx))
            progress = False
            for error in errors:
                progress |= self._drop(error.entry, error.field, error.message)
            for change in plan.changes:
                if change.action == "create" or not change.fields:
                    progress |= self._skip(change.label, "the planner would %s it" % change.action)
                    continue
                for name in change.fields:
                    progress |= self._drop(change.label, model.BY_COLUMN[name].option,
                                           "vicidial_phones would write it differently from how it is stored")
            if not errors and not plan.changes:
                break
            if not progress:
                raise ValueError("cannot settle the export: %s" % "; ".join(str(e) for e in errors[:5]))
        self.weak = self._weak(ctx, options)
        self.notes = [n for n in self.notes if n["phone"] not in self.skip]
        return plan

    def _drop(self, label, option, reason):
        column = model.OPTION_NAMES.get(option) if option else None
        if column is None or column.name in model.IDENTITY:
            return self._skip(label, reason)
        dropped = self.dropped.setdefault(label, set())
        if column.name in dropped:
            # Refused although the entry no longer sets it: it is the stored row
            # the planner refuses, so the phone cannot be an entry.
            return self._skip(label, "%s: %s" % (column.option, reason))
        dropped.add(column.name)
        self.notes.append(dict(phone=label, field=column.option,
                               reason="left out, not managed (the stored value stays): %s" % reason))
        return True

    def _skip(self, label, reason):
        if label in self.skip:
            return False
        self.skip[label] = reason
        self.skipped.append(dict(phone=label, reason=reason))
        return True

    def _weak(self, ctx, options):
        """Phones whose stored passwords the collection would refuse on create (not on this
        unchanged row): found by planning each one as a create. Never shows a value."""
        from ansible_collections.telephony.vicidial.plugins.module_utils import _validate as validate
        settings = ctx.get("settings") or {}
        policy = dict(
            require_password_length=int(settings.get("require_password_length") or 0),
            allow_weak_passwords=False,
            registration_password_min_length=options.get("registration_password_min_length", 12),
            phone_pass_min_length=options.get("phone_pass_min_length", 8),
        )
        found = []
        for row in self.rows:
            label = model.phone_id(row["extension"], row["server_ip"])
            if label in self.skip:
                continue
            values = dict((c, model.comparable(row.get(c))) for c in model.PASSWORD_COLUMNS
                          if model.comparable(row.get(c)))
            if row.get("protocol") not in model.REGISTERING_PROTOCOLS:
                values.pop("conf_secret", None)
            errors = []
            validate.check_passwords(label, values, policy, errors)
            if errors:
                found.append(dict(phone=label, fields=sorted(set(e.field for e in errors))))
        return found


def _ip_key(ip):
    try:
        return tuple(int(p) for p in ip.split("."))
    except ValueError:
        return (999, ip)


def read(conn, server_ips):
    """(rows, ctx, schema) for the phones on server_ips."""
    ctx = _phones.PhonePlan.read_context(conn, set(server_ips))
    schema = schema_defaults(conn)
    # What a create would store includes VICIdial's PHONE_DEFAULTS container when it is enabled (its keys never
    # overlap model.create_defaults, which baseline() puts first).
    container, _problems = _phones.PhonePlan({}).container_defaults(ctx)
    schema.update(container)
    return list(ctx["rows"].values()), ctx, schema
