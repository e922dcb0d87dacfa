"""The process: the server with its workers and signals, and the graceful drain it runs."""
