"""The HTTP layer: routes, middlewares, pages, the JSON API and streaming endpoints."""
