# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing and validation of phone entries. Private to the collection.

admin.php silently strips characters it does not like; here every problem is
an error that names the entry (extension@server_ip) and the field, and all of
them are reported together before anything is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.telephony.vicidial.plugins.module_utils import _model as model

TRUE_STRINGS = ("y", "yes", "on", "1", "true", "t")
FALSE_STRINGS = ("n", "no", "off", "0", "false", "f")
ENTRY_KEYS = ("state",)
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = re.compile(r"^%s(\.%s){3}$" % (_OCTET, _OCTET))
# Lines of conf_override that would escape the phone's own stanza. Asterisk's
# config parser skips every byte below 33 (not only blanks) before it looks
# for '[' or '#', so "\x01[evil]" is a section header to it.
OVERRIDE_ESCAPES = re.compile(r"^[\x00-\x20]*(\[|#)")
# In multi-line text only tab and newline are layout; any other control
# character is refused outright (it can hide a header from a reader, too).
TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SHIPPED_DEFAULT_PASSWORD = "test"


class EntryError(object):
    """One problem with one field of one entry."""

    __slots__ = ("entry", "field", "message")

    def __init__(self, entry, field, message):
        self.entry = entry
        self.field = field
        self.message = message

    def __str__(self):
        if self.field:
            return "%s: %s: %s" % (self.entry, self.field, self.message)
        return "%s: %s" % (self.entry, self.message)


def _printable(value):
    """A value fit for a one-line label: control characters are shown escaped."""
    text = str(value)
    return repr(text) if model.CONTROL.search(text) else text


def entry_label(raw, index):
    """extension@server_ip when both are known, else the entry's position."""
    ext = raw.get("extension") if isinstance(raw, dict) else None
    ip = raw.get("server_ip") if isinstance(raw, dict) else None
    ext = None if ext is None else _printable(ext)
    ip = None if ip is None else _printable(ip)
    if ext not in (None, "") and ip not in (None, ""):
        return model.phone_id(ext, ip)
    if ext not in (None, ""):
        return "%s@(no server_ip) (phones[%d])" % (ext, index)
    return "phones[%d]" % index


def _coerce(column, value):
    """Return (db_value, error message or None) for one option value."""
    if value is None:
        return None, None
    kind = column.kind
    if kind in ("yn", "01"):
        if isinstance(value, bool):
            return model.to_db(column, value), None
        text = str(value).strip().lower()
        if text in TRUE_STRINGS:
            return model.to_db(column, True), None
        if text in FALSE_STRINGS:
            return model.to_db(column, False), None
        return None, "must be a boolean (true/false, Y/N), got %r" % (value,)
    if kind == "int":
        if isinstance(value, bool):
            return None, "must be a whole number, got a boolean"
        try:
            number = int(str(value).strip())
        except ValueError:
            return None, "must be a whole number, got %r" % (value,)
        if column.minimum is not None and number < column.minimum:
            return None, "must be at least %d, got %d" % (column.minimum, number)
        if column.maximum is not None and number > column.maximum:
            return None, "must be at most %d, got %d" % (column.maximum, number)
        return number, None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        return None, "must be a string, got %s" % type(value).__name__
    problem = string_type_problem(column, value)
    if problem:
        return None, problem
    if column.name == "local_gmt":
        # YAML reads local_gmt: -5.00 as the float -5.0, and Ansible then
        # passes '-5.0'; VICIdial's list spells it -5.00.
        try:
            return "%.2f" % float(value), None
        except ValueError:
            pass
    return str(value), None


def string_type_problem(column, value):
    """Identity and secret columns must arrive as strings (model.STRING_ONLY).

    YAML turns an unquoted 0123 into 83 and 012345670 into 2739128; converting
    it back to text would silently address another phone or set another
    password. A secret's value is never shown.
    """
    if column.name not in model.STRING_ONLY or value is None or isinstance(value, str):
        return None
    number = isinstance(value, (int, float))
    if column.secret:
        got = "a number" if number else "a %s" % type(value).__name__
    else:
        got = "the number %r" % (value,) if number else "a %s" % type(value).__name__
    return ("must be a string, got %s; quote it in YAML (%s: \"0123\"): an unquoted number loses its leading "
            "zeros or is read as octal" % (got, column.option))


