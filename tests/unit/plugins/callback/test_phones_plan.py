# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan callback (telephony.vicidial.phones_plan) on recorded runs.

recordings/<scenario>.record.json are the callback's own input events from
real `--check --diff` runs of playbooks/phones.yml against the lab (re-record
with recordings/record). Each scenario's entries are in <scenario>.vars.yml;
their passwords are fixtures, and none may reach a recording, the Markdown or
the JSON.
"""

import glob
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from ansible_collections.telephony.vicidial.plugins.callback import phones_plan

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDINGS = os.path.join(HERE, "recordings")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
SCENARIOS = ("nochange", "mixed", "purge", "bad")


def load(scenario):
    with open(os.path.join(RECORDINGS, scenario + ".record.json")) as handle:
        return json.load(handle)


def plan_of(scenario):
    return phones_plan.build_plan(load(scenario))


def phone(plan, label):
    found = [p for p in plan["phones"] if p["phone"] == label]
    assert len(found) == 1, [p["phone"] for p in plan["phones"]]
    return found[0]


def field(entry, name):
    found = [f for f in entry["fields"] if f["name"] == name]
    assert len(found) == 1, [f["name"] for f in entry["fields"]]
    return found[0]


def server(plan, host):
    return [s for s in plan["servers"] if s["host"] == host][0]


def fixture_secrets():
    """Every literal password in the scenarios' vars files, and the one inside a conf_override."""
    found = set()
    for path in glob.glob(os.path.join(RECORDINGS, "*.vars.yml")):
        with open(path) as handle:
            for entry in yaml.safe_load(handle)["vicidial_phones_entries"]:
                for key in ("phone_pass", "registration_password"):
                    value = str(entry.get(key, ""))
                    if value and "{{" not in value:
                        found.add(value)
                for line in str(entry.get("conf_override", "")).splitlines():
                    if line.startswith("secret="):
                        found.add(line.split("=", 1)[1])
    assert "IaxOverrideSecret93" in found and "NewRegPassFixture42x" in found
    return found


# ---- the four recorded runs ---------------------------------------------------------------------------

def test_no_change():
    plan = plan_of("nochange")
    assert plan["mode"] == "plan"
    assert plan["status"] == "no_changes"
    assert plan["summary_line"] == "No changes. The phones and the Asterisk config match the inventory."
    assert plan["summary"]["drift"] is False
    assert (plan["summary"]["add"], plan["summary"]["change"], plan["summary"]["destroy"]) == (0, 0, 0)
    assert plan["summary"]["unchanged"] == 6
    assert plan["phones"] == [] and plan["errors"] == [] and plan["failures"] == []
    assert [(s["host"], s["server_ip"], s["changed_files"], s["reload"]) for s in plan["servers"]] == [
        ("ast1", "10.89.20.11", [], []), ("ast2", "10.89.20.12", [], [])]
    md = phones_plan.render_markdown(plan)
    assert "**No changes. The phones and the Asterisk config match the inventory.**" in md
    assert "#### Phones" not in md and "<details>" not in md


def test_mixed_changes_summary_and_phones():
    plan = plan_of("mixed")
    assert plan["status"] == "changes" and plan["summary"]["drift"] is True
    assert plan["summary_line"] == (
        "Plan: 1 to add, 3 to change, 1 to destroy. 4 config files on 2 servers, 2 servers to reload.")
    # create, then update, then delete; by server and phone within each
    assert [(p["action"], p["phone"]) for p in plan["phones"]] == [
        ("create", "8007@10.89.20.11"),
        ("update", "8001@10.89.20.11"),
        ("update", "8002@10.89.20.12"),
        ("update", "8004@10.89.20.12"),
        ("delete", "8006@10.89.20.12"),
    ]
    created = phone(plan, "8007@10.89.20.11")
    assert field(created, "phone_full_name")["new"] == "Lab desk seven"
    assert field(created, "registration_password") == dict(name="registration_password", old=None,
                                                           new="(changed)", secret=True)
    assert field(created, "phone_pass")["new"] == "(changed)"

    desk1 = phone(plan, "8001@10.89.20.11")
    assert field(desk1, "phone_full_name") == dict(name="phone_full_name", old="Lab desk one", new="Lab desk 1",
                                                   secret=False)
    assert field(desk1, "registration_password") == dict(name="registration_password", old=None,
                                                         new="(changed)", secret=True)
    desk2 = phone(plan, "8002@10.89.20.12")
    assert field(desk2, "outbound_cid")["old"] == "" and field(desk2, "outbound_cid")["new"] == "3125550199"
    assert field(desk2, "phone_pass")["new"] == "(changed)"
    override = field(phone(plan, "8004@10.89.20.12"), "conf_override")
    assert override["old"] is None
    assert "secret=********" in override["new"] and "host=dynamic" in override["new"]
    purged = phone(plan, "8006@10.89.20.12")
    assert purged["reason"] == "purge"


