"""The plain-huey consumer: what ``huey_consumer app.huey -w N -k TYPE`` does, as a script.

It takes huey's own consumer defaults (``huey.consumer_options.ConsumerConfig``)
and logging setup, so the comparison is against huey out of the box.

    python -m benchmarks._huey_consumer BACKEND TARGET QUEUE WORKERS WORKER_TYPE
"""

from __future__ import annotations

import logging
import sys

from huey.consumer_options import ConsumerConfig

from benchmarks._plain import make_huey, register


def main(argv: list[str]) -> None:
    backend, target, queue, workers, worker_type = argv
    huey = make_huey(backend, target, queue)
    register(huey)
    config = ConsumerConfig(workers=int(workers), worker_type=worker_type)
    config.validate()
    config.setup_logger(logging.getLogger("huey"))
    huey.create_consumer(**config.values).run()


if __name__ == "__main__":
    main(sys.argv[1:])
