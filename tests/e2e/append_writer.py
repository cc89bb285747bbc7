"""Appends from several threads until killed, printing "index seq" after each commit.

Run by test_crash.py: every line printed is an acknowledged append.
"""

from __future__ import annotations

import sys
import threading

from lunan.log import open_log


def crash_entry(seq: int) -> bytes:
    return f'{{"crash-test":{seq},"pad":"{"x" * 280}"}}'.encode()


def main(node_dir: str) -> None:
    log = open_log(node_dir)
    lock = threading.Lock()

    def writer(w: int) -> None:
        seq = w
        while True:
            index = log.append([crash_entry(seq)])
            with lock:
                sys.stdout.write(f"{index} {seq}\n")
                sys.stdout.flush()
            seq += 4

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(sys.argv[1])
