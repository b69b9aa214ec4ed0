"""`make bench`: the production shape on loopback (PostgreSQL, Gunicorn, Nginx), measured with wrk.

Run with `python -m bench` from the repository root (the Makefile's `bench` target). See run.py.
"""
