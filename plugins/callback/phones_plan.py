# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan a reviewer reads: a --check --diff run of the phones playbook as Markdown and JSON."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: phones_plan
type: aggregate
short_description: Writes the plan of a phones run as Markdown and JSON, for a pull request comment
version_added: 0.2.0
description:
  - Turns a C(--check --diff) run of the playbook C(telephony.vicidial.phones) (or any play that uses the role
    C(telephony.vicidial.vicidial_phones)) into the plan a reviewer reads, in the shape of a Terraform plan
    posted by Atlantis.
  - >-
    Per phone (C(extension@server_ip)) whether it would be created, changed (each field, old value to new
    value) or deleted, per server which config files would change and which Asterisk reloads would run,
    and a summary line such as C(Plan: 2 to add, 1 to change, 1 to destroy.)
  - Secrets are never shown, only that they change; that is C(registration_password), C(phone_pass) and every other
    password column, and password lines inside C(conf_override) and in the config file diffs.
  - A failed plan lists every bad entry with its field and reason, and every other failed task.
  - Without C(--check) the same report describes what was applied.
  - Reads only the results of M(telephony.vicidial.vicidial_phones) (C(changes), C(counts), C(diff)), of
    M(telephony.vicidial.vicidial_phone_config) (C(files), C(reload), C(diff)) and the status of other tasks.
requirements:
  - enable it with C(ANSIBLE_CALLBACKS_ENABLED=telephony.vicidial.phones_plan); the normal output stays
options:
  markdown_file:
    description: Write the Markdown plan to this file. When no file is set the Markdown is printed at the end.
    type: path
    env:
      - name: VICIDIAL_PLAN_MARKDOWN
    ini:
      - section: vicidial_plan
        key: markdown_file
  json_file:
    description: Write the plan as JSON to this file (the same content, for scripts such as a drift check).
    type: path
    env:
      - name: VICIDIAL_PLAN_JSON
    ini:
      - section: vicidial_plan
        key: json_file
  record_file:
    description:
      - Write the events this plugin read (secret-free, as the modules returned them) to this file as JSON.
      - The collection's tests replay such recordings; attach one to a bug report about the plan.
    type: path
    env:
      - name: VICIDIAL_PLAN_RECORD
    ini:
      - section: vicidial_plan
        key: record_file
  title:
    description: First line of the Markdown, for example the inventory or environment the plan is for.
    type: str
    default: telephony.vicidial phones
    env:
      - name: VICIDIAL_PLAN_TITLE
    ini:
      - section: vicidial_plan
        key: title
  max_chars:
    description:
      - Longest Markdown written; a longer plan is cut at a line end with a note that the JSON has it all.
      - GitHub refuses comments over 65536 characters, GitLab notes over 1000000.
    type: int
    default: 60000
    env:
      - name: VICIDIAL_PLAN_MAX_CHARS
    ini:
      - section: vicidial_plan
        key: max_chars
