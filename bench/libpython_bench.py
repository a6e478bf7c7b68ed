"""The same Python work under Debian's two builds of CPython 3.11: the
``python3.11`` executable (the interpreter linked in statically, what gunicorn
and granian run) and ``libpython3.11.so`` (the shared library, position-
independent code, the only form Apache can load: what mod_wsgi runs).

Run (as root):  .venv/bin/python bench/libpython_bench.py [--rounds 5]

It compiles a three-line launcher against the host's libpython3.11 (gcc and
python3.11-dev from Debian; the same package version as the images'), and runs
a Django template render (the Django example's image, its venv) in a container
with one CPU, alternating the two interpreters. Each run reports the CPU time
of its render loop (``time.process_time``). It prints the per-round ratio
shared/static and asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DOCKER = "/usr/bin/docker"
IMAGE = "local/wsgi-django:dev"
SITE = "/opt/wsgi/lib/python3.11/site-packages"
LAUNCHER = "#include <Python.h>\nint main(int argc, char **argv) { return Py_BytesMain(argc, argv); }\n"
# A template like the example's document list, rendered by Django's engine.
WORKLOAD = """
import time, django
from django.conf import settings
settings.configure(TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}])
django.setup()
from django.template import Context, Engine
t = Engine(builtins=["django.template.defaultfilters"]).from_string(
    "{% for d in docs %}<li><a href='{{ d.url }}'>{{ d.title|title }}</a> {{ d.size|filesizeformat }}</li>{% endfor %}")
docs = [{"url": f"/media/doc{i}.txt", "title": f"document {i}", "size": i * 100} for i in range(50)]
t.render(Context({"docs": docs}))
start = time.process_time()
for _ in range(1500):
    t.render(Context({"docs": docs}))
print(time.process_time() - start)
"""


def run(interpreter: str, launcher: Path) -> float:
    """CPU seconds of the render loop under ``interpreter`` (in the container)."""
    mount = f"type=bind,source={launcher},target=/pyshared,readonly"
    docker = [DOCKER, "run", "--rm", "--cpus", "1", "--env", f"PYTHONPATH={SITE}", "--mount", mount, IMAGE]
    out = subprocess.run(
        [*docker, interpreter, "-c", WORKLOAD],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source, launcher = Path(tmp) / "main.c", Path(tmp) / "pyshared"
        source.write_text(LAUNCHER)
        flags = subprocess.run(
            ["python3.11-config", "--embed", "--cflags", "--ldflags"], check=True, capture_output=True, text=True
        ).stdout.split()
        subprocess.run(["gcc", "-O2", "-o", str(launcher), str(source), *flags], check=True)
        static, shared = [], []
        for r in range(args.rounds):
            # Alternate which goes first, so neither always follows the other.
            pair = [("static", "/usr/bin/python3.11"), ("shared", "/pyshared")]
            for name, interpreter in pair if r % 2 == 0 else pair[::-1]:
                (static if name == "static" else shared).append(run(interpreter, launcher))
    ratios = [b / a for a, b in zip(static, shared, strict=True)]
    print("| interpreter | CPU s per 1,500 renders (median) | range |")
    print("|---|---|---|")
    print(f"| python3.11 (static) | {statistics.median(static):.2f} | {min(static):.2f}-{max(static):.2f} |")
    print(f"| libpython3.11.so (shared) | {statistics.median(shared):.2f} | {min(shared):.2f}-{max(shared):.2f} |")
    print(
        f"\nshared/static, paired per round: median {statistics.median(ratios) * 100:.0f}% "
        f"({min(ratios) * 100:.0f}-{max(ratios) * 100:.0f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
