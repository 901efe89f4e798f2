"""Issue 10: an active call survives an apply.

Two declared PJSIP phones on ast2, 8301 (calls) and 8302 (answers), register from this host
(tests/e2e/sip_call.py: a small SIP phone that answers everything Asterisk sends and records it).
Their phone_context is the role's dial plan context, vicidial-auto-phones: the lab's stock
extensions.conf has no VICIdial contexts, so its [default] does not reach the phones' numbers
(on a VICIdial server [default] includes them); nothing of the lab or the collection changes for it.
8301 dials 8302's dial plan number, Asterisk runs ``Dial(PJSIP/8302,60,)`` and bridges the call;
8301 sends 20 ms u-law RTP for as long as the call is up and 8302 echoes it back.

While the call is up, playbooks/phones.yml applies a change on the same server that needs a
``pjsip reload`` and a ``dialplan reload``. The call ends when the test hangs up (8301's BYE), once
the apply has finished and RTP has been seen flowing after it. Checked:

* the apply succeeded and Asterisk has loaded the change (so both reloads ran during the call);
* the call lasted to its planned end: Asterisk still had both channels up, 8301's BYE got 200 OK;
* Asterisk sent no BYE to the caller (nor any other request in the call: no re-INVITE, no UPDATE),
  and the callee's BYE came only after the caller's;
* RTP flowed in both directions before, during and after the apply.

a. The change is to other phones: 8002's caller ID and dial plan number, plus a new phone 8303.
b. The change is to the calling phone itself: 8301's caller ID (phone_full_name and outbound_cid).
   What Asterisk does to that phone's call is recorded in the README's reliability table.
"""

import re
import time

import e2e_lab as lab
import sip_call

CALLER, CALLEE, ADDED = "8301", "8302", "8303"
CONTEXT = "vicidial-auto-phones"
FLOWING = 25  # packets (0.5 s of audio) that show RTP flows in a window
WAIT = 60  # deadline (s) for each awaited event


def _phones():
    return (lab.phone(CALLER, lab.AST2_IP, phone_context=CONTEXT),
            lab.phone(CALLEE, lab.AST2_IP, phone_context=CONTEXT))


def _wait(what, predicate, seconds=WAIT):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "waited %ss for %s" % (seconds, what)
        time.sleep(0.05)


def _both_flowing(caller, callee, since):
    return caller.rtp_between(since, float("inf")) >= FLOWING and callee.rtp_between(since, float("inf")) >= FLOWING


def _up_channels():
    out = lab.asterisk(lab.AST2, "core show channels concise")
    return sorted(line.split("!")[0] for line in out.splitlines() if line.startswith("PJSIP/") and "!Up!" in line)


def _call_channels():
    return sorted(name.rsplit("-", 1)[0] for name in _up_channels())


def _channel_callerid(extension):
    """'Name <number>' of the caller ID that extension's live channel carries."""
    name = [c for c in _up_channels() if c.rsplit("-", 1)[0] == "PJSIP/" + extension][0]
    out = lab.asterisk(lab.AST2, "core show channel %s" % name)
    fields = dict(re.findall(r"(?m)^\s*(Caller ID(?: Name)?):\s*(.*?)\s*$", out))
    return "%s <%s>" % (fields.get("Caller ID Name", ""), fields.get("Caller ID", ""))


def _callerid(extension):
    out = lab.asterisk(lab.AST2, "pjsip show endpoint %s" % extension)
    found = re.findall(r"(?m)^\s*callerid\s+:\s*(.*?)\s*$", out)
    return found[0] if found else None


