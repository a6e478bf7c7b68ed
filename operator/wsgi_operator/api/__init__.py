"""The WsgiApp API (wsgi-operator.io/v1alpha1): the single source of truth for the CRD."""

from .wsgiapp import WsgiApp, WsgiAppSpec, WsgiAppStatus

__all__ = ["WsgiApp", "WsgiAppSpec", "WsgiAppStatus"]
