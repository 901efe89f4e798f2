# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply a set of phone entries. Private to the collection.

The flow is the same for one entry and for a thousand: parse everything, take
the database lock, read the state once, validate the whole set against the
state the run will leave, then write (or, in check mode, only report). phones
is MyISAM, so there is no rollback: nothing is written unless every entry is
valid.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.telephony.vicidial.plugins.module_utils import _aliases, _render
from ansible_collections.telephony.vicidial.plugins.module_utils import _model as model
from ansible_collections.telephony.vicidial.plugins.module_utils import _validate as validate
from ansible_collections.telephony.vicidial.plugins.module_utils._db import NamedLock, query

ADMIN_LOG_CODES = {"create": ("ADD", "ANSIBLE ADD PHONE"),
                   "update": ("MODIFY", "ANSIBLE MODIFY PHONE"),
                   "delete": ("DELETE", "ANSIBLE DELETE PHONE")}
SLOW_LOCK_SECONDS = 5
# An update touching one of these is this run's doing as far as the PJSIP
# config check goes (issue 9).
PJSIP_RELEVANT = ("protocol", "conf_override", "template_id", "active")


def fold(text):
    """VICIdial's tables compare strings case-insensitively (the default
    collations); so do our uniqueness checks and lookups."""
    return (text or "").lower()


def fkey(extension, server_ip):
    return (fold(extension), server_ip)


class PlanError(Exception):
    """The declared set is invalid; the message lists every problem."""


