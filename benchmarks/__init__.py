"""jobrunner against plain huey: throughput, latency, idle cost and config load.

Run ``python -m benchmarks`` from the repository root (``--quick`` for small
sizes, ``--write`` to put the table into ``docs/performance.md``, ``--help``
for the rest). The suite starts its own ``redis-server`` on a free port and
uses temporary SQLite files; consumers run in subprocesses: ``jobrunner run``
with jobrunner's defaults, and a script doing what ``huey_consumer`` does with
huey's defaults (``benchmarks/_huey_consumer.py``).

Other benchmark scripts in this folder (``reload_latency``, ``schedule_offset``,
``delivery``) are run with ``--extras`` when present: each is started as
``python -m benchmarks.NAME [--quick]`` and its standard output (markdown) is
added to the report under its name.
"""