"""

import copy
import difflib
import json
import os
import re

from ansible import context
from ansible.plugins.callback import CallbackBase
from ansible.release import __version__ as ansible_version

FORMAT_VERSION = 1
MASK = "********"
CHANGED = "(changed)"

PHONES_MODULES = ("vicidial_phones", "vicidial_phone")
CONFIG_MODULES = ("vicidial_phone_config",)

# Option (and column) names whose values are secrets: shown only as changed.
SECRET_FIELDS = frozenset((
    "registration_password", "conf_secret", "phone_pass", "pass", "login_pass", "ASTmgrSECRET",
    "DBX_pass", "DBY_pass",
))
_SECRET_NAME = re.compile(r"pass|secret|md5_cred", re.IGNORECASE)
# Fields holding Asterisk config text: lines whose key looks like a secret are masked.
CONFIG_TEXT_FIELDS = frozenset(("conf_override",))
_SECRET_LINE = re.compile(
    r"^(?P<key>[ \t]*;?[ \t]*[A-Za-z0-9_/.-]*(?:pass|secret|md5_cred)[A-Za-z0-9_/.-]*"
    r"[ \t]*=>?[ \t]*)(?P<value>[^\r\n]*)",
    re.IGNORECASE | re.MULTILINE,
)
# "  - 8001@10.0.0.11: registration_password: too short" (module_utils/_validate.py format_errors)
_ERROR_LINE = re.compile(r"^\s*-\s+(?P<entry>.+?): (?:(?P<field>[A-Za-z_][A-Za-z0-9_]*): )?(?P<reason>.+)$")

ACTIONS = ("create", "update", "delete")
SIGNS = {"create": "+", "update": "~", "delete": "-"}


def is_secret_field(name):
    return name in SECRET_FIELDS or bool(_SECRET_NAME.search(name or ""))


def mask_text(text):
    """Config text with the value of every password-like key replaced by the mask."""
    if text is None:
        return None
    return _SECRET_LINE.sub(lambda m: m.group("key") + (MASK if m.group("value").strip() else ""), str(text))


def shown_value(field, value):
    if is_secret_field(field):
        return CHANGED if value is not None else None
    if field in CONFIG_TEXT_FIELDS:
        return mask_text(value)
    return value


def _short(action):
    return (action or "").rsplit(".", 1)[-1]


def _phone_server(label):
    return label.rsplit("@", 1)[1] if "@" in (label or "") else None


# ---- recording -------------------------------------------------------------------------------------

_KEEP_PHONES = ("changed", "failed", "msg", "changes", "counts", "diff", "warnings", "skipped", "skip_reason")
_KEEP_CONFIG = ("changed", "failed", "msg", "files", "reload", "diff", "warnings", "skipped", "skip_reason")
_KEEP_OTHER = ("changed", "failed", "msg", "skipped", "skip_reason", "unreachable", "warnings")


def _literal(value):
    """A task argument as the module got it, or None while it is still a template."""
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return None
    if isinstance(value, list) and any(_literal(v) is None for v in value):
        return None
    return value


def reduce_result(action, result, task_args=None):
    """The part of a task result the plan reads; what a recording keeps. Secrets are masked again.

    The module's arguments come from the result's invocation (ansible-core up to 2.20, or with
    ANSIBLE_INJECT_INVOCATION), else from the task's arguments where they are not templates.
    """
    short = _short(action)
    keep = _KEEP_PHONES if short in PHONES_MODULES else _KEEP_CONFIG if short in CONFIG_MODULES else _KEEP_OTHER
    out = dict((k, copy.deepcopy(result[k])) for k in keep if k in result)
    args = dict((k, v) for k, v in (task_args or {}).items() if k in ("server_ip", "purge", "purge_servers")
                and _literal(v) is not None)
    args.update((result.get("invocation") or {}).get("module_args") or {})
    if short in CONFIG_MODULES and args.get("server_ip"):
        out["server_ip"] = args["server_ip"]
    if short in PHONES_MODULES:
        for key in ("purge", "purge_servers"):
            if key in args:
                out[key] = args[key]
    if short not in PHONES_MODULES + CONFIG_MODULES and isinstance(result.get("results"), list):
        out["results"] = [dict((k, r.get(k)) for k in ("failed", "msg", "rc", "stderr") if k in r)
                          for r in result["results"] if isinstance(r, dict) and r.get("failed")]
    if "diff" in out:
        out["diff"] = _mask_diff(out["diff"])
    return out


def _mask_diff(diff):
    if isinstance(diff, list):
        return [_mask_diff(d) for d in diff]
    if not isinstance(diff, dict):
        return diff
    out = {}
    for key, value in diff.items():
        if key in ("before", "after") and isinstance(value, dict):
            out[key] = dict((label, dict((f, shown_value(f, v)) for f, v in (fields or {}).items())
                             if isinstance(fields, dict) else fields) for label, fields in value.items())
        elif key in ("before", "after"):
            out[key] = mask_text(value)
        else:
            out[key] = value
    return out


# ---- the plan --------------------------------------------------------------------------------------

def _field_changes(action, before, after):
    names = list(after) if action != "delete" else list(before)
    for name in before:
        if name not in names:
            names.append(name)
    fields = []
    for name in names:
        secret = is_secret_field(name)
        old, new = before.get(name), after.get(name)
        if secret:
            old = None
            new = CHANGED if action != "delete" else None
        elif name in CONFIG_TEXT_FIELDS:
            old, new = mask_text(old), mask_text(new)
        fields.append(dict(name=name, old=old, new=new, secret=secret))
    return fields


def _phones_from(result):
    diff = result.get("diff") or {}
    if isinstance(diff, list):
        diff = diff[0] if diff else {}
    before, after = diff.get("before") or {}, diff.get("after") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        before, after = {}, {}
    purge_servers = set(result.get("purge_servers") or []) if result.get("purge") else set()
    phones = []
    for change in result.get("changes") or []:
        label, action = change.get("phone"), change.get("action")
        old, new = before.get(label) or {}, after.get(label) or {}
        if not old and not new and action != "delete":
            # No --diff: the field names only.
            new = dict((name, None) for name in change.get("fields") or [])
        entry = dict(phone=label, server_ip=_phone_server(label), action=action,
                     fields=_field_changes(action, old, new))
        if not (old or new) and action != "delete":
            for field in entry["fields"]:
                field["new"] = CHANGED if field["secret"] else None
        if action == "delete":
            entry["reason"] = "purge" if _phone_server(label) in purge_servers else "state: absent"
        phones.append(entry)
    return phones


def parse_errors(msg):
    """Bad entries from a module's failure message, one per line: entry, field, reason."""
    errors = []
    for line in (msg or "").splitlines():
        m = _ERROR_LINE.match(line)
        if m:
            errors.append(dict(phone=m.group("entry"), field=m.group("field"), reason=m.group("reason").strip()))
    return errors


