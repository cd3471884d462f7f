"""A product app that exists only for the tests: installing it is all it takes for the
platform core to mount its API and pages and to run its demo data."""
