"""Mail pages, one module per area."""