def _unified(diff):
    before = mask_text(diff.get("before") or "")
    after = mask_text(diff.get("after") or "")
    path = diff.get("after_header") or diff.get("before_header") or "file"
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), "a" + path if path.startswith("/")
                                 else path, "b" + path if path.startswith("/") else path, lineterm="", n=1)
    return dict(path=path, unified="\n".join(lines))


def build_plan(record):
    """The plan (a JSON-able dict) from a recording: {check, diff, events, stats}."""
    check = bool(record.get("check"))
    phones, servers, errors, failures, other_changes, warnings = [], [], [], [], [], []
    counts = dict(created=0, updated=0, deleted=0, unchanged=0)
    phones_task_seen = False
    for event in record.get("events") or []:
        status, result = event.get("status"), event.get("result") or {}
        short = _short(event.get("action"))
        for warning in result.get("warnings") or []:
            if warning not in warnings:
                warnings.append(warning)
        # A phones or config task that failed leaves no plan, even where its failure is ignored.
        if status == "failed" and (not event.get("ignore_errors") or short in PHONES_MODULES + CONFIG_MODULES):
            bad = parse_errors(result.get("msg")) if short in PHONES_MODULES else []
            for item in bad:
                item.update(host=event.get("host"), task=event.get("task"))
            errors.extend(bad)
            if not bad:
                msg = result.get("msg") or ""
                details = ["%s" % (r.get("stderr") or r.get("msg") or "") for r in result.get("results") or []]
                failures.append(dict(host=event.get("host"), task=event.get("task"),
                                     msg=mask_text("; ".join([m for m in [msg] + details if m]))))
            continue
        if status == "failed":
            continue
        if status == "unreachable":
            failures.append(dict(host=event.get("host"), task=event.get("task"),
                                 msg="unreachable: %s" % (result.get("msg") or "")))
            continue
        if status != "ok":
            continue
        if short in PHONES_MODULES and "changes" in result:
            phones_task_seen = True
            phones.extend(_phones_from(result))
            for key in counts:
                counts[key] += int((result.get("counts") or {}).get(key) or 0)
        elif short in CONFIG_MODULES and "files" in result:
            files = [dict(kind=f.get("kind"), path=f.get("path"), changed=bool(f.get("changed")))
                     for f in result.get("files") or []]
            diffs = result.get("diff") or []
            if isinstance(diffs, dict):
                diffs = [diffs]
            servers.append(dict(
                host=event.get("host"), server_ip=result.get("server_ip") or event.get("host"),
                files=files, changed_files=[f["path"] for f in files if f["changed"]],
                reload=list(result.get("reload") or []),
                diff=[_unified(d) for d in diffs if isinstance(d, dict)]))
        elif result.get("changed"):
            other_changes.append(dict(host=event.get("host"), task=event.get("task")))

    order = dict((a, i) for i, a in enumerate(ACTIONS))
    phones.sort(key=lambda p: (order.get(p["action"], 9), p["server_ip"] or "", p["phone"] or ""))
    servers.sort(key=lambda s: (s["server_ip"] or "", s["host"] or ""))
    add = sum(1 for p in phones if p["action"] == "create")
    change = sum(1 for p in phones if p["action"] == "update")
    destroy = sum(1 for p in phones if p["action"] == "delete")
    files = sum(len(s["changed_files"]) for s in servers)
    reloading = [s["server_ip"] for s in servers if s["reload"]]
    failed = bool(errors or failures)
    stats = record.get("stats") or {}
    if failed:
        status = "failed"
    elif add or change or destroy or files or reloading or other_changes:
        status = "changes"
    else:
        status = "no_changes"
    summary = dict(add=add, change=change, destroy=destroy, unchanged=counts["unchanged"], files=files,
                   servers_changing=sum(1 for s in servers if s["changed_files"]), reloads=len(reloading),
                   other_changes=len(other_changes), errors=len(errors) + len(failures),
                   drift=status == "changes")
    return dict(
        format_version=FORMAT_VERSION,
        mode="plan" if check else "apply",
        status=status,
        summary=summary,
        summary_line=summary_line(check, status, summary, phones_task_seen),
        phones=phones,
        servers=servers,
        errors=errors,
        failures=failures,
        other_changes=other_changes,
        warnings=warnings,
        stats=stats,
    )


