"""The service package: `create_app` builds the ASGI app, `__main__` serves it."""
