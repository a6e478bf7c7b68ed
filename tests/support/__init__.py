"""Code shared by the test tiers (pytest's pythonpath has tests/) and bench/ (run with PYTHONPATH=tests).

manifests  the one WsgiApp manifest builder and deep_merge
waiting    wait_for and free_port
rendered   looking into render()'s objects: pod spec, container, command flags
podrun     a rendered pod as one ``docker run``, and the kubelet's stop and probes
harness    the runtime tests' pods: start, wait until serving, HTTP to them
apiproxy   a proxy in front of the API server that can hold requests
"""