def summary_line(check, status, s, phones_task_seen=True):
    if status == "failed":
        return "%s failed: %d error%s." % ("Plan" if check else "Apply", s["errors"], "" if s["errors"] == 1 else "s")
    if not phones_task_seen:
        return "No phones task ran: nothing to plan."
    if status == "no_changes":
        return ("No changes. The phones and the Asterisk config match the inventory." if check
                else "Apply complete! Resources: 0 added, 0 changed, 0 destroyed.")
    if check:
        line = "Plan: %d to add, %d to change, %d to destroy." % (s["add"], s["change"], s["destroy"])
    else:
        line = "Apply complete! Resources: %d added, %d changed, %d destroyed." % (
            s["add"], s["change"], s["destroy"])
    if s["files"]:
        line += " %d config file%s on %d server%s%s, %d server%s to reload." % (
            s["files"], "" if s["files"] == 1 else "s", s["servers_changing"],
            "" if s["servers_changing"] == 1 else "s", "" if check else " written", s["reloads"],
            "" if s["reloads"] == 1 else "s")
    return line


# ---- Markdown --------------------------------------------------------------------------------------

def _md_value(value):
    if value is None:
        return "null"
    if value == CHANGED:
        return CHANGED
    text = json.dumps(value) if not isinstance(value, str) else '"%s"' % value.replace("\n", "\\n")
    return text


def _fence(text, lang=""):
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return "%s%s\n%s\n%s" % (ticks, lang, text, ticks)


def render_markdown(plan, title="telephony.vicidial phones", max_chars=60000):
    check = plan["mode"] == "plan"
    icon = {"failed": ":x:", "changes": ":memo:", "no_changes": ":white_check_mark:"}[plan["status"]]
    out = ["### %s %s %s" % (icon, "Plan" if check else "Apply", title), "", "**%s**" % plan["summary_line"], ""]
    if plan["errors"]:
        out += ["#### Bad entries", "", "| phone | field | reason |", "| --- | --- | --- |"]
        for e in plan["errors"]:
            field = "`%s`" % e["field"] if e["field"] else ""
            out.append("| `%s` | %s | %s |" % (e["phone"], field, e["reason"].replace("|", "\\|")))
        out.append("")
    if plan["failures"]:
        out += ["#### Failed tasks", ""]
        for f in plan["failures"]:
            out.append("- `%s` %s: %s" % (f["host"], f["task"], (f["msg"] or "").replace("\n", " ")))
        out.append("")
    if plan["phones"]:
        lines = []
        for p in plan["phones"]:
            what = {"create": "will be created", "update": "will be updated in-place",
                    "delete": "will be destroyed"}[p["action"]]
            if not check:
                what = {"create": "created", "update": "updated", "delete": "destroyed"}[p["action"]]
            if p.get("reason") == "purge":
                what += " (purge: not in the inventory)"
            elif p.get("reason"):
                what += " (%s)" % p["reason"]
            lines.append("%s phone %s %s" % (SIGNS[p["action"]], p["phone"], what))
            for f in p["fields"]:
                if p["action"] == "update":
                    if f["secret"]:
                        lines.append("~     %s: %s" % (f["name"], CHANGED))
                    else:
                        lines.append("~     %s: %s -> %s" % (f["name"], _md_value(f["old"]), _md_value(f["new"])))
                elif p["action"] == "create" and f["new"] not in (None, ""):
                    lines.append("+     %s: %s" % (f["name"], _md_value(f["new"])))
                elif p["action"] == "delete" and f["old"] is not None:
                    lines.append("-     %s: %s" % (f["name"], _md_value(f["old"])))
        out += ["#### Phones", "", _fence("\n".join(lines), "diff"), ""]
    changing = [s for s in plan["servers"] if s["changed_files"] or s["reload"]]
    if plan["servers"]:
        out += ["#### Servers", "", "| server | config files that change | reloads |", "| --- | --- | --- |"]
        for s in plan["servers"]:
            name = s["server_ip"] if s["server_ip"] == s["host"] else "%s (`%s`)" % (s["server_ip"], s["host"])
            out.append("| %s | %s | %s |" % (
                name, "<br>".join("`%s`" % p for p in s["changed_files"]) or "none",
                "<br>".join("`%s`" % r for r in s["reload"]) or "none"))
        out.append("")
    for s in changing:
        for d in s["diff"]:
            if d["unified"]:
                out += ["<details><summary>%s: <code>%s</code></summary>" % (s["server_ip"], d["path"]), "",
                        _fence(d["unified"], "diff"), "", "</details>", ""]
    if plan["other_changes"]:
        out += ["#### Other tasks that %s" % ("would change something" if check else "changed something"), ""]
        out += ["- `%s` %s" % (c["host"], c["task"]) for c in plan["other_changes"]]
        out.append("")
    if plan["warnings"]:
        out += ["#### Warnings", ""] + ["- %s" % w.replace("\n", " ") for w in plan["warnings"]] + [""]
    if check and plan["status"] != "failed":
        out += ["Passwords are never shown, only whether they change. Nothing was written."]
    text = "\n".join(out).rstrip("\n") + "\n"
    if max_chars and len(text) > max_chars:
        note = "\n\n**Cut at %d characters: the JSON plan has all of it.**\n" % max_chars
        cut = text[:max_chars - len(note)]
        cut = cut[:cut.rfind("\n")] if "\n" in cut else cut
        if cut.count("```") % 2:
            cut += "\n```"
        text = cut + note
    return text


