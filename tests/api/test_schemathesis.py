"""schemathesis against the live app on a real port: every operation, stateful links, all checks."""

from __future__ import annotations

import asyncio
import time

import schemathesis
from schemathesis.engine import Status, events, from_schema

from hypertube.http.api.policy import Limits
from hypertube.keys import API_LIMITS


def run_schemathesis(base_url: str, token: str):
    config = schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "headers": {"Authorization": f"Bearer {token}"},
            "seed": 20261125,
            "workers": 1,
            # No "max-time": with one, fuzzing and stateful rounds repeat until it runs out (50 s for
            # about 250 scenarios); without, each phase runs once over every operation (~56, ~13 s).
            "continue-on-failure": True,
            "request-timeout": 10,
            "generation": {"max-examples": 10, "mode": "all"},
            "phases": {"stateful": {"max-steps": 8}},
            "checks": {"enabled": True},
            "operations": [
                {
                    # A schema-valid picture URL can still point at nothing or at something that is not
                    # a picture (the run has no image host); the refusal is a documented 422.
                    "include-operation-id": "updateUser",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2XX", 401, 403, 404, 409, 422, 429]
                        }
                    },
                },
                {
                    # The film cursor is opaque (it encodes the sort key): a made-up one is a 400.
                    "include-operation-id": "listMovies",
                    "checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", 400, 401, 429]}},
                },
            ],
        }
    )
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=config)
    failures: list[str] = []
    counts: dict[str, int] = {"scenarios": 0, "checks": 0}
    labels: set[str] = set()
    phases: set[str] = set()
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"error: {getattr(event, 'info', None) or event}")
        elif isinstance(event, events.ScenarioFinished):
            counts["scenarios"] += 1
            phases.add(str(event.phase))
            labels.update(case.value.operation.label for case in event.recorder.cases.values())
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    counts["checks"] += 1
                    if check.status == Status.FAILURE:
                        case = event.recorder.cases.get(case_id)
                        label = case.value.operation.label if case else event.recorder.label
                        info = check.failure_info
                        detail = f"{info.failure.title}: {info.failure.message[:300]}" if info else ""
                        sample = info.code_sample[:400] if info else ""
                        failures.append(f"{label}: {check.name}: {detail}\n    {sample}")
    return failures, counts, labels, phases, time.monotonic() - started


async def test_schemathesis_finds_no_server_error_and_no_spec_violation(
    aiohttp_client, make_app, make_user, api_movie, api_token, db
):
    app = make_app()
    app[API_LIMITS] = Limits(requests=1_000_000, comments=1_000_000)
    client = await aiohttp_client(app)
    me, other = await make_user(), await make_user()
    movies = [await api_movie(f"Film {i}") for i in range(3)]
    for m in movies:
        await db.execute(
            "INSERT INTO comments (movie_id, user_id, body) VALUES ($1, $2, 'theirs')", m, other.id
        )
        await db.execute("INSERT INTO comments (movie_id, user_id, body) VALUES ($1, $2, 'mine')", m, me.id)
    headers = await api_token(client, me)
    token = headers["Authorization"].removeprefix("Bearer ")
    base = str(client.make_url("")).rstrip("/")
    failures, counts, labels, phases, elapsed = await asyncio.to_thread(run_schemathesis, base, token)
    print(f"schemathesis: {counts} in {elapsed:.1f} s; phases {sorted(phases)}")
    spec = (await (await client.get("/api/v1/openapi.json")).json())["paths"]
    operations = {f"{method.upper()} {path}" for path, ops in spec.items() for method in ops}
    # The document itself takes no input at all, so there is nothing to generate for it.
    operations.discard("GET /api/v1/openapi.json")
    assert operations <= labels, f"not exercised: {operations - labels}"
    assert {"coverage", "fuzzing", "stateful"} <= {p.lower().split(".")[-1] for p in phases}, phases
    assert counts["checks"] > 1000
    assert not failures, "\n".join(dict.fromkeys(failures))
