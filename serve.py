"""The app with a readiness route, for running several replicas behind a proxy (docs/deploy.md):

    streamlit run serve.py --server.port 8501      # app.py's pages, plus GET /healthz

``GET /healthz`` answers 200 with the checks of :func:`core.health.health` when the replica can serve,
503 when it cannot (the proxy or orchestrator then sends users elsewhere). ``GET /metrics`` gives the
replica's analysis slots and its server-side analysis times (:mod:`core.metrics`; ``?since=<unix
time>`` for those from then on). ``make run`` keeps
starting ``app.py`` directly: one person on a laptop needs no proxy.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.health import health, replica_name
from core.metrics import analysis_timings
from core.settings import PROJECT_ROOT
from core.slots import analysis_slots


async def healthz(_request: Request) -> Response:
    report = await run_in_threadpool(health)
    return Response(report.to_json(), status_code=200 if report.ok else 503, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


async def metrics(request: Request) -> Response:
    try:
        since = float(request.query_params["since"]) if "since" in request.query_params else None
    except ValueError:
        return Response('{"error": "since must be a Unix time"}', status_code=400, media_type="application/json")
    body = {"replica": replica_name(), "slots": asdict(analysis_slots().stats()),
            "analyses": analysis_timings().summary(since)}
    return Response(json.dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"})


app = st.App(str(PROJECT_ROOT / "app.py"), routes=[Route("/healthz", healthz, methods=["GET"]),
                                                       Route("/metrics", metrics, methods=["GET"])])