def sql_literal(value):
    """A readable SQL literal, for reporting only (execution uses parameters)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return "'%s'" % text


def shown(column_name, value):
    """A value as users may see it: secrets are masked, and so are the secrets
    inside free text such as conf_override (by the collection's one masking
    function, _render.mask_secrets)."""
    if value is None:
        return value
    if column_name in model.SECRET_COLUMNS:
        return model.MASK
    if column_name in model.SECRET_BEARING_COLUMNS:
        return _render.mask_secrets(value)
    return value


def shown_change(column_name, old, new):
    """The after value of a changed column for a diff. A masked value that
    reads the same as before still says that it changed."""
    if column_name in model.SECRET_COLUMNS:
        return model.MASK + " (changed)"
    after = shown(column_name, new)
    if column_name in model.SECRET_BEARING_COLUMNS and after == shown(column_name, old):
        return after + "\n(a masked secret in it changed)"
    return after


class Change(object):
    __slots__ = ("action", "key", "label", "values", "before", "fields", "sql", "params")

    def __init__(self, action, key, label, values=None, before=None, fields=()):
        self.action = action
        self.key = key
        self.label = label
        self.values = values or {}
        self.before = before
        self.fields = list(fields)
        self.sql = None
        self.params = None


class PhonePlan(object):
    """What a run will do, computed without writing anything."""

    def __init__(self, options):
        self.options = options
        self.changes = []
        self.unchanged = 0
        self.warnings = []
        self.flag_servers = []
        self.logged_ahead = {}
        self.resumed = 0
        self._container_values = None

    # ---- reading -------------------------------------------------------
    @staticmethod
    def read_context(conn, server_ips):
        ctx = {}
        ctx["servers"] = dict((r["server_ip"], r) for r in query(
            conn, "SELECT server_id, server_ip, asterisk_version, active_asterisk_server, "
                  "generate_vicidial_conf, active_agent_login_server FROM servers"))
        rows = query(conn, "SELECT * FROM system_settings LIMIT 1")
        ctx["settings"] = rows[0] if rows else {}
        templates = query(conn, "SELECT template_id, template_contents FROM vicidial_conf_templates")
        ctx["templates"] = set(r["template_id"] for r in templates)
        # Only read to judge what a PJSIP phone would load; never shown.
        ctx["template_contents"] = dict((r["template_id"], r["template_contents"]) for r in templates)
        ctx["voicemail_ids"] = set(r["voicemail_id"] for r in query(
            conn, "SELECT voicemail_id FROM vicidial_voicemail"))
        ctx["aliases"] = query(conn, "SELECT alias_id, logins_list, user_group FROM phones_alias")
        ctx["alias_ids"] = set(r["alias_id"] for r in ctx["aliases"])
        ctx["phone_defaults"] = PhonePlan.read_phone_defaults(conn, ctx["settings"])
        # Every phone's identity and login (uniqueness is judged across all
        # servers); full rows only for the servers this run touches.
        ctx["logins"] = query(conn, "SELECT extension, server_ip, login FROM phones")
        ctx["rows"] = {}
        if server_ips:
            marks = ",".join(["%s"] * len(server_ips))
            for row in query(conn, "SELECT * FROM phones WHERE server_ip IN (%s)" % marks, sorted(server_ips)):
                ctx["rows"][(row["extension"], row["server_ip"])] = row
        return ctx

    @staticmethod
    def read_phone_defaults(conn, settings):
        """The PHONE_DEFAULTS container system_settings.phone_defaults_container names, or None when disabled.

        {container_id, entry} or {container_id, problem} when the name is not
        a PHONE_DEFAULTS container (then it is not applied, with a warning).
        """
        name = (settings or {}).get("phone_defaults_container")
        if name is None or name.strip() in model.PHONE_DEFAULTS_DISABLED:
            return None
        rows = query(conn, "SELECT container_id, container_type, container_entry FROM vicidial_settings_containers "
                           "WHERE container_id=%s", (name,))
        if not rows:
            return dict(container_id=name, problem="names no row of vicidial_settings_containers")
        if rows[0]["container_type"] != model.PHONE_DEFAULTS_TYPE:
            return dict(container_id=name, problem="names a container of type %r, not %s"
                        % (rows[0]["container_type"], model.PHONE_DEFAULTS_TYPE))
        return dict(container_id=rows[0]["container_id"], entry=rows[0]["container_entry"] or "")

    # ---- planning ------------------------------------------------------
    def build(self, parsed, ctx, purge_servers=None):
        """parsed: list of (label, state, values). Returns a list of EntryError."""
        errors = []
        opts = self.options
        settings = ctx["settings"]
        # Case-folded views of the state, for lookups and uniqueness.
        self._rows = dict((fkey(*_identity(r)), r) for r in ctx["rows"].values())
        self._templates = set(fold(t) for t in ctx["templates"])
        self._voicemail_ids = set(fold(v) for v in ctx["voicemail_ids"])
        self._alias_ids = set(fold(a) for a in ctx["alias_ids"])
        declared = {}
        for label, state, values in parsed:
            key = fkey(values["extension"], values["server_ip"])
            if key in declared:
                errors.append(validate.EntryError(label, None, "is declared more than once"))
                continue
            declared[key] = (label, state, values)

        defaults = model.create_defaults(settings)
        policy = dict(
            require_password_length=int(settings.get("require_password_length") or 0),
            allow_weak_passwords=opts.get("allow_weak_passwords"),
            registration_password_min_length=opts.get("registration_password_min_length", 12),
            phone_pass_min_length=opts.get("phone_pass_min_length", 8),
        )
        for key in sorted(declared):
            label, state, values = declared[key]
            existing = self._rows.get(key)
            if state == "absent":
                if existing is not None:
                    self.changes.append(Change("delete", _identity(existing), label, before=existing))
                else:
                    self.unchanged += 1
                continue
            self._plan_present(label, values, existing, defaults, policy, ctx, errors)

        if purge_servers:
            for key in sorted(self._rows):
                if key[1] in purge_servers and key not in declared:
                    row = self._rows[key]
                    self.changes.append(Change("delete", _identity(row), model.phone_id(*_identity(row)),
                                               before=row))

        self._check_logins(ctx, errors)
        self._check_alias_deletes(ctx, errors)
        return errors

    def container_defaults(self, ctx):
        """({column: value}, {column: problem}): what the PHONE_DEFAULTS container gives a new row, as
        admin.php's ADD applies it, and the values their columns cannot hold.

        Computed once per run, at the first create. Keys the ADD form carries itself are not applied; keys that
        are not columns this collection manages are skipped with a warning; an
        empty value is not applied, except conf_override's. voicemail_timezone
        is the container's line, else system_settings.default_voicemail_timezone.
        """
        if self._container_values is not None:
            return self._container_values
        values, problems = {}, {}
        self._container_values = (values, problems)
        info = ctx.get("phone_defaults")
        if not info:
            return self._container_values
        where = "PHONE_DEFAULTS container %r (system_settings.phone_defaults_container)" % info["container_id"]
        if info.get("problem"):
            self.warnings.append("system_settings.phone_defaults_container %r %s; new phones get no PHONE_DEFAULTS"
                                 % (info["container_id"], info["problem"]))
            return self._container_values
        for key, value in model.parse_phone_defaults(info["entry"]):
            column = model.BY_COLUMN.get(key)
            if key in model.ADD_INSERT_COLUMNS:
                if key not in model.PHONE_DEFAULTS_FORM_KEYS and value:
                    self.warnings.append("%s: %s: admin.php's ADD writes this column itself; not applied"
                                         % (where, key))
                continue
            if column is None:
                self.warnings.append("%s: %s: is not a phone column this collection manages; skipped" % (where, key))
                continue
            values.pop(key, None)
            problems.pop(key, None)
            if value == "" and key != "conf_override":
                continue
            coerced, problem = validate.coerce_value(column, value)
            if problem:
                problems[key] = "from the %s: %s" % (where, problem)
                continue
            values[key] = coerced
        if not values.get("voicemail_timezone") and "voicemail_timezone" not in problems:
            values["voicemail_timezone"] = ((ctx.get("settings") or {}).get("default_voicemail_timezone")
                                            or "eastern")
        return self._container_values

    def _check_alias_deletes(self, ctx, errors):
        """A phone whose login an alias still lists may be deleted only when this run also takes the login out
        of that alias: the alias is declared (options["aliases"]) without it, declared absent, or removed by
        the alias purge of this run. A login another phone keeps (a phone moved to another server) is not lost."""
        deleted = [c for c in self.changes if c.action == "delete"]
        if not deleted or not ctx.get("aliases"):
            return
        removed = set(fkey(*c.key) for c in deleted)
        final = set()
        for row in ctx.get("logins") or ():
            if fkey(row["extension"], row["server_ip"]) not in removed and row.get("login"):
                final.add(fold(row["login"]))
        for change in self.changes:
            if change.action in ("create", "update") and change.values.get("login"):
                final.add(fold(change.values["login"]))
        declared, purge_groups = self._declared_aliases()
        aliases = [(alias, set(fold(x.strip()) for x in (alias.get("logins_list") or "").split(",")))
                   for alias in sorted(ctx["aliases"], key=lambda a: fold(a["alias_id"]))]
        for change in sorted(deleted, key=lambda c: fkey(*c.key)):
            login = (change.before or {}).get("login")
            if not login or fold(login) in final:
                continue
            holding = []
            for alias, listed in aliases:
                if fold(login) not in listed:
                    continue
                state, logins = declared.get(fold(alias["alias_id"]), (None, None))
                if state == "absent" or (state == "present" and logins is not None and fold(login) not in logins):
                    continue
                if state is None and (alias.get("user_group") or _aliases.DEFAULT_GROUP) in purge_groups:
                    continue
                holding.append(alias["alias_id"])
            if holding:
                errors.append(validate.EntryError(
                    change.label, None,
                    "cannot be deleted: its login %r is still listed by phone alias%s %s (phones_alias.logins_list); "
                    "take the login out of %s in the same run (vicidial_phones_aliases, or the aliases option) or "
                    "delete %s" % (login, "es" if len(holding) > 1 else "", ", ".join(holding),
                                   "them" if len(holding) > 1 else "it", "them" if len(holding) > 1 else "it")))

    def _declared_aliases(self):
        """({fold(alias_id): (state, set of folded logins or None)}, purge groups) from options["aliases"]."""
        spec = self.options.get("aliases") or {}
        declared = {}
        for index, raw in enumerate(spec.get("declared") or []):
            _label, values, state, _problems = _aliases.normalise(raw, index)
            if not isinstance(values.get("alias_id"), str):
                continue
            logins = values.get("logins_list")
            declared[fold(values["alias_id"])] = (
                state, None if logins is None else set(fold(x) for x in logins.split(",")))
        groups = set(spec.get("purge_user_groups") or []) if spec.get("purge") else set()
        return declared, groups

    def _plan_present(self, label, values, existing, defaults, policy, ctx, errors):
        opts = self.options
        # Updates address the stored row; a new row gets the declared spelling.
        key = _identity(existing) if existing is not None else (values["extension"], values["server_ip"])
        server = ctx["servers"].get(key[1])
        if server is None:
            errors.append(validate.EntryError(label, "server_ip", "no VICIdial server has this IP (servers table)"))
        writes = dict(values)
        if existing is not None and opts.get("update_password") == "on_create":
            for column_name in model.PASSWORD_COLUMNS:
                writes.pop(column_name, None)
        if existing is None:
            after = dict(defaults)
            # PHONE_DEFAULTS, as admin.php's ADD applies it; what the entry (or
            # the inventory's defaults) declares wins over the container.
            container, problems = self.container_defaults(ctx)
            after.update(container)
            # A container value its column cannot hold is an error for the
            # phones it would be written to (a declared value shadows it).
            for column_name, problem in sorted(problems.items()):
                if column_name not in writes:
                    errors.append(validate.EntryError(label, model.BY_COLUMN[column_name].option, problem))
            after.update(writes)
            changed = sorted(after)
        else:
            after = dict((k, v) for k, v in existing.items() if k not in model.RUNTIME_COLUMNS)
            after.update(writes)
            changed = [c for c in sorted(writes)
                       if model.comparable(existing.get(c)) != model.comparable(writes[c])]
        protocol = after.get("protocol") or "SIP"
        self._check_required(label, writes, after, protocol, existing, errors)
        if "protocol" not in values:
            validate.check_extension(label, values["extension"], protocol, errors)
        template = writes.get("template_id")
        if template not in (None,) + model.NO_TEMPLATE and fold(template) not in self._templates:
            errors.append(validate.EntryError(
                label, "template_id", "no conf template %r in vicidial_conf_templates" % template))
        vm = writes.get("voicemail_id")
        if vm and fold(vm) in self._voicemail_ids:
            errors.append(validate.EntryError(
                label, "voicemail_id", "%r is a box of vicidial_voicemail; a phone needs its own" % vm))
        if writes.get("login") and fold(writes["login"]) in self._alias_ids:
            errors.append(validate.EntryError(label, "phone_login", "%r is already a phone alias id" % writes["login"]))
        if protocol == "SIP" and server is not None and _major(server.get("asterisk_version")) >= 21:
            errors.append(validate.EntryError(
                label, "protocol", "SIP (chan_sip) does not exist on Asterisk %s (server %s); use PJSIP"
                % (server.get("asterisk_version"), key[1])))
        # (An empty one is reported by _check_required, not judged for length.)
        password_writes = dict((c, writes[c]) for c in model.PASSWORD_COLUMNS if writes.get(c))
        if existing is not None:
            # Only a password that changes is judged: an unchanged weak one was
            # accepted before and is not this run's doing...
            password_writes = dict((c, v) for c, v in password_writes.items() if c in changed)
        validate.check_passwords(label, password_writes, policy, errors)
        if existing is not None and "conf_secret" not in password_writes and writes.get("conf_secret") != "":
            # ...unless this run makes it live: activating the phone (or moving
            # it to a registering protocol) puts the stored secret into Asterisk.
            self._check_secret_made_live(label, existing, after, protocol, policy, errors)
        # A config Asterisk cannot load is refused when this run causes it, and
        # only reported when the row was like that already.
        touched = existing is None or any(c in changed for c in PJSIP_RELEVANT)
        for field, message in self._pjsip_problems(after, protocol, ctx):
            if touched:
                errors.append(validate.EntryError(label, field, message))
            else:
                self.warnings.append("%s: %s: %s (the stored row is like this already; this run does not "
                                     "change it)" % (label, field, message))

        if existing is None:
            self.changes.append(Change("create", key, label, values=after, fields=sorted(after)))
            return
        if changed:
            self.changes.append(Change("update", key, label, values=dict((c, writes[c]) for c in changed),
                                       before=existing, fields=changed))
        else:
            self.unchanged += 1

    @staticmethod
    def _check_required(label, writes, after, protocol, existing, errors):
        """What admin.php's ADD requires, on create; on update, what the entry
        would empty (admin.php's MODIFY refuses that too)."""
        registering = protocol in model.REGISTERING_PROTOCOLS
        if existing is None:
            missing = [c for c in model.REQUIRED_ON_CREATE if not after.get(c)]
            if registering and not after.get("conf_secret"):
                missing.append("conf_secret")
            for column_name in missing:
                errors.append(validate.EntryError(label, model.BY_COLUMN[column_name].option,
                                                  "is required to create the phone"))
            return
        emptied = [c for c in model.REQUIRED_ON_CREATE if c in writes and not writes[c]]
        if registering and "conf_secret" in writes and not writes["conf_secret"]:
            emptied.append("conf_secret")
        for column_name in emptied:
            errors.append(validate.EntryError(
                label, model.BY_COLUMN[column_name].option,
                "must not be empty: VICIdial requires it for a phone (an empty dialplan_number, for one, "
                "writes 'exten => ,1,...'); leave the option out to keep the stored value"))

    @staticmethod
    def _check_secret_made_live(label, existing, after, protocol, policy, errors):
        live = after.get("active") == "Y" and protocol in model.REGISTERING_PROTOCOLS
        was_live = existing.get("active") == "Y" and existing.get("protocol") in model.REGISTERING_PROTOCOLS
        if not live or was_live:
            return
        how = "activating the phone" if existing.get("active") != "Y" else "changing its protocol to %s" % protocol
        stored = model.comparable(existing.get("conf_secret"))
        why = " (the stored registration password, which this run makes live by %s)" % how
        if not stored:
            errors.append(validate.EntryError(
                label, "registration_password", "is empty%s; set registration_password" % why))
            return
        validate.check_passwords(label, {"conf_secret": stored}, policy, errors, why=why)

    def _pjsip_problems(self, after, protocol, ctx):
        """[(field, message)] for an active PJSIP phone whose override or
        template holds keys the config wizard cannot load (keys only: values
        may be secrets). Template and override are used as VICIdial's
        generator uses them (vicidial-phones.md 3.4)."""
        if protocol != "PJSIP" or after.get("active") != "Y":
            return []
        found = []
        template_id = model.comparable(after.get("template_id"))
        template = None
        if len(template_id) > 1 and "--NONE--" not in template_id:
            wanted = fold(template_id.rstrip(" "))
            for tid, text in sorted((ctx.get("template_contents") or {}).items()):
                if fold(tid.rstrip(" ")) == wanted:
                    template = model.comparable(text)
                    break
            if template is None and wanted in self._templates:
                template = ""
        if template is not None:
            keys = _render.pjsip_config_problems(template, own_stanza=False)
            if keys:
                found.append(("template_id", "template %r has keys the PJSIP config wizard cannot load: %s; "
                              "use a template written for the wizard (endpoint/..., aor/..., inbound_auth/...), "
                              "set template_id to '' or keep the phone on SIP or IAX2"
                              % (template_id, ", ".join(keys))))
        override = model.comparable(after.get("conf_override"))
        if len(override) > 10:  # VICIdial uses the override only when longer than 10
            keys = _render.pjsip_config_problems(override, own_stanza=template is None)
            if keys:
                found.append(("conf_override", "has keys the PJSIP config wizard cannot load: %s; rewrite it "
                              "for the wizard (type=wizard, endpoint/..., aor/..., inbound_auth/...), empty it "
                              "or keep the phone on SIP or IAX2" % ", ".join(keys)))
        return found

    def _check_logins(self, ctx, errors):
        """A login is unique across all phones in the state the run leaves."""
        final = {}
        deleted = set(fkey(*c.key) for c in self.changes if c.action == "delete")
        new_login = dict((fkey(*c.key), c.values.get("login")) for c in self.changes
                         if c.action in ("create", "update") and c.values.get("login"))
        names = {}
        for row in ctx["logins"]:
            key = fkey(row["extension"], row["server_ip"])
            names[key] = model.phone_id(row["extension"], row["server_ip"])
            if key in deleted:
                continue
            login = new_login.pop(key, row["login"])
            if login:
                final.setdefault(fold(login), []).append(key)
        for key, login in new_login.items():
            final.setdefault(fold(login), []).append(key)
        planned = dict((fkey(*c.key), c) for c in self.changes
                       if c.action in ("create", "update") and c.values.get("login"))
        for key, change in planned.items():
            names[key] = model.phone_id(*change.key)
        for keys in final.values():
            if len(keys) < 2:
                continue
            for key in keys:
                if key in planned:
                    others = ", ".join(names[k] for k in keys if k != key)
                    errors.append(validate.EntryError(
                        planned[key].label, "phone_login",
                        "%r is also the login of %s" % (planned[key].values["login"], others)))

    # ---- reporting -----------------------------------------------------
    def statements(self):
        """Attach the SQL (parameterised, plus a masked readable form) to each change."""
        for change in self.changes:
            ext, ip = change.key
            if change.action == "create":
                cols = sorted(change.values)
                change.sql = "INSERT INTO phones (%s) VALUES (%s)" % (",".join(cols), ",".join(["%s"] * len(cols)))
                change.params = [change.values[c] for c in cols]
                change.fields = cols
            elif change.action == "update":
                cols = sorted(change.values)
                change.sql = "UPDATE phones SET %s WHERE extension=%%s AND server_ip=%%s LIMIT 1" % (
                    ",".join("%s=%%s" % c for c in cols))
                change.params = [change.values[c] for c in cols] + [ext, ip]
            else:
                change.sql = "DELETE FROM phones WHERE extension=%s AND server_ip=%s LIMIT 1"
                change.params = [ext, ip]

    @staticmethod
    def readable(change):
        """The statement as text with secrets masked (for results and the admin log)."""
        cols = change.fields if change.action != "delete" else []
        values = [sql_literal(shown(c, v)) for c, v in zip(cols, change.params)]
        values += [sql_literal(v) for v in change.params[len(cols):]]
        return change.sql.replace("%s", "{}").format(*values)

    def diff(self):
        before, after = {}, {}
        for change in self.changes:
            if change.action == "create":
                after[change.label] = dict((model.BY_COLUMN[c].option, shown(c, v))
                                           for c, v in change.values.items() if c in model.BY_COLUMN)
            elif change.action == "update":
                before[change.label] = dict((model.BY_COLUMN[c].option, shown(c, change.before.get(c)))
                                            for c in change.fields)
                after[change.label] = dict(
                    (model.BY_COLUMN[c].option, shown_change(c, change.before.get(c), change.values[c]))
                    for c in change.fields)
            else:
                row = change.before
                before[change.label] = dict(
                    (model.BY_COLUMN[c].option, shown(c, row.get(c)))
                    for c in ("dialplan_number", "protocol", "login", "active") if c in row)
        return {"before": before, "after": after}

    def pending(self):
        """Planned row changes with secrets replaced by the mask (for check-mode plans).

        vicidial_phone_config overlays them on the database in check mode, so
        that a plan also shows the Asterisk config the apply would write. A
        changed secret becomes the mask, which still makes the file differ.
        """
        out = []
        for change in self.changes:
            values = dict((c, shown(c, v)) for c, v in change.values.items())
            out.append(dict(extension=change.key[0], server_ip=change.key[1], action=change.action, values=values))
        return out

    def report(self):
        return [dict(phone=c.label, action=c.action,
                     fields=[model.BY_COLUMN[f].option for f in c.fields if f in model.BY_COLUMN]
                     if c.action != "delete" else [])
                for c in self.changes]

    # ---- writing -------------------------------------------------------
    # phones, servers and vicidial_admin_log are MyISAM: no transaction makes
    # the row changes, the rebuild flags and the log rows one unit. A run that
    # died between them used to leave rows changed but no server flagged and
    # nothing logged, and a rerun saw nothing to do. So each run keeps a
    # write-ahead journal in vicidial_admin_log itself (VICIdial's cron account
    # may write that table; it may not create one of its own):
    #   1. a journal row (JOURNAL_CODE) naming the servers to flag, then the
    #      run's log rows, tagged "(run <journal id>)", before any phone row;
    #   2. the phone rows; 3. the rebuild flags; 4. the journal row is deleted.
    # The next run, under the same lock, finds a journal row that is still
    # there, sets its flags and deletes it. The log rows stay: they record the
    # changes the interrupted run made; a logged change it did not get to make
    # is planned again, and is not logged a second time (same statement).
    def apply(self, conn, ctx, admin_user):
        """Write every change, flag the servers, log to vicidial_admin_log."""
        queries = []
        # Deletes first, so that a login freed by a purge is free for a create.
        order = {"delete": 0, "update": 1, "create": 2}
        self.changes.sort(key=lambda c: order[c.action])
        changes = self.changes
        servers, vm = self.affected_servers(ctx)
        sounds = any(c.action == "update" for c in changes)
        journal = self.open_journal(conn, admin_user, servers, vm, sounds)
        self.log(conn, admin_user, journal)
        with conn.cursor() as cur:
            for change in changes:
                if change.action != "create":
                    cur.execute(change.sql, change.params)
                queries.append(self.readable(change))
            # Inserts with the same column list go in one multi-row statement.
            groups = {}
            for change in changes:
                if change.action == "create":
                    groups.setdefault(change.sql, []).append(change.params)
            for sql, rows in groups.items():
                cur.executemany(sql, rows)
        queries.extend(self.flag(conn, ctx, execute=True))
        close_journal(conn, journal)
        return queries

    def affected_servers(self, ctx):
        servers = set(c.key[1] for c in self.changes)
        vm = (ctx["settings"] or {}).get("active_voicemail_server")
        return sorted(servers), vm

    def flag(self, conn, ctx, execute):
        """Flag rebuild_conf_files as admin.php does, with its filters."""
        if not self.changes:
            return []
        servers, vm = self.affected_servers(ctx)
        sounds = any(c.action == "update" for c in self.changes)
        return self.flag_servers_of(conn, ctx, servers, vm, sounds, execute)

    def flag_servers_of(self, conn, ctx, servers, vm, sounds, execute):
        statements = []
        if servers:
            marks = ",".join(["%s"] * len(servers))
            statements.append((
                "UPDATE servers SET rebuild_conf_files='Y' WHERE generate_vicidial_conf='Y' "
                "AND active_asterisk_server='Y' AND server_ip IN (%s)" % marks, list(servers)))
        if vm:
            extra = ", sounds_update='Y'" if sounds else ""
            statements.append((
                "UPDATE servers SET rebuild_conf_files='Y'%s WHERE generate_vicidial_conf='Y' "
                "AND active_asterisk_server='Y' AND server_ip=%%s" % extra, [vm]))
        flagged = set(s for s in list(servers) + ([vm] if vm else [])
                      if s in ctx["servers"] and ctx["servers"][s]["generate_vicidial_conf"] == "Y"
                      and ctx["servers"][s]["active_asterisk_server"] == "Y")
        self.flag_servers = sorted(flagged | set(self.flag_servers))
        if execute:
            with conn.cursor() as cur:
                for sql, args in statements:
                    cur.execute(sql, args)
        return [sql.replace("%s", "{}").format(*[sql_literal(a) for a in args]) for sql, args in statements]

    @staticmethod
    def open_journal(conn, admin_user, servers, vm, sounds):
        """Write the journal row; return its id (see the comment above apply)."""
        notes = json.dumps(dict(servers=list(servers), vm=vm or "", sounds=bool(sounds)), sort_keys=True)
        with conn.cursor() as cur:
            cur.execute(ADMIN_LOG_INSERT, (admin_user, "OTHER", JOURNAL_RECORD, JOURNAL_CODE, "", notes))
            return cur.lastrowid

    def log(self, conn, admin_user, journal=None):
        rows = []
        # Statements an interrupted run already logged (resume_journals) are
        # not logged again when this run makes them.
        logged = dict(self.logged_ahead)
        for change in self.changes:
            event_type, code = ADMIN_LOG_CODES[change.action]
            ext, ip = change.key
            # VICIdial stores statements joined by '|' with ';' removed; ours
            # carry masked secrets, unlike VICIdial's own log rows.
            event_sql = self.readable(change).replace(";", "") + "|"
            if logged.get((ext[:50], code, event_sql)):
                logged[(ext[:50], code, event_sql)] -= 1
                continue
            notes = "telephony.vicidial %s" % model.phone_id(ext, ip)
            if change.action == "update":
                notes += " fields: %s" % ",".join(model.BY_COLUMN[f].option for f in change.fields)
            if journal is not None:
                notes += " (run %s)" % journal
            rows.append((admin_user, event_type, ext[:50], code, event_sql, notes))
        if rows:
            with conn.cursor() as cur:
                cur.executemany(ADMIN_LOG_INSERT, rows)

    def resume_journals(self, conn, ctx, execute):
        """Finish what interrupted runs left undone: their rebuild flags.

        Returns the statements (run, or in check mode, to run). Remembers the
        log rows those runs wrote ahead, so that log() does not repeat them.
        """
        journals = query(conn, "SELECT admin_log_id, event_notes FROM vicidial_admin_log WHERE record_id=%s "
                               "AND event_code=%s ORDER BY admin_log_id", (JOURNAL_RECORD, JOURNAL_CODE))
        statements = []
        for journal in journals:
            try:
                todo = json.loads(journal["event_notes"] or "{}")
            except ValueError:
                todo = {}
            statements.extend(self.flag_servers_of(conn, ctx, todo.get("servers") or [], todo.get("vm") or "",
                                                   todo.get("sounds"), execute))
            for row in query(conn, "SELECT record_id, event_code, event_sql FROM vicidial_admin_log "
                                   "WHERE admin_log_id > %s AND event_section='PHONES' AND event_notes LIKE %s",
                             (journal["admin_log_id"], "%% (run %d)" % journal["admin_log_id"])):
                logged = (row["record_id"], row["event_code"], row["event_sql"])
                self.logged_ahead[logged] = self.logged_ahead.get(logged, 0) + 1
            if execute:
                close_journal(conn, journal["admin_log_id"])
        if journals:
            self.warnings.append(
                "%s interrupted run(s) had left their servers unflagged; %s" % (
                    len(journals), "flagged them now" if execute else "a run without check mode flags them"))
        self.resumed = len(journals)
        return statements


ADMIN_LOG_INSERT = (
    "INSERT INTO vicidial_admin_log (event_date,user,ip_address,event_section,event_type,"
    "record_id,event_code,event_sql,event_notes) VALUES "
    "(NOW(),%s,LEFT(SUBSTRING_INDEX(USER(),'@',-1),15),'PHONES',%s,%s,%s,%s,%s)")
JOURNAL_RECORD = "telephony.vicidial"
JOURNAL_CODE = "ANSIBLE PHONES UNFINISHED"


def close_journal(conn, journal):
    if journal:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM vicidial_admin_log WHERE admin_log_id=%s AND event_code=%s LIMIT 1",
                        (journal, JOURNAL_CODE))


