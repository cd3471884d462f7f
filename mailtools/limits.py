"""Every limit of the mail tools (the header viewer and phishing reports), in one place
(pure constants: the parsing core, the services and the forms read them here). README.md
lists them, and a test keeps that list equal to these values."""

# --- the header viewer --------------------------------------------------------------------
# A pasted header block or an uploaded .eml: the rule tester's sample size, so a message
# that one accepts the other accepts too.
ANALYSED_MESSAGE_BYTES = 10 * 1024 * 1024
# A header value longer than this is shown cut, with the number of characters left out: a
# hostile message can carry a megabyte in one header, which no one reads on a page.
HEADER_VALUE_SHOWN_CHARS = 2000
# Headers listed, and Received hops in the timeline: real messages have a few dozen
# headers and under 20 hops; more is a message built to make the page heavy.
HEADERS_SHOWN = 300
RECEIVED_HOPS_SHOWN = 100

# --- phishing reports ---------------------------------------------------------------------
# The original is kept whole (it is the evidence, byte for byte) and sent inside the
# report: abuse desks commonly refuse reports over 10 to 25 MB.
REPORTED_MESSAGE_BYTES = 10 * 1024 * 1024
