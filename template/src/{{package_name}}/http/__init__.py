"""HTTP conventions shared by every route: problem documents, health probes, pagination."""