def _call_through_apply(base, caller_entry, callee_entry, changed_entries):
    """Set the call up, apply changed_entries during it, hang up. Returns what was observed."""
    run = lab.playbook([lab.entries_vars(base + [caller_entry, callee_entry])])
    assert run.rc == 0, "declaring the two phones failed:\n" + run.explain()
    caller = sip_call.Phone(CALLER, caller_entry["registration_password"], lab.AST2_IP)
    callee = sip_call.Phone(CALLEE, callee_entry["registration_password"], lab.AST2_IP, echo=True)
    seen = {}
    try:
        caller.register()
        callee.register()
        caller.call(callee_entry["dialplan_number"])
        start = time.monotonic()
        _wait("RTP to flow both ways", lambda: _both_flowing(caller, callee, start))
        assert _call_channels() == ["PJSIP/" + CALLER, "PJSIP/" + CALLEE]
        seen["callerid_before"] = _channel_callerid(CALLER)

        apply_start = time.monotonic()
        run = lab.playbook([lab.entries_vars(changed_entries)])
        apply_end = time.monotonic()
        assert run.rc == 0, "the apply during the call failed:\n" + run.explain()

        if caller.ended_by is None and callee.ended_by is None:
            _wait("RTP to flow both ways after the apply", lambda: _both_flowing(caller, callee, apply_end))
        seen["channels"] = _call_channels()
        if seen["channels"]:
            seen["callerid_after"] = _channel_callerid(CALLER)
        hangup = time.monotonic()
        seen["bye_answer"] = caller.hang_up().status if caller.ended_by is None else None
        if seen["bye_answer"] == 200:
            _wait("the callee's BYE", lambda: callee.received("BYE"))
        windows = dict(before=(start, apply_start), during=(apply_start, apply_end), after=(apply_end, hangup))
        seen.update(
            caller=caller, callee=callee, windows=windows, hangup=hangup,
            rtp=dict((name, (caller.rtp_between(*w), callee.rtp_between(*w))) for name, w in windows.items()),
            # In-dialog requests Asterisk sent to either phone from the start of the apply to the hangup.
            requests_during=dict(
                (phone.extension, [line.split(" ", 1)[0] for t, way, line, call_id in phone.log
                                   if way == "in" and apply_start <= t < hangup and not line.startswith("SIP/")
                                   and call_id == phone.dialog["call_id"]])
                for phone in (caller, callee)),
        )
        print("RTP packets received (caller, callee) per window: %s; caller sent %d" % (seen["rtp"], caller.rtp_sent))
        print("--- caller\n%s\n--- callee\n%s" % (caller.transcript(), callee.transcript()))
        return seen
    finally:
        for phone in (caller, callee):
            if phone.dialog and phone.ended_by is None and phone.dialog.get("uac"):
                try:
                    phone.hang_up()
                except AssertionError:
                    pass
            phone.unregister()
            phone.close()


def _assert_call_survived(seen):
    caller, callee = seen["caller"], seen["callee"]
    story = "\n--- caller\n%s\n--- callee\n%s" % (caller.transcript(), callee.transcript())
    assert caller.received("BYE") == [], "Asterisk hung the caller up:" + story
    assert seen["channels"] == ["PJSIP/" + CALLER, "PJSIP/" + CALLEE], "the call is gone: %s%s" % (
        seen["channels"], story)
    assert seen["bye_answer"] == 200, "the caller's BYE at the planned end got %s%s" % (seen["bye_answer"], story)
    assert caller.ended_by == "local" and callee.ended_by == "remote", story
    assert all(t >= seen["hangup"] for t in callee.received("BYE")), "the callee got a BYE before the caller's" + story
    # Asterisk sent neither phone anything in the call (no re-INVITE, UPDATE or BYE) until the hangup.
    assert seen["requests_during"] == {CALLER: [], CALLEE: []}, seen["requests_during"]
    for window, (to_caller, to_callee) in seen["rtp"].items():
        assert to_caller > 0 and to_callee > 0, "no RTP %s the apply: %s" % (window, seen["rtp"])


def test_call_survives_an_apply_that_reloads_pjsip_and_dialplan(known_state):
    base = lab.lab_entries()
    caller_entry, callee_entry = _phones()
    changed = [dict(e) for e in base]
    desk2 = next(e for e in changed if e["extension"] == "8002")
    desk2.update(phone_full_name="Lab desk two, moved", dialplan_number="8092")
    added = lab.phone(ADDED, lab.AST2_IP)

    seen = _call_through_apply(base, caller_entry, callee_entry, changed + [caller_entry, callee_entry, added])

    _assert_call_survived(seen)
    now = lab.loaded(lab.AST2)
    assert ADDED in now["endpoints"], now  # pjsip reload
    assert "8092" in now["dialplan"] and "8002" not in now["dialplan"], now  # dialplan reload
    assert CALLEE in now["dialplan"]
    assert _callerid("8002") == "Lab desk two, moved"


def test_call_of_a_phone_whose_caller_id_changes(known_state):
    base = lab.lab_entries()
    caller_entry, callee_entry = _phones()
    changed_caller = dict(caller_entry, phone_full_name="e2e caller renamed", outbound_cid="3125550101")

    seen = _call_through_apply(base, caller_entry, callee_entry, base + [changed_caller, callee_entry])

    _assert_call_survived(seen)
    # The endpoint has the new caller ID; the live call keeps the one it was set up with...
    assert _callerid(CALLER) == '"e2e caller renamed" <3125550101>'
    assert seen["callerid_after"] == seen["callerid_before"], seen
    # ...and the next call from the phone carries the new one.
    caller = sip_call.Phone(CALLER, caller_entry["registration_password"], lab.AST2_IP)
    callee = sip_call.Phone(CALLEE, callee_entry["registration_password"], lab.AST2_IP, echo=True)
    try:
        callee.register()
        caller.call(callee_entry["dialplan_number"])
        assert caller.hang_up().status == 200
        _wait("the callee's BYE", lambda: callee.received("BYE"))
        assert callee.invites_from and callee.invites_from[0].startswith('"e2e caller renamed" <sip:3125550101@'), (
            callee.invites_from)
    finally:
        for phone in (caller, callee):
            phone.unregister()
            phone.close()
