"""Valid phone entries for the unit tests, numbered so a bad one can be put anywhere."""

IPS = ("10.10.10.1", "10.10.10.2")
DROP = object()  # an override that removes the option from the entry


def good_entry(i):
    return {
        "extension": "7%04d" % i,
        "server_ip": IPS[i % 2],
        "protocol": "PJSIP",
        "dialplan_number": "7%04d" % i,
        "voicemail_id": "7%04d" % i,
        "phone_login": "L7%04d" % i,
        "phone_pass": "LoginPw7%04d" % i,
        "registration_password": "RegSecret-7%04d-abcd" % i,
        "phone_full_name": "Agent %d" % i,
    }


def with_overrides(entries, overrides):
    """entries with {index: {option: value or DROP}} applied; a non-dict replaces the entry."""
    for index, changes in overrides.items():
        if not isinstance(changes, dict):
            entries[index] = changes
            continue
        for key, value in changes.items():
            if value is DROP:
                entries[index].pop(key, None)
            else:
                entries[index][key] = value
    return entries
