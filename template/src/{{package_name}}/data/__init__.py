"""The database: engine, sessions, the declarative base of every model."""
