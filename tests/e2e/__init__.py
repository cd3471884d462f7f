"""End-to-end tests against real daemons."""

# `postfix reload` is asynchronous: a Postfix process started before it may serve one more
# connection with the old lookup tables. Tests that send mail right after a push give the
# reload this long to reach every process (a real sender would simply see the change a
# moment later).
POSTFIX_SETTLE_SECONDS = 0.5