def test_mixed_changes_servers_files_and_reloads():
    plan = plan_of("mixed")
    ast1, ast2 = server(plan, "ast1"), server(plan, "ast2")
    assert ast1["changed_files"] == ["/etc/asterisk/pjsip_wizard-ansible-phones.conf",
                                     "/etc/asterisk/extensions-ansible-phones.conf"]
    assert ast1["reload"] == ["pjsip reload", "dialplan reload"]
    # 8006 is inactive: its deletion changes no file.
    assert ast2["changed_files"] == ["/etc/asterisk/iax-ansible-phones.conf",
                                     "/etc/asterisk/pjsip_wizard-ansible-phones.conf"]
    assert ast2["reload"] == ["iax2 reload", "pjsip reload"]
    wizard = [d for d in ast1["diff"] if d["path"].endswith("pjsip_wizard-ansible-phones.conf")][0]
    assert '+endpoint/callerid="Lab desk 1" <>' in wizard["unified"]
    assert "+inbound_auth/password=********" in wizard["unified"]


def test_mixed_changes_markdown():
    md = phones_plan.render_markdown(plan_of("mixed"), title="lab")
    assert md.startswith("### :memo: Plan lab\n")
    assert "**Plan: 1 to add, 3 to change, 1 to destroy." in md
    assert "+ phone 8007@10.89.20.11 will be created" in md
    assert '~     phone_full_name: "Lab desk one" -> "Lab desk 1"' in md
    assert "~     registration_password: (changed)" in md
    assert "~     phone_pass: (changed)" in md
    assert "- phone 8006@10.89.20.12 will be destroyed (purge: not in the inventory)" in md
    assert "| 10.89.20.11 (`ast1`) | `/etc/asterisk/pjsip_wizard-ansible-phones.conf`<br>" in md
    assert "`pjsip reload`<br>`dialplan reload` |" in md
    assert md.count("<details>") == 4 and md.count("</details>") == 4
    assert md.count("```") % 2 == 0
    # A created phone lists what it gets, without the empty columns.
    assert '+     template_id: ""' not in md


def test_purge():
    plan = plan_of("purge")
    assert plan["summary_line"] == (
        "Plan: 0 to add, 0 to change, 2 to destroy. 2 config files on 1 server, 1 server to reload.")
    assert [(p["action"], p["phone"], p["reason"]) for p in plan["phones"]] == [
        ("delete", "8005@10.89.20.11", "purge"), ("delete", "8006@10.89.20.12", "purge")]
    gone = phone(plan, "8005@10.89.20.11")
    assert dict((f["name"], f["old"]) for f in gone["fields"]) == dict(
        dialplan_number="8005", protocol="PJSIP", phone_login="lab8005", active="Y")
    assert server(plan, "ast2")["changed_files"] == [] and server(plan, "ast2")["reload"] == []
    assert server(plan, "ast1")["reload"] == ["pjsip reload", "dialplan reload"]
    md = phones_plan.render_markdown(plan)
    assert "- phone 8005@10.89.20.11 will be destroyed (purge: not in the inventory)" in md
    assert '-     phone_login: "lab8005"' in md
    assert "| 10.89.20.12 (`ast2`) | none | none |" in md


