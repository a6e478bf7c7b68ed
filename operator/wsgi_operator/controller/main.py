"""Running the operator: `wsgi-operator run`, or ``operate()`` inside another event loop (tests)."""

from __future__ import annotations

import asyncio
import logging
import threading

import kopf

from . import handlers, metrics
from .apply import Kube, client_configuration
from .dispatch import STATUS_WORKERS, Dispatcher
from .reconcile import Reconciler
from .settings import OperatorSettings


async def operate(
    settings: OperatorSettings,
    *,
    stop_flag: asyncio.Event | threading.Event | None = None,
    ready_flag: asyncio.Event | threading.Event | None = None,
) -> None:
    """Run the operator in the current event loop until ``stop_flag`` is set (or SIGINT/SIGTERM).

    ``ready_flag`` is set once kopf has listed everything and handlers run.
    Signals are only handled when this runs in the main thread; elsewhere
    (an operator in a test's background thread) ``stop_flag`` stops it.
    """
    cfg = client_configuration(settings.kubeconfig)
    # One pooled connection per worker thread: no request waits for a socket.
    cfg.connection_pool_maxsize = settings.workers + STATUS_WORKERS
    kube = Kube(cfg)
    reconciler = Reconciler(kube, settings.render, full_resync_every=settings.full_resync_every)
    dispatcher = Dispatcher(reconciler, settings.workers)
    try:
        await kopf.operator(
            registry=handlers.build_registry(),
            settings=handlers.kopf_settings(settings),
            standalone=True,
            clusterwide=settings.clusterwide,
            namespaces=settings.namespaces,
            liveness_endpoint=settings.liveness_endpoint,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
            memo=kopf.Memo(dispatcher=dispatcher, settings=settings),
        )
    finally:
        dispatcher.close()
        kube.close()


def run(settings: OperatorSettings) -> int:
    """`wsgi-operator run`: configure logging and metrics, then run until SIGTERM."""
    kopf.configure(
        verbose=settings.verbose,
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL,
    )
    if not settings.verbose:
        # kopf logs every successful handler call at INFO (one line per watch
        # event of every child) and aiohttp every liveness probe: the
        # reconciler logs what it changed instead.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if settings.metrics_port:
        metrics.serve(settings.metrics_port, settings.bind_address)
    asyncio.run(operate(settings))
    return 0
