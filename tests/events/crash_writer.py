"""The child of the crash test: appends forever from several threads and reports every ack.

Usage: python -m tests.events.crash_writer DIRECTORY ACK_FILE RUN
Each acknowledged append is written to ACK_FILE as ``<offset> <value>`` lines (one os.write per
append, after ``append`` returned), so the parent knows exactly what was acknowledged.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading

from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.log import TopicExistsError

TOPIC = "crash"


def make_value(run: int, thread: int, seq: int) -> bytes:
    head = f"{run}:{thread}:{seq}:".encode()
    body = hashlib.sha256(head).digest() * (1 + seq % 40)  # 32 B .. 1.3 KB
    return head + body


def check_value(value: bytes) -> tuple[int, int, int]:
    run, thread, seq, _ = value.split(b":", 3)
    ids = int(run), int(thread), int(seq)
    assert value == make_value(*ids), f"torn record {value[:40]!r}"
    return ids


def main() -> None:
    directory, ack_path, run = sys.argv[1], sys.argv[2], int(sys.argv[3])
    log = EmbeddedLog(directory)
    try:
        log.create_topic(TOPIC, 1)
    except TopicExistsError:
        pass
    writer = log.open_writer(TOPIC, 0)
    acks = os.open(ack_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def work(thread: int) -> None:
        seq = 0
        while True:
            batch = [make_value(run, thread, seq + i) for i in range(1 + seq % 3)]
            offsets = writer.append(batch)
            os.write(acks, "".join(f"{o} {run}:{thread}:{seq + i}\n" for i, o in enumerate(offsets)).encode())
            seq += len(batch)

    for t in range(8):
        threading.Thread(target=work, args=(t,), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