def test_bad_entry_lists_every_entry_field_and_reason():
    plan = plan_of("bad")
    assert plan["status"] == "failed"
    assert plan["summary_line"] == "Plan failed: 4 errors."
    assert plan["summary"]["drift"] is False
    assert [(e["phone"], e["field"]) for e in plan["errors"]] == [
        ("80;10@10.89.20.12", "extension"),
        ("8001@10.89.20.11", "registration_password"),
        ("8009@10.89.20.99", "server_ip"),
        ("8003@10.89.20.11", "phone_login"),
    ]
    reasons = dict((e["phone"], e["reason"]) for e in plan["errors"])
    assert reasons["8001@10.89.20.11"].startswith("is 6 characters, shorter than the minimum of 12")
    assert reasons["8009@10.89.20.99"] == "no VICIdial server has this IP (servers table)"
    assert reasons["8003@10.89.20.11"] == "'lab8002' is also the login of 8002@10.89.20.12"
    assert plan["phones"] == [] and plan["servers"] == [] and plan["failures"] == []
    md = phones_plan.render_markdown(plan)
    assert md.startswith("### :x: Plan")
    assert "| `8009@10.89.20.99` | `server_ip` | no VICIdial server has this IP (servers table) |" in md
    assert "| `8003@10.89.20.11` | `phone_login` | 'lab8002' is also the login of 8002@10.89.20.12 |" in md


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_secret_in_recording_json_or_markdown(scenario):
    secrets = fixture_secrets()
    with open(os.path.join(RECORDINGS, scenario + ".record.json")) as handle:
        recorded = handle.read()
    plan = plan_of(scenario)
    outputs = dict(record=recorded, json=json.dumps(plan), markdown=phones_plan.render_markdown(plan))
    for name, text in outputs.items():
        leaked = [s for s in secrets if s in text]
        assert not leaked, "%s of %s shows %d password(s)" % (name, scenario, len(leaked))
    for entry in plan["phones"]:
        for f in entry["fields"]:
            if f["secret"]:
                assert f["old"] is None and f["new"] in ("(changed)", None)


# ---- secrets the modules let through are masked all the same -----------------------------------------

def test_raw_results_are_masked_before_recording():
    """A module result with passwords in the clear (conf_override, a config diff) never reaches the output."""
    raw_phones = dict(
        changed=True, counts=dict(created=0, updated=1, deleted=0, unchanged=0),
        changes=[dict(phone="8001@10.0.0.11", action="update",
                      fields=["conf_override", "registration_password", "phone_pass"])],
        diff=dict(before={"8001@10.0.0.11": dict(conf_override="secret=OldOverride1", registration_password="x",
                                                 phone_pass="y")},
                  after={"8001@10.0.0.11": dict(conf_override="type=friend\n  secret = NewOverride2\n"
                                                              "inbound_auth/password=NewOverride3",
                                                registration_password="RawRegistration4",
                                                phone_pass="RawLogin5")}),
        invocation=dict(module_args=dict(purge=False, db_password="RawDbPassword6")),
    )
    raw_config = dict(
        changed=True, files=[dict(kind="iax", path="/etc/asterisk/iax-x.conf", changed=True)],
        reload=["iax2 reload"],
        diff=[dict(before_header="/etc/asterisk/iax-x.conf", after_header="/etc/asterisk/iax-x.conf",
                   before="[8001]\nsecret=OldFile7\n", after="[8001]\nsecret=NewFile8\n;md5_cred=Commented9\n")],
        invocation=dict(module_args=dict(server_ip="10.0.0.11", db_password="RawDbPassword6")),
    )
    record = dict(check=True, diff=True, events=[
        dict(status="ok", host="ast1", task="apply", action="telephony.vicidial.vicidial_phones",
             result=phones_plan.reduce_result("telephony.vicidial.vicidial_phones", raw_phones)),
        dict(status="ok", host="ast1", task="render", action="telephony.vicidial.vicidial_phone_config",
             result=phones_plan.reduce_result("telephony.vicidial.vicidial_phone_config", raw_config)),
    ])
    plan = phones_plan.build_plan(record)
    text = json.dumps(record) + json.dumps(plan) + phones_plan.render_markdown(plan)
    for secret in ("OldOverride1", "NewOverride2", "NewOverride3", "RawRegistration4", "RawLogin5",
                   "RawDbPassword6", "OldFile7", "NewFile8", "Commented9"):
        assert secret not in text
    override = field(phone(plan, "8001@10.0.0.11"), "conf_override")
    assert override["new"] == "type=friend\n  secret = ********\ninbound_auth/password=********"
    assert server(plan, "ast1")["server_ip"] == "10.0.0.11"


