# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply VICIdial phone aliases (phones_alias). Private to the collection.

An alias is a load-balanced phone login: at agent login, an alias_id stands
for the phones whose logins are in logins_list. admin.php's rules
(vicidial-phones.md 2.7, 4.3) are applied, but every problem is reported at
once, before anything is written (phones_alias is MyISAM):

* alias_id: 2 to 20 characters of [-_0-9A-Za-z] (admin.php's filter; its
  DELETE needs at least 2), unique among aliases and never a phone's login
  (compared case-insensitively, as the tables' collations compare);
* alias_name: 2 to 50 characters (letters, digits, space and - . , _);
* logins_list: at least one login, each the login of an existing phone; every
  bad one is named; joined with commas it fits VARCHAR(255).

A change writes one vicidial_admin_log row (section PHONEALIASES), as
admin.php does. Aliases never flag a conf rebuild.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.telephony.vicidial.plugins.module_utils._db import query

ALIAS_ID = re.compile(r"^[-_0-9A-Za-z]{2,20}$")
LOGIN = re.compile(r"^[-_0-9A-Za-z]{1,15}$")
NAME_CHARS = re.compile(r"^[- .,_0-9A-Za-z]*$")
DEFAULT_GROUP = "---ALL---"
LOG_CODES = {"create": ("ADD", "ANSIBLE ADD PHONE ALIAS"),
             "update": ("MODIFY", "ANSIBLE MODIFY PHONE ALIAS"),
             "delete": ("DELETE", "ANSIBLE DELETE PHONE ALIAS")}
ADMIN_LOG_INSERT = (
    "INSERT INTO vicidial_admin_log (event_date,user,ip_address,event_section,event_type,"
    "record_id,event_code,event_sql,event_notes) VALUES "
    "(NOW(),%s,LEFT(SUBSTRING_INDEX(USER(),'@',-1),15),'PHONEALIASES',%s,%s,%s,%s,%s)")
FIELDS = ("alias_name", "logins_list", "user_group")


class AliasError(Exception):
    """The declared aliases are invalid; the message lists every problem."""


def fold(text):
    return (text or "").lower()


def _literal(value):
    if value is None:
        return "NULL"
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "\\'")


def normalise(raw, index):
    """One declared alias -> (label, values, state, [problems]). values use column names."""
    problems = []
    if not isinstance(raw, dict):
        return "aliases[%d]" % index, {}, "present", ["aliases[%d]: must be a dictionary" % index]
    alias_id = raw.get("alias_id")
    label = alias_id if isinstance(alias_id, str) and alias_id else "aliases[%d]" % index
    state = raw.get("state") or "present"
    if state not in ("present", "absent"):
        problems.append("%s: state: must be present or absent, got %r" % (label, state))
    if not isinstance(alias_id, str) or not ALIAS_ID.match(alias_id):
        problems.append("%s: alias_id: must be 2 to 20 characters of letters, digits, - and _ (got %r)"
                        % (label, alias_id))
    values = {"alias_id": alias_id}
    if state == "absent":
        return label, values, state, problems
    name = raw.get("alias_name")
    if name is not None:
        if not isinstance(name, str) or not 2 <= len(name) <= 50:
            problems.append("%s: alias_name: must be 2 to 50 characters" % label)
        elif not NAME_CHARS.match(name):
            problems.append("%s: alias_name: only letters, digits, space and - . , _ are allowed (got %r)"
                            % (label, name))
        else:
            values["alias_name"] = name
    logins = raw.get("logins_list")
    if logins is not None:
        if isinstance(logins, str):
            logins = [part.strip() for part in logins.split(",")]
        if not isinstance(logins, list) or not logins:
            problems.append("%s: logins_list: must list at least one phone login" % label)
        else:
            bad = [str(x) for x in logins if not isinstance(x, str) or not LOGIN.match(x)]
            if bad:
                problems.append("%s: logins_list: not phone logins (1 to 15 letters, digits, - or _): %s"
                                % (label, ", ".join(repr(b) for b in bad)))
            seen, repeated = set(), set()
            for login in logins:
                if isinstance(login, str):
                    if fold(login) in seen:
                        repeated.add(login)
                    seen.add(fold(login))
            repeated = sorted(repeated)
            if repeated:
                problems.append("%s: logins_list: listed more than once: %s" % (label, ", ".join(repeated)))
            joined = ",".join(str(x) for x in logins)
            if len(joined) > 255:
                problems.append("%s: logins_list: is %d characters joined with commas; the column holds 255"
                                % (label, len(joined)))
            if not bad and not repeated and len(joined) <= 255:
                values["logins_list"] = joined
    group = raw.get("admin_user_group", raw.get("user_group"))
    if group is not None:
        if not isinstance(group, str) or not re.match(r"^[-_0-9A-Za-z]{1,20}$", group):
            problems.append("%s: admin_user_group: must be 1 to 20 letters, digits, - or _ (got %r)" % (label, group))
        else:
            values["user_group"] = group
    return label, values, state, problems


