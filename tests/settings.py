"""The test settings: the product's, with a random key of this run's own (with DEBUG off,
which the tests keep, the product refuses the development key). Set in the environment, so
the Celery workers and commands the end-to-end tests start get the same key: the DKIM keys
the tests create are encrypted with it."""
import os
import secrets

if not os.environ.get("SECRET_KEY"):
    os.environ["SECRET_KEY"] = "test-" + secrets.token_urlsafe(48)

from manager.settings import *  # noqa: E402,F403
