# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Asterisk config files on a telephony server: read, compare, edit, write, put back.

Private to the collection.  Text is handled as bytes, or as text decoded with
surrogateescape, so that CRLF typed into VICIdial's web screen and any byte
that is not UTF-8 survive a read-modify-write unchanged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile
import time

ENCODING = "utf-8"
ERRORS = "surrogateescape"

# VICIdial's generated files, the reload each needs, and the main config that
# includes it (vicidial-phones.md 3.2 and 3.8).
VICIDIAL_FILES = (
    # (file, reload command, needs chan_sip)
    ("extensions-vicidial.conf", "dialplan reload", False),
    ("sip-vicidial.conf", "sip reload", True),
    ("pjsip-vicidial.conf", "pjsip reload", False),
    ("pjsip_wizard-vicidial.conf", "pjsip reload", False),
    ("iax-vicidial.conf", "iax2 reload", False),
    ("voicemail.conf", "module reload app_voicemail.so", False),
    ("musiconhold-vicidial.conf", "moh reload", False),
    ("meetme-vicidial.conf", "module reload app_meetme.so", False),
    ("confbridge-vicidial.conf", "module reload app_confbridge.so", False),
)

_SAFE_SUFFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def suffix_problem(suffix):
    """Why file_suffix cannot name files in config_dir, or None.

    It lands in an #include line and in a path: no quote, line break or '/'.
    """
    if not _SAFE_SUFFIX.match(suffix or "") or ".." in suffix:
        return ("file_suffix %r: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit "
                "(it becomes part of a file name and of an #include line)" % (suffix,))
    return None


def parse_mode(value):
    """File mode as Ansible's file modules take it: an int as is, a string as octal.

    Unquoted YAML 0640 reaches the module as the int 416, which is 0o640.
    Returns (mode, problem).
    """
    if isinstance(value, bool):
        return None, "mode must be an octal string such as '0640', not a boolean"
    if isinstance(value, int):
        mode = value
    else:
        text = str(value).strip()
        if not re.match(r"^0?[0-7]{3,4}$", text):
            return None, "mode %r: give an octal mode such as '0640' (quoted)" % (value,)
        mode = int(text, 8)
    if mode < 0 or mode > 0o7777:
        return None, "mode %r is not a file mode" % (value,)
    if mode & 0o007:
        return None, ("mode %s would let every user read or change files that hold registration passwords; "
                      "use 0640 or stricter" % oct(mode))
    return mode, None


def to_bytes(text):
    return text.encode(ENCODING, ERRORS)


def to_text(data):
    return data.decode(ENCODING, ERRORS)


def read_bytes(path):
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == 2:
            return None
        raise


# ------------------------------------------------------------ #include ----

def include_line(name):
    return '#include "%s"' % name


def has_include(data, name):
    """Whether a main config already #includes name (any quoting, any spacing)."""
    pattern = re.compile(br'^[ \t]*#include[ \t]+["<]?' + re.escape(to_bytes(name)) + br'[">]?[ \t]*\r?$', re.M)
    return bool(pattern.search(data or b""))


def add_include(data, name):
    """data with an #include line for name appended, in the file's own line ending style."""
    data = data or b""
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    if data and not data.endswith(b"\n"):
        data += newline
    return data + to_bytes(include_line(name)) + newline


# ------------------------------------------------- sections and the dial plan ----

_HEADER = re.compile(r"^\[([^\]\r\n]+)\]", re.M)


def sections(text):
    """{section name: its text} of an Asterisk config, in file order (later duplicates win)."""
    found = {}
    matches = list(_HEADER.finditer(text or ""))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        found[match.group(1)] = text[match.start():end].strip()
    return found


_EXTEN = re.compile(r"^exten[ \t]*=>[ \t]*([^,\r\n]+),", re.M)


def context_body(text, context):
    """The lines of one [context] of a dial plan file (all of its occurrences), or ''."""
    out = []
    matches = list(_HEADER.finditer(text or ""))
    for i, match in enumerate(matches):
        if match.group(1).strip() != context:
            continue
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        out.append(text[match.end():end])
    return "".join(out)


def dialplan_entries(text, context="vicidial-auto-phones"):
    """{number: its exten lines} in one context of a dial plan file."""
    entries = {}
    for line in context_body(text, context).splitlines():
        match = _EXTEN.match(line)
        if match:
            entries.setdefault(match.group(1).strip(), []).append(line.strip())
    return dict((k, "\n".join(v)) for k, v in entries.items())


# ---------------------------------------- taking phones out of VICIdial's files ----

_WIZARD_PHONES_MARK = "; PJSIP_WIZ Phone Settings:"
_END_MARK = "; END OF FILE"
TAKEN_OVER_NOTE = "; phones: written by telephony.vicidial in %s (VICIdial's generator is off on this server)"


def _note(own_file):
    # own_file names where the phones went, or is a whole comment line of its own.
    return own_file if own_file.startswith(";") else TAKEN_OVER_NOTE % own_file


def strip_wizard_phones(text, own_file):
    """VICIdial's pjsip_wizard file without its phone section; (text, removed names).

    The generator writes every PJSIP phone after the "; PJSIP_WIZ Phone
    Settings:" line and before "; END OF FILE" (ADMIN_keepalive_ALL.pl).
    """
    start = text.find(_WIZARD_PHONES_MARK)
    if start < 0:
        return text, []
    body_start = text.find("\n", start) + 1 or len(text)
    end = text.find(_END_MARK, body_start)
    if end < 0:
        end = len(text)
    body = text[body_start:end]
    removed = list(sections(body))
    if not removed:
        return text, []
    return text[:body_start] + "\n" + _note(own_file) + "\n\n" + text[end:], removed


