"""Demo data of the test app: remembers who it was given."""
populated = []


def populate(*, owner, organisation):
    populated.append((owner.email, organisation.name))