# ---- the plugin ------------------------------------------------------------------------------------

def _get(obj, public, private):
    value = getattr(obj, public, None)
    return value if value is not None else getattr(obj, private, None)


def _task_args(task):
    try:
        return dict(getattr(task, "args", None) or {})
    except Exception:  # pylint: disable=broad-except
        return {}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "telephony.vicidial.phones_plan"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        cli = getattr(context, "CLIARGS", None) or {}
        self.record = dict(format_version=FORMAT_VERSION, ansible_version=ansible_version,
                           check=bool(cli.get("check")),
                           diff=bool(cli.get("diff")), events=[], stats={})

    def _event(self, status, result):
        task = _get(result, "task", "_task")
        host = _get(result, "host", "_host")
        raw = _get(result, "result", "_result") or {}
        action = getattr(task, "resolved_action", None) or getattr(task, "action", None) or ""
        self.record["events"].append(dict(
            status=status,
            host=host.get_name() if host is not None else None,
            task=task.get_name() if task is not None else None,
            action=action,
            ignore_errors=bool(getattr(task, "ignore_errors", False)),
            result=reduce_result(action, raw, _task_args(task)),
        ))

    def v2_runner_on_ok(self, result):
        self._event("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._event("failed", result)
        if ignore_errors:
            self.record["events"][-1]["ignore_errors"] = True

    def v2_runner_on_unreachable(self, result):
        self._event("unreachable", result)

    def v2_runner_on_skipped(self, result):
        task = _get(result, "task", "_task")
        action = getattr(task, "resolved_action", None) or getattr(task, "action", None) or ""
        if _short(action) in PHONES_MODULES + CONFIG_MODULES:
            self._event("skipped", result)

    def v2_playbook_on_stats(self, stats):
        self.record["stats"] = dict((h, stats.summarize(h)) for h in sorted(stats.processed))
        self.write(self.record)

    def write(self, record):
        plan = build_plan(record)
        markdown = render_markdown(plan, title=self.get_option("title"), max_chars=self.get_option("max_chars"))
        for option, content in (("record_file", json.dumps(record, indent=1, sort_keys=True, default=str)),
                                ("json_file", json.dumps(plan, indent=1, sort_keys=True, default=str)),
                                ("markdown_file", markdown)):
            path = self.get_option(option)
            if path:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(content if content.endswith("\n") else content + "\n")
        if not self.get_option("markdown_file"):
            self._display.display(markdown)
