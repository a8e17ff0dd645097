"""Quickstart: launch a container from the local busybox image, run a command,
push and pull a file, take a snapshot, print the state and clean up.

Run it after ``integration/lxd-env setup`` (which imports the ``busybox``
image), as a user who can reach the LXD socket::

    python examples/quickstart.py
"""

from __future__ import annotations

import sys
import uuid

from pylxd import Client


def main() -> int:
    client = Client()
    print(f"Connected to LXD {client.host_info['environment']['server_version']}")

    name = f"quickstart-{uuid.uuid4().hex[:6]}"
    config = {"name": name, "source": {"type": "image", "alias": "busybox"}}
    instance = client.instances.create(config, wait=True)
    try:
        instance.start(wait=True)
        print(f"{instance.name} is {instance.status}")

        result = instance.execute(["sh", "-c", "echo hello from $(hostname)"])
        print(f"exec: exit={result.exit_code} stdout={result.stdout.strip()!r}")

        instance.files.put("/root/greeting.txt", b"hi there\n", mode="0644")
        print(f"file: {instance.files.get('/root/greeting.txt')!r}")

        snapshot = instance.snapshots.create("first", wait=True)
        print(f"snapshot: {snapshot.name} taken at {snapshot.created_at}")

        state = instance.state()
        print(f"state: {state.status}, {state.processes} processes, pid {state.pid}")
    finally:
        instance.stop(force=True, wait=True)
        instance.delete(wait=True)
        print(f"deleted {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