def _text_problem(column, value, secret):
    """Field-level checks that need no database. Returns a message or None."""
    shown = "" if secret else " (%r)" % value
    if column.kind == "text":
        # CRLF is how VICIdial's web screen stores typed text: first-class. A lone CR is not.
        if "\x00" in value or "\r" in value.replace("\r\n", ""):
            return "must not contain NUL or carriage return characters (other than CRLF line ends)"
        bad = TEXT_CONTROL.search(value.replace("\r\n", "\n"))
        if bad:
            return ("line %d contains the control character %r; only tab and newline are allowed (Asterisk "
                    "skips such bytes, so they can hide a section header or #include)"
                    % (value.replace("\r\n", "\n").count("\n", 0, bad.start()) + 1, bad.group()))
    elif model.CONTROL.search(value):
        return "must be a single line without control characters" + shown
    if column.maxlen is not None and len(value) > column.maxlen:
        return "is %d characters long, the column holds at most %d" % (len(value), column.maxlen)
    if column.maxlen == 65535 and len(value.encode("utf-8")) > column.maxlen:
        # TEXT columns are limited in bytes, not characters.
        return "is %d bytes long, the column holds at most %d" % (len(value.encode("utf-8")), column.maxlen)
    if column.kind == "choice":
        if value not in column.choices:
            return "must be one of %s, got %r" % (", ".join(column.choices), value)
        return None
    if column.kind == "name":
        # admin.php keeps letters, digits, space and - . , _ ; letters of any
        # script are allowed as in VICIdial's non-latin mode.
        bad = sorted(set(ch for ch in value if not (ch.isalpha() or ch in "0123456789 -.,_")))
        if bad:
            return "contains characters VICIdial does not allow here: %s" % " ".join(repr(ch) for ch in bad)
        return None
    if column.kind == "codecs":
        tokens = [t for t in re.split(r"[,\s]+", value) if t]
        unknown = [t for t in tokens if t.lower() not in model.CODECS]
        if unknown:
            # VICIdial writes no codec lines at all for such a list: the phone
            # registers but can carry no call. Refuse it instead.
            return "unknown codec(s) %s; known: %s" % (", ".join(unknown), ", ".join(model.CODECS))
        return None
    if column.kind == "text":
        for number, line in enumerate(value.split("\n"), 1):
            if OVERRIDE_ESCAPES.match(line):
                return ("line %d starts with '%s': a section header or #include/#exec would escape the "
                        "phone's own stanza" % (number, line.strip()[:1]))
            if ";" in line:
                return "line %d contains ';' (VICIdial strips it; Asterisk reads the rest as a comment)" % number
        return None
    if column.pattern is not None and not column.pattern.match(value):
        return "contains characters VICIdial does not allow here" + shown
    return None


def coerce_value(column, value):
    """(stored value, problem or None) for one value of a column, checked as an entry's would be."""
    coerced, problem = _coerce(column, value)
    if problem is None and isinstance(coerced, str):
        problem = _text_problem(column, coerced, column.secret)
    return coerced, problem


