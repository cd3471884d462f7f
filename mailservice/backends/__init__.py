"""Mail backend adapters: the interface (base) and the Dovecot + Postfix implementation."""
