"""The delivery log's pure core: Postfix's and Dovecot's log lines turned into one event
per (message, recipient). No Django, no files, no subprocess (tests/delivery checks it);
reading the files is `mailservice.backends.log_tail`, storing the events is
`mailservice.services.delivery_log`."""