def _phone_signature(name, body):
    # Default and template stanzas of a phone start with these lines.
    lines = [ln.strip() for ln in body.splitlines()[1:4]]
    return lines[:1] == ["username=%s" % name] and "accountcode=%s" % name in lines


def strip_phone_sections(text, phone_names, own_file):
    """VICIdial's iax or sip file without the phones' stanzas; (text, removed names).

    These files hold carriers and inter-server trunks too, with no marker
    before the phones: a stanza is a phone's when its name is an extension of
    a phone row of this server (any protocol, case-insensitive, as VICIdial's
    collations compare), or when it has the generator's phone signature
    (username= and accountcode= equal to its name).
    """
    wanted = set(n.upper() for n in phone_names)
    matches = list(_HEADER.finditer(text))
    if not matches:
        return text, []
    out, removed, pos = [], [], 0
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        if i + 1 == len(matches):
            mark = text.find(_END_MARK, match.end())
            if mark >= 0:
                end = mark
        name = match.group(1).strip()
        body = text[match.start():end]
        if name.upper() in wanted or _phone_signature(name, body):
            out.append(text[pos:match.start()])
            removed.append(name)
            pos = end
    if not removed:
        return text, []
    out.append("\n" + _note(own_file) + "\n\n")
    out.append(text[pos:])
    return "".join(out), removed


def strip_dialplan_phones(text, own_file, context="vicidial-auto-phones"):
    """VICIdial's extensions file with an empty [vicidial-auto-phones]; (text, removed numbers).

    Our own file defines the same context, so Asterisk merges the two: the
    frozen copy must hold no number (nor its own h extension) any more.
    """
    matches = list(_HEADER.finditer(text))
    out, removed, pos = [], [], 0
    for i, match in enumerate(matches):
        if match.group(1).strip() != context:
            continue
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[match.end():end]
        if not _EXTEN.search(body):
            continue
        for found in _EXTEN.finditer(body):
            number = found.group(1).strip()
            if number != "h" and number not in removed:
                removed.append(number)
        out.append(text[pos:match.end()])
        out.append("\n" + _note(own_file) + "\n\n")
        pos = end
    if pos == 0:
        return text, []
    out.append(text[pos:])
    return "".join(out), removed


# -------------------------------------------------------- the transaction ----

class FileTransaction(object):
    """Every file a run changes, with what it was, so that a failure puts all of them back.

    The previous bytes, mode and owner are kept in memory for the rollback;
    a copy also goes to backup_dir (0700, files 0600, the newest `keep` per
    file) for whoever needs to look later.
    """

    def __init__(self, backup_dir, keep=5):
        self.backup_dir = backup_dir
        self.keep = keep
        self.before = {}  # real path -> (bytes or None, (mode, uid, gid) or None)
        self.order = []
        self.backups = []

    def remember(self, path):
        real = os.path.realpath(path)
        if real not in self.before:
            data = read_bytes(real)
            st = os.stat(real) if data is not None else None
            self.before[real] = (data, (st.st_mode & 0o7777, st.st_uid, st.st_gid) if st else None)
            self.order.append(real)
        return real

    def _backup(self, real, data):
        if not os.path.isdir(self.backup_dir):
            os.makedirs(self.backup_dir, 0o700)
        os.chmod(self.backup_dir, 0o700)
        name = os.path.basename(real)
        backup = os.path.join(self.backup_dir, "%s.%s.%d" % (name, time.strftime("%Y%m%dT%H%M%S"), os.getpid()))
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        self._prune(name)
        return backup

    def _prune(self, name):
        # Each backup is one more copy of every registration secret.
        prefix = name + "."
        mine = sorted(f for f in os.listdir(self.backup_dir)
                      if f.startswith(prefix) and re.match(r"^\d{8}T\d{6}\.\d+$", f[len(prefix):]))
        for old in mine[:-self.keep] if self.keep > 0 else mine:
            os.unlink(os.path.join(self.backup_dir, old))

    def write(self, path, data, mode=None, uid=None, gid=None):
        """Atomically replace path (through a symlink) with data; mode/owner default to the old file's."""
        real = self.remember(path)
        old, old_stat = self.before[real]
        if old_stat:
            mode = old_stat[0] if mode is None else mode
            uid = old_stat[1] if uid is None else uid
            gid = old_stat[2] if gid is None else gid
        backup = self._backup(real, old) if old is not None and self.keep > 0 else None
        if backup or old is None:
            self.backups.append(dict(path=path, backup=backup))
        atomic_write(real, data, mode, uid, gid)

    def restore(self):
        """Put every remembered file back as it was; returns the problems (paths and reasons)."""
        problems = []
        for real in reversed(self.order):
            data, st = self.before[real]
            try:
                if data is None:
                    if os.path.lexists(real):
                        os.unlink(real)
                else:
                    atomic_write(real, data, st[0], st[1], st[2])
            except (IOError, OSError) as exc:
                problems.append("%s: %s" % (real, exc))
        return problems

    def paths(self):
        return list(self.order)


def atomic_write(path, data, mode, uid, gid):
    """Write data to a temporary file beside path with its final mode and owner, then rename it."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".%s." % os.path.basename(path))
    try:
        # Mode and owner are set before any secret is written.
        if mode is not None:
            os.fchmod(fd, mode)
        if uid is not None and gid is not None:
            os.fchown(fd, uid, gid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
