"""Use cases that span domains, one unit of work each (see dispatch/work.py).

A workflow reads and writes through the domain services, which touch only their own tables and
Redis keys; it commits once and publishes the events once.
"""
