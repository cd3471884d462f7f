"""Development and test support (the local mail stack and its runner), not product code."""
