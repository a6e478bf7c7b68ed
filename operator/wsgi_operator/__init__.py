"""wsgi-operator: run WSGI applications under a hardened mod_wsgi-express on Kubernetes."""

GROUP = "wsgi-operator.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "WsgiApp"
PLURAL = "wsgiapps"