class AliasPlan(object):
    def __init__(self):
        self.changes = []   # dicts: action, alias_id, before, after, fields, sql, params
        self.unchanged = 0
        self.warnings = []

    @staticmethod
    def read(conn):
        aliases = dict((r["alias_id"], r) for r in query(
            conn, "SELECT alias_id, alias_name, logins_list, user_group FROM phones_alias"))
        logins = set(fold(r["login"]) for r in query(conn, "SELECT login FROM phones WHERE login <> ''")
                     if r["login"])
        return aliases, logins

    def build(self, declared, aliases, logins, purge_user_groups=None, extra_logins=()):
        """declared: raw alias dicts. Returns every problem (strings)."""
        problems = []
        logins = set(logins) | set(fold(x) for x in extra_logins or ())
        by_fold = dict((fold(a), row) for a, row in aliases.items())
        wanted = {}
        for index, raw in enumerate(declared or []):
            label, values, state, found = normalise(raw, index)
            problems.extend(found)
            if found:
                continue
            key = fold(values["alias_id"])
            if key in wanted:
                problems.append("%s: is declared more than once" % label)
                continue
            wanted[key] = (label, values, state)
        for key in sorted(wanted):
            label, values, state = wanted[key]
            existing = by_fold.get(key)
            if state == "absent":
                if existing is not None:
                    self._delete(existing)
                else:
                    self.unchanged += 1
                continue
            if existing is None:
                after = dict(alias_name=None, logins_list=None, user_group=DEFAULT_GROUP)
                after.update(values)
                fields = [f for f in FIELDS if after.get(f) is not None]
            else:
                after = dict((f, existing.get(f)) for f in FIELDS)
                after.update(values)
                fields = [f for f in FIELDS if f in values and (existing.get(f) or "") != (values[f] or "")]
            # (problem, judged): what this run writes is judged; what it leaves as stored only warns.
            found = []
            if existing is None and (after.get("alias_name") is None or after.get("logins_list") is None):
                found.append(("%s: alias_name and logins_list are required to create an alias" % label, True))
            if key in logins:
                found.append(("%s: alias_id: is also a phone login; a phone login and an alias id must differ"
                              % label, existing is None))
            if "logins_list" in values:
                unknown = [x for x in values["logins_list"].split(",") if fold(x) not in logins]
                if unknown:
                    found.append(("%s: logins_list: no phone has the login%s %s" % (
                        label, "s" if len(unknown) > 1 else "", ", ".join(unknown)),
                        existing is None or "logins_list" in fields))
            for problem, judged in found:
                if judged:
                    problems.append(problem)
                else:
                    self.warnings.append("%s (the stored alias is like this already; this run does not change "
                                         "it)" % problem)
            if existing is None:
                self.changes.append(dict(action="create", alias_id=values["alias_id"], before=None, after=after,
                                         fields=fields))
            elif fields:
                self.changes.append(dict(action="update", alias_id=existing["alias_id"], before=existing,
                                         after=dict((f, after[f]) for f in fields), fields=fields))
            else:
                self.unchanged += 1
        if purge_user_groups:
            groups = set(purge_user_groups)
            for alias_id in sorted(aliases):
                row = aliases[alias_id]
                if fold(alias_id) not in wanted and (row.get("user_group") or DEFAULT_GROUP) in groups:
                    self._delete(row)
        return problems

    def _delete(self, row):
        self.changes.append(dict(action="delete", alias_id=row["alias_id"], before=row, after=None, fields=[]))

    def statements(self):
        for change in self.changes:
            if change["action"] == "create":
                cols = ["alias_id"] + change["fields"]
                params = [change["alias_id"]] + [change["after"][f] for f in change["fields"]]
                marks = ",".join(["%s"] * len(cols))
                change["sql"] = "INSERT INTO phones_alias (%s) VALUES (%s)" % (",".join(cols), marks)
            elif change["action"] == "update":
                params = [change["after"][f] for f in change["fields"]] + [change["alias_id"]]
                change["sql"] = "UPDATE phones_alias SET %s WHERE alias_id=%%s LIMIT 1" % ",".join(
                    "%s=%%s" % f for f in change["fields"])
            else:
                params = [change["alias_id"]]
                change["sql"] = "DELETE FROM phones_alias WHERE alias_id=%s LIMIT 1"
            change["params"] = params
            change["readable"] = change["sql"].replace("%s", "{}").format(*[_literal(p) for p in params])

    def apply(self, conn, admin_user):
        """One statement and one admin log row per change; the log row first, as vicidial_phones does."""
        with conn.cursor() as cur:
            for change in self.changes:
                event_type, code = LOG_CODES[change["action"]]
                notes = "telephony.vicidial alias %s" % change["alias_id"]
                if change["action"] == "update":
                    notes += " fields: %s" % ",".join(change["fields"])
                cur.execute(ADMIN_LOG_INSERT, (admin_user, event_type, change["alias_id"], code,
                                               change["readable"].replace(";", "") + "|", notes))
                cur.execute(change["sql"], change["params"])

    def diff(self):
        before, after = {}, {}
        for change in self.changes:
            if change["before"] is not None:
                row = change["before"]
                fields = change["fields"] or list(FIELDS)
                before[change["alias_id"]] = dict((f, row.get(f)) for f in fields)
            if change["after"] is not None:
                after[change["alias_id"]] = dict((f, change["after"].get(f)) for f in change["fields"])
        return dict(before=before, after=after)

    def report(self):
        return [dict(alias_id=c["alias_id"], action=c["action"], fields=c["fields"]) for c in self.changes]
