"""Pure-ASGI layers of the request edge. `edge.EdgeMiddleware` composes them into one layer."""
