"""Where things live inside the app container. Every path the pod needs is here."""

from __future__ import annotations

# The private temp dir (an emptyDir; TMPDIR points at it) is declared by the
# API, whose rules keep the code and the writable dirs out of it.
from ..api.app import TEMP_DIR as TEMP_DIR

# The container port's name is declared by the API too: probe overrides may name it.
from ..api.probe import PORT_NAME as PORT_NAME

#: Generated entry script, its own ConfigMap, apart from the code (the guide's
#: "separate the WSGI script file from the project code").
ENTRY_DIR = "/etc/wsgi/entry"
ENTRY_FILE = "wsgi.py"
ENTRY_SCRIPT = f"{ENTRY_DIR}/{ENTRY_FILE}"
#: Apache include file and the envvars script (umask), from a second ConfigMap.
CONF_DIR = "/etc/wsgi/conf"
INCLUDE_FILE = "hardening.conf"
ENVVARS_FILE = "envvars"
#: The server root: generated httpd.conf, apachectl, pid file, daemon sockets.
#: It must be writable and executable (express execs apachectl from it) and its
#: path short: daemon socket paths must fit sun_path (108 bytes).
SERVER_ROOT = "/var/run/wsgi"
SERVER_ROOT_SIZE = "64Mi"
APACHECTL = f"{SERVER_ROOT}/apachectl"
