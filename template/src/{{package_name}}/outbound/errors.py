"""What a failed outbound call raises; each leaves the service as a problem+json document.

The documents name the upstream host and nothing else: no path, no query, no upstream body, no
exception text. The cause stays on the exception (`__cause__`) and in the log line.
"""

import math

from ..http.problems import ProblemError


class UpstreamError(ProblemError):
    """The upstream gave no usable answer; `upstream` is its `host[:port]`."""

    status = 502

    def __init__(self, upstream: str, detail: str, *, headers: dict[str, str] | None = None):
        super().__init__(detail, headers=headers, upstream=upstream)
        self.upstream = upstream


class UpstreamUnavailable(UpstreamError):
    """The circuit to the upstream is open: the call was refused without touching the network."""

    status = 503

    def __init__(self, upstream: str, retry_in: float) -> None:
        super().__init__(
            upstream,
            f"Calls to the upstream {upstream} are paused after repeated failures.",
            headers={"Retry-After": str(max(1, math.ceil(retry_in)))},
        )


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within the timeouts or the call's time budget."""

    status = 504

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream, f"The upstream {upstream} did not answer in time.")


class UpstreamBadResponse(UpstreamError):
    """The connection failed, or the last answer was a 5xx or a 429 that outlasted the retries."""

    status = 502

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream, f"The upstream {upstream} did not give a usable answer.")
