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
