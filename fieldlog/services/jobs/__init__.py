"""Work off the request: named, idempotent jobs on Redis (RQ) or, by default, in the process.

`queue.enqueue(name, *args)` is the one interface; packages register their jobs by name when
the app is built (`queue.register`), so this package imports none of them.
"""
