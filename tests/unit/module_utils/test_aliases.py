# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Phone alias planning (no database): admin.php's rules, every problem named at once."""

from ansible_collections.telephony.vicidial.plugins.module_utils._aliases import AliasPlan

LOGINS = {"8001a", "8001b", "8002a"}


def plan(declared, aliases=None, purge=None, extra=()):
    p = AliasPlan()
    problems = p.build(declared, aliases or {}, LOGINS, purge, extra)
    p.statements()
    return p, problems


def test_create_and_rerun():
    p, problems = plan([{"alias_id": "sales", "alias_name": "Sales", "logins_list": ["8001a", "8001B"]}])
    assert problems == []
    assert [c["readable"] for c in p.changes] == [
        "INSERT INTO phones_alias (alias_id,alias_name,logins_list,user_group) VALUES "
        "('sales','Sales','8001a,8001B','---ALL---')"]
    stored = {"sales": {"alias_id": "sales", "alias_name": "Sales", "logins_list": "8001a,8001B",
                        "user_group": "---ALL---"}}
    again, problems = plan([{"alias_id": "SALES", "alias_name": "Sales", "logins_list": "8001a,8001B"}], stored)
    assert problems == [] and again.changes == [] and again.unchanged == 1


def test_every_problem_at_once():
    _p, problems = plan([
        {"alias_id": "8001A", "alias_name": "Login clash", "logins_list": ["8001a"]},
        {"alias_id": "a", "alias_name": "ok name", "logins_list": ["8001a"]},
        {"alias_id": "bad name", "alias_name": "x", "logins_list": ["8001a"]},
        {"alias_id": "ghost", "alias_name": "Ghost", "logins_list": ["8001a", "nope", "8001a"]},
        {"alias_id": "unknown", "alias_name": "Unknown", "logins_list": ["nope1", "nope2"]},
        {"alias_id": "new1"},
        {"alias_id": "long", "alias_name": "Long", "logins_list": ["x%03d" % i for i in range(60)]},
    ])
    text = "\n".join(problems)
    assert "8001A: alias_id: is also a phone login" in text
    assert "a: alias_id: must be 2 to 20 characters" in text
    assert "bad name: alias_id: must be 2 to 20" in text and "bad name: alias_name: must be 2 to 50" in text
    assert "ghost: logins_list: listed more than once: 8001a" in text
    assert "unknown: logins_list: no phone has the logins nope1, nope2" in text
    assert "new1: alias_name and logins_list are required to create an alias" in text
    assert "long: logins_list: is " in text and "the column holds 255" in text


def test_a_login_the_same_run_creates_counts_with_extra_logins():
    _p, problems = plan([{"alias_id": "sales", "alias_name": "Sales", "logins_list": ["9001a"]}], extra=["9001a"])
    assert problems == []


def test_purge_only_in_the_named_groups_and_absent_deletes():
    stored = dict((a, {"alias_id": a, "alias_name": "Old", "logins_list": "8001a", "user_group": g})
                  for a, g in (("old1", "---ALL---"), ("old2", "EAST"), ("keep", None)))
    p, problems = plan([{"alias_id": "keep", "state": "absent"}], stored, purge=["---ALL---"])
    assert problems == []
    # keep (user_group NULL counts as ---ALL---) is deleted once, by its state; old2 is in another group.
    assert sorted((c["alias_id"], c["action"]) for c in p.changes) == [("keep", "delete"), ("old1", "delete")]
    p, _problems = plan([], stored, purge=None)
    assert p.changes == []


def test_diff_shows_only_changed_fields():
    stored = {"sales": {"alias_id": "sales", "alias_name": "Sales", "logins_list": "8001a", "user_group": "---ALL---"}}
    p, problems = plan([{"alias_id": "sales", "logins_list": ["8001a", "8002a"]}], stored)
    assert problems == []
    assert p.diff() == {"before": {"sales": {"logins_list": "8001a"}},
                        "after": {"sales": {"logins_list": "8001a,8002a"}}}
