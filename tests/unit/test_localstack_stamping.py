"""The local stack's submission milters, in the order the signature needs: the sender
check refuses first, the signature milter stamps, then OpenDKIM signs the stamped body;
the signature milter fails open on its own."""
from pathlib import Path

from scripts.localstack_sender import submission_sender_checks
from scripts.localstack_stamping import render_postfix_stamping, stamping_paths


def test_the_signature_milter_runs_after_the_sender_check_and_before_the_signer():
    options = submission_sender_checks({"milter": 10025}, host="127.0.0.1")
    (milters,) = [o for o in options if o.startswith("smtpd_milters=")]
    assert milters == "smtpd_milters=inet:127.0.0.1:10025,$signature_milters,$submission_milters"


def test_the_signature_milter_has_its_own_accept_policy_on_a_unix_socket():
    paths = stamping_paths(Path("/tmp/root"), Path("/tmp/mmd-x"))
    assert "signature_milters = { unix:/tmp/mmd-x/sig/signature.sock, default_action=accept }" \
        in render_postfix_stamping(paths)
    assert paths.data_file == Path("/tmp/root/signatures/signatures.json")
