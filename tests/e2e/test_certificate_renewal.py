"""The self-signed site certificate renews on the server, on a timer, before it expires (the
database server's, signed by its CA, in tests/e2e_multihost/test_database_server.py). Instead of
moving the clock, it is signed again for one day, less than its renewal margin; its renewal unit
then runs as its timer would, and nginx must present a new certificate for the role's lifetime,
with the same key and names, the renewal recorded for the node exporter; one with time left is
left alone, and a renewal that fails keeps the served file. The original is put back afterwards:
the suite's clients trust the site certificate itself."""

from __future__ import annotations

import re

from support.certificate_renewal import file_fields, outcome, renew_a_short_certificate, settings

UNIT = "board-certificate-renew@site.service"


def test_a_failed_renewal_keeps_the_certificate_and_is_recorded(provisioned):
    # First in the module: the renewal below records a success again.
    env = settings(provisioned.sh, "site")
    serial = file_fields(provisioned.sh, env["CERT"], "-serial")
    # Due (a margin longer than any lifetime) but unable to sign: its key is not a key.
    dropin = f"/run/systemd/system/{UNIT}.d"
    provisioned.sh(
        f"mkdir -p {dropin} && printf '[Service]\\nEnvironment=KEY=/dev/null RENEW_DAYS=100000\\n'"
        f" > {dropin}/e2e.conf && systemctl daemon-reload"
    )
    try:
        failed = provisioned.sh(f"systemctl start {UNIT}; echo rc=$?", timeout=120)
        assert re.search(r"rc=[1-9]", failed), failed
        assert file_fields(provisioned.sh, env["CERT"], "-serial") == serial
        assert outcome(provisioned.sh, env["LABEL"])[0] == 0
    finally:
        provisioned.sh(
            f"rm -rf {dropin} && systemctl daemon-reload && systemctl reset-failed {UNIT}"
        )


def test_the_site_certificate_near_its_end_is_renewed_by_its_timer_and_served(provisioned):
    connect = f"-connect {provisioned.testbed.ip}:443 -servername {provisioned.server_name}"
    print("\n" + renew_a_short_certificate(provisioned.sh, "site", connect))
