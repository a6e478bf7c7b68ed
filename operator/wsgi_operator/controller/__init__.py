"""The running operator: kopf wiring, server-side apply, pruning, status and metrics.

Nothing is imported here on purpose: ``wsgi-operator render`` and the other
offline commands must not pay for importing kopf and the kubernetes client.
"""