def test_error_lines_parse_with_and_without_field():
    msg = ("2 problems in 2 entries; nothing was written:\n"
           "  - 8001@10.0.0.11: protocol: must be one of SIP, PJSIP, IAX2, got 'XYZ'\n"
           "  - entry 3: needs extension and server_ip")
    assert phones_plan.parse_errors(msg) == [
        dict(phone="8001@10.0.0.11", field="protocol", reason="must be one of SIP, PJSIP, IAX2, got 'XYZ'"),
        dict(phone="entry 3", field=None, reason="needs extension and server_ip"),
    ]


def test_other_failures_are_listed_and_long_plans_are_cut():
    record = load("purge")
    record = dict(record, events=record["events"] + [dict(
        status="failed", host="ast2", task="Reload", action="ansible.builtin.command",
        result=dict(failed=True, msg="One or more items failed",
                    results=[dict(failed=True, stderr="Unable to connect to remote asterisk")]))])
    plan = phones_plan.build_plan(record)
    assert plan["status"] == "failed" and plan["summary_line"] == "Plan failed: 1 error."
    assert plan["failures"] == [dict(host="ast2", task="Reload",
                                     msg="One or more items failed; Unable to connect to remote asterisk")]
    md = phones_plan.render_markdown(plan, max_chars=700)
    assert len(md) <= 700 and md.endswith("**Cut at 700 characters: the JSON plan has all of it.**\n")
    assert md.count("```") % 2 == 0


# ---- the plugin itself, through Ansible's plugin loader ------------------------------------------------

# Runs in a fresh interpreter: Ansible's collection loader cannot take over a
# process where this test module already imported the plugin by its path.
PLUGIN_RUN = r"""
import json, sys
from ansible import context
from ansible.executor.stats import AggregateStats
from ansible.executor.task_result import TaskResult
from ansible.inventory.host import Host
from ansible.playbook.task import Task
from ansible.plugins.loader import callback_loader, init_plugin_loader

init_plugin_loader([sys.argv[1]])
context.CLIARGS = dict(check=True, diff=True)
callback = callback_loader.get("telephony.vicidial.phones_plan")
assert callback is not None, "telephony.vicidial.phones_plan not found by the plugin loader"
callback.set_options()
with open(sys.argv[2]) as handle:
    recorded = json.load(handle)
stats = AggregateStats()
for event in recorded["events"]:
    raw = dict(event["result"])
    raw["invocation"] = dict(module_args=dict(server_ip=raw.pop("server_ip", None), purge=raw.pop("purge", None),
                                              purge_servers=raw.pop("purge_servers", None)))
    task = Task.load(dict(name=event["task"], action=event["action"]))
    try:  # ansible-core 2.16 to 2.20: (host, task, return_data, task_fields)
        result = TaskResult(Host(event["host"]), task, raw, {})
    except TypeError:  # 2.21 builds it from an internal type: what the plugin reads of it, then
        result = type("CallbackTaskResult", (), dict(host=Host(event["host"]), task=task, result=raw))()
    getattr(callback, "v2_runner_on_" + event["status"])(result)
    stats.increment("ok", event["host"])
callback.v2_playbook_on_stats(stats)
"""