def parse_entry(raw, defaults, index):
    """Merge defaults into one raw entry and turn it into column values.

    Returns (label, state, values, errors) where values maps column name to
    the value VICIdial stores; only the options the entry (or defaults) set
    are present.
    """
    errors = []
    if not isinstance(raw, dict):
        label = "phones[%d]" % index
        return label, "present", {}, [EntryError(label, None, "must be a dictionary of phone options")]
    both = dict(defaults or {})
    both.update(raw)
    label = entry_label(both, index)
    # Defaults and the entry are merged per column, so an entry's value wins
    # whichever spelling (option or alias) either of them uses.
    merged = {}
    for source in (defaults or {}, raw):
        spelled = {}
        for key in sorted(source):
            if key == "state":
                merged["state"] = (key, source[key])
                continue
            column = model.OPTION_NAMES.get(key)
            if column is None:
                errors.append(EntryError(label, key, "is not a phone option"))
                continue
            if column.name in spelled and source[key] is not None:
                errors.append(EntryError(label, key, "sets the same column as %s" % spelled[column.name]))
                continue
            if source[key] is not None:
                spelled[column.name] = key
                merged[column.name] = (key, source[key])
    state = merged.pop("state", (None, None))[1] or "present"
    if state not in ("present", "absent"):
        errors.append(EntryError(label, "state", "must be present or absent, got %r" % (state,)))
    values = {}
    for name in sorted(merged):
        key, value = merged[name]
        column = model.BY_COLUMN[name]
        coerced, problem = _coerce(column, value)
        if problem:
            errors.append(EntryError(label, column.option, problem))
            continue
        if coerced is None:
            continue
        if isinstance(coerced, str):
            problem = _text_problem(column, coerced, column.secret)
            if problem:
                errors.append(EntryError(label, column.option, problem))
                continue
        values[column.name] = coerced
    for column_name in model.IDENTITY:
        if not values.get(column_name):
            if not any(e.field == model.BY_COLUMN[column_name].option for e in errors):
                errors.append(EntryError(label, column_name, "is required"))
    ip = values.get("server_ip")
    if ip and not IPV4.match(ip):
        errors.append(EntryError(label, "server_ip", "must be an IPv4 address, got %r" % ip))
    check_extension(label, values.get("extension"), values.get("protocol"), errors)
    return label, state, values, errors


def check_extension(label, extension, protocol, errors):
    """The extension is the Asterisk endpoint name for SIP, PJSIP and IAX2."""
    if not extension or protocol is None:
        return
    ext = extension
    if protocol in model.REGISTERING_PROTOCOLS:
        if not model.SIP_EXTENSION.match(ext):
            errors.append(EntryError(
                label, "extension",
                "must be letters and digits only for %s phones (it is the Asterisk endpoint name: "
                "no protocol prefix, no dashes), got %r" % (protocol, ext)))
    elif not model.OTHER_EXTENSION.match(ext):
        errors.append(EntryError(label, "extension", "contains characters VICIdial does not allow (%r)" % ext))


def check_passwords(label, values, policy, errors, why=""):
    """Password policy on the passwords an entry will write (or make live).

    The one place for the password rules. VICIdial's own rule
    (system_settings.require_password_length on the registration password)
    always applies; the collection's stricter rule (no shipped default 'test',
    minimum lengths) unless allow_weak_passwords. why, when given, explains
    that a stored value is judged (say, because the run activates the phone).
    """
    secret = values.get("conf_secret")
    required = policy.get("require_password_length") or 0
    if secret is not None and required and len(secret) < required:
        errors.append(EntryError(
            label, "registration_password",
            "is shorter than system_settings.require_password_length (%d)%s" % (required, why)))
    if policy.get("allow_weak_passwords"):
        return
    for column_name, option, minimum in (
            ("conf_secret", "registration_password", policy.get("registration_password_min_length", 12)),
            ("pass", "phone_pass", policy.get("phone_pass_min_length", 8))):
        value = values.get(column_name)
        if value is None:
            continue
        if value.lower() == SHIPPED_DEFAULT_PASSWORD:
            errors.append(EntryError(
                label, option, "is VICIdial's shipped default password%s; set allow_weak_passwords to accept it"
                % why))
        elif len(value) < minimum:
            errors.append(EntryError(
                label, option, "is %d characters, shorter than the minimum of %d%s "
                "(set allow_weak_passwords to accept it)" % (len(value), minimum, why)))


def admin_user_problem(user):
    """vicidial_admin_log.user is VARCHAR(20); strict mode refuses a longer one."""
    if model.CONTROL.search(user):
        return "must be a single line without control characters"
    if len(user) > 20:
        return "is %d characters long; vicidial_admin_log.user holds at most 20" % len(user)
    return None


def format_errors(errors, limit=200):
    """All errors as one message, one line per problem."""
    lines = [str(e) for e in errors]
    entries = len(set(e.entry for e in errors))
    head = "%d problem%s in %d entr%s; nothing was written:" % (
        len(lines), "" if len(lines) == 1 else "s", entries, "y" if entries == 1 else "ies")
    if len(lines) > limit:
        lines = lines[:limit] + ["... and %d more" % (len(lines) - limit)]
    return "\n".join([head] + ["  - " + line for line in lines])
