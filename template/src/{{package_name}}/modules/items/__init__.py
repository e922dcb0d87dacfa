"""Items: the example resource (create, list with pagination, read, update, delete)."""
