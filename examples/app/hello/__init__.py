"""Tiny example WSGI application for wsgi-operator (see hello.wsgi)."""
