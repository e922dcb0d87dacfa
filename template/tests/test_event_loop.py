"""Every dependency and handler of the service runs on the event loop.

FastAPI runs a plain `def` dependency or endpoint in a worker thread: a thread hop of 25 to
45 µs of CPU per request (the template's performance docs), for functions that read a header or
the settings. The service's own are `async def` even where they await nothing. A dependency of
yours that blocks (file or network I/O without `await`) belongs in a thread: `modules/` is left
out of this check.
"""

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts


def calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from calls(dependency)


def runs_in_a_thread(call: Any) -> bool:
    function = call if inspect.isfunction(call) or inspect.ismethod(call) else call.__call__
    return not (inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function))


def name_of(call: Any) -> str:
    return getattr(call, "__qualname__", type(call).__qualname__)


def test_no_dependency_or_endpoint_of_the_service_hops_to_a_thread(app: FastAPI) -> None:
    package = type(app.state.service).__module__.split(".")[0]
    ours: list[tuple[str | None, Any]] = [
        (route.path, call)
        for route in iter_route_contexts(app.router.routes)
        if isinstance(route.original_route, APIRoute)
        for call in [route.original_route.endpoint, *calls(route.dependant)]
        if call is not None
        and getattr(call, "__module__", "").startswith(f"{package}.")
        and not call.__module__.startswith(f"{package}.modules.")
    ]
    assert {"/health/live", "/health/ready"} <= {path for path, _ in ours}  # the walk reached them
    in_threads = [f"{path}: {name_of(call)}" for path, call in ours if runs_in_a_thread(call)]
    assert in_threads == []