def test_plugin_writes_markdown_json_and_recording(tmp_path):
    from collection_path import COLLECTIONS_ROOT

    paths = dict((name, str(tmp_path / name)) for name in ("plan.md", "plan.json", "record.json"))
    env = dict(os.environ, VICIDIAL_PLAN_MARKDOWN=paths["plan.md"], VICIDIAL_PLAN_JSON=paths["plan.json"],
               VICIDIAL_PLAN_RECORD=paths["record.json"], VICIDIAL_PLAN_TITLE="production")
    run = subprocess.run([sys.executable, "-c", PLUGIN_RUN, COLLECTIONS_ROOT,
                          os.path.join(RECORDINGS, "mixed.record.json")],
                         capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 0, run.stderr
    recorded = load("mixed")
    with open(paths["record.json"]) as handle:
        replayed = json.load(handle)
    assert replayed["check"] is True
    assert [(e["status"], e["host"], e["action"]) for e in replayed["events"]] == [
        (e["status"], e["host"], e["action"]) for e in recorded["events"]]
    assert [e["result"] for e in replayed["events"]] == [e["result"] for e in recorded["events"]]
    with open(paths["plan.json"]) as handle:
        assert json.load(handle) == dict(plan_of("mixed"), stats=json.loads(json.dumps(replayed["stats"])))
    with open(paths["plan.md"]) as handle:
        assert handle.read().startswith("### :memo: Plan production\n")
    for path in paths.values():
        assert os.stat(path).st_mode & 0o077 == 0, path


# ---- the CI examples' drift check uses the JSON as the plugin writes it -------------------------------

DRIFT_RE = re.compile(r"python3 -c '(import json, sys; [^']*)' \"?\$?\{?[A-Za-z_]*\}?/?plan\.json\"?")


def drift_snippets():
    found = []
    paths = [os.path.join(walked[0], n) for walked in os.walk(os.path.join(ROOT, "examples", "ci"))
             for n in walked[2] if n.endswith(".yml")]
    for path in sorted(paths):
        with open(path) as handle:
            found += [(os.path.relpath(path, ROOT), code) for code in DRIFT_RE.findall(handle.read())]
    return found


def test_every_ci_example_has_the_drift_check():
    names = sorted(set(snippet[0] for snippet in drift_snippets()))
    assert names == ["examples/ci/github/phones-drift.yml", "examples/ci/gitlab/.gitlab-ci.yml"]


@pytest.mark.parametrize("scenario,expected", [("nochange", 0), ("mixed", 2), ("purge", 2), ("bad", 1)])
def test_drift_check_exit_status(tmp_path, scenario, expected):
    plan_json = tmp_path / "plan.json"
    plan_json.write_text(json.dumps(plan_of(scenario)))
    for name, code in drift_snippets():
        run = subprocess.run([sys.executable, "-c", code, str(plan_json)], capture_output=True, text=True,
                             check=False)
        assert run.returncode == expected, (name, run.stdout, run.stderr)
        assert plan_of(scenario)["summary_line"] in run.stdout


def test_arguments_come_from_the_task_when_results_carry_no_invocation():
    """ansible-core 2.21 leaves `invocation` out of results: server_ip and purge come from the task's args."""
    result = dict(changed=True, files=[], reload=[])
    args = dict(server_ip="10.0.0.12", take_over_generation=False)
    assert phones_plan.reduce_result("telephony.vicidial.vicidial_phone_config", result, args)["server_ip"] \
        == "10.0.0.12"
    phones = dict(changed=True, changes=[], counts={})
    reduced = phones_plan.reduce_result("telephony.vicidial.vicidial_phones", phones,
                                        dict(purge=True, purge_servers=["10.0.0.11"], phones_from="x"))
    assert (reduced["purge"], reduced["purge_servers"]) == (True, ["10.0.0.11"])
    # Arguments that are still templates are not taken for values.
    reduced = phones_plan.reduce_result("telephony.vicidial.vicidial_phones", phones,
                                        dict(purge="{{ vicidial_phones_purge }}", purge_servers=["{{ x }}"]))
    assert "purge" not in reduced and "purge_servers" not in reduced
    # The result's own invocation wins where there is one.
    result = dict(result, invocation=dict(module_args=dict(server_ip="10.0.0.13")))
    assert phones_plan.reduce_result("telephony.vicidial.vicidial_phone_config", result, args)["server_ip"] \
        == "10.0.0.13"
