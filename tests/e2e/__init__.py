"""End-to-end tests against real daemons.

A push that reports success is effective at once: Postfix looks addresses up in SQL tables
at each SMTP command, and a push that adds a domain returns only after every Postfix daemon
older than the change has exited (mailservice/backends/postfix_reload.py). So tests send
mail right after a push, with no wait.
"""


def send_message(stack, *recipients: str, subject: str, headers: dict | None = None) -> str:
    """Deliver a message to the stack's inbound SMTP port; returns its unique Message-ID."""
    import smtplib
    import uuid
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "sender@outside.test"
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Message-ID"] = message_id = f"<{uuid.uuid4().hex}@outside.test>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content("hello\n")
    with smtplib.SMTP(stack.host, stack.smtp_port, timeout=30) as smtp:
        smtp.send_message(msg, from_addr="sender@outside.test", to_addrs=list(recipients))
    return message_id


def rcpt_code(stack, recipient: str) -> int:
    """The SMTP reply code of RCPT TO for `recipient` (250 accepted, 550 refused)."""
    import smtplib

    with smtplib.SMTP(stack.host, stack.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("sender@outside.test")
        code, _ = smtp.rcpt(recipient)
        return code