def _identity(row):
    return (row["extension"], row["server_ip"])


def _major(version):
    """Asterisk major version from servers.asterisk_version ('22.10.1' -> 22, '1.8.x' -> 1)."""
    try:
        return int(str(version or "").split(".", 1)[0])
    except ValueError:
        return 0


def parse_all(entries, defaults):
    parsed, errors = [], []
    for index, raw in enumerate(entries or []):
        label, state, values, problems = validate.parse_entry(raw, defaults, index)
        errors.extend(problems)
        if not problems:
            parsed.append((label, state, values))
    return parsed, errors


def run(conn, database, entries, options, check_mode, purge_servers=None):
    """Plan and (unless check_mode) apply. Returns (plan, queries, ctx)."""
    parsed, errors = parse_all(entries, options.get("defaults"))
    admin_user = options.get("admin_user") or "ansible"
    # Checked before the first write: in strict mode a user the log cannot
    # hold would fail the run after the phone rows are written.
    problem = validate.admin_user_problem(admin_user)
    if problem:
        errors.append(validate.EntryError("admin_user", None, problem))
    server_ips = set(values["server_ip"] for _l, _s, values in parsed) | set(purge_servers or [])
    plan = PhonePlan(options)
    with NamedLock(conn, database, options.get("lock_timeout", 300)) as lock:
        if lock.waited > SLOW_LOCK_SECONDS:
            plan.warnings.append("waited %.0f s for another run holding the phones lock" % lock.waited)
        ctx = PhonePlan.read_context(conn, server_ips)
        for ip in sorted(purge_servers or []):
            if ip not in ctx["servers"]:
                errors.append(validate.EntryError("purge_servers", None, "%s is not a VICIdial server" % ip))
        errors.extend(plan.build(parsed, ctx, purge_servers))
        if errors:
            raise PlanError(validate.format_errors(errors))
        plan.statements()
        queries = plan.resume_journals(conn, ctx, execute=not check_mode)
        if check_mode:
            queries += [plan.readable(c) for c in plan.changes] + plan.flag(conn, ctx, execute=False)
        elif plan.changes:
            queries += plan.apply(conn, ctx, admin_user)
    return plan, queries, ctx
