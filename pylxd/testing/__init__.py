"""A stateful, in-memory fake LXD for testing code that uses pylxd.

:class:`FakeLXD` answers the LXD REST API the way LXD 5.0.2 does, from
memory: no daemon, no root, no network. Code under test uses an ordinary
:class:`pylxd.Client`; nothing is patched globally.

>>> from pylxd import Client
>>> from pylxd.testing import FakeLXD
>>> fake = FakeLXD()
>>> fake.add_root_disk()                      # what ``lxd init`` would do
>>> fingerprint = fake.add_image("ubuntu/22.04", properties={"os": "ubuntu"})
>>> rule = fake.on_exec(["apt-get", "update"], stdout="Reading lists... Done\\n")
>>> client = Client(endpoint=fake.endpoint)  # or: fake.client()
>>> web = client.instances.create(
...     {"name": "web", "source": {"type": "image", "alias": "ubuntu/22.04"}},
...     wait=True,
... )
>>> web.status
'Stopped'
>>> web.start(wait=True)
>>> web.execute(["apt-get", "update"]).stdout
'Reading lists... Done\\n'
>>> fake.last_body("PUT", "/1.0/instances/web/state")
{'action': 'start', 'timeout': 30, 'force': True}

.. rubric:: Plugging in

A fake plugs in as a transport: it is a ``requests`` adapter that also
opens websockets (``open_websocket(resource)``). Mounted on a client's
session, it serves the HTTP requests, and the websocket clients of
``pylxd._websocket`` (exec streams, events, consoles) ask that session's
adapter for their connection (``pylxd._websocket.connector_for``). Nothing
is registered, and no host name is looked up in a table.

* ``fake.client(**kwargs)``: a ``Client`` on a session with the fake mounted.
* ``Client(endpoint=fake.endpoint)``: ``fake.endpoint``
  (``http://<id>.lxd.fake``) is a :class:`FakeEndpoint`, a ``str`` that
  carries the fake in its ``pylxd_adapter`` attribute (the hook,
  ``pylxd._transport.IN_PROCESS_ADAPTER``); the client mounts it on its
  session as ``fake.client()`` does. The fake lives as long as the endpoint
  or a client made from it. A plain copy of the URL (``str()``, a format
  string, an environment variable) reaches nothing. ``fake.unregister()``
  and ``with FakeLXD() as fake:`` are kept for code written when fakes were
  registered by host name; there is nothing left to undo.
* pytest: the ``fake_lxd`` and ``fake_client`` fixtures of
  :mod:`pylxd.testing.pytest_plugin` (loaded automatically once pylxd is
  installed; ``@pytest.mark.fake_lxd(extensions=[...])`` configures them).

.. rubric:: What it imitates

The response envelope (sync, async with operations and a blocking
``/wait?timeout=``, errors with LXD's status codes and messages),
``recursion``, projects (``?project=``, ``features.*``), configurable API
extensions (``FakeLXD(extensions=[...])``, LXD 5.0.2's by default),
instances and their state (create -> Stopped, start -> Running, freeze ->
Frozen, an ephemeral instance disappears when stopped), snapshots, files
(an in-memory filesystem per instance), profiles, images and aliases,
networks, storage pools and volumes, certificates, cluster members, backups,
logs and more. The contract suite (``integration/contract``) runs the same
scenarios on the fake and on a real LXD 5.0.2 and asserts the same results.

Exec: :meth:`FakeLXD.on_exec` registers what a command prints and returns
(fixed output, or a handler called with an :class:`ExecCall`);
``true``, ``false``, ``echo``, ``cat``, ``pwd`` and ``id -u``/``-g`` work
without a rule; any other command fails like a missing binary (``Command
not found``, exit 127). ``execute``,
``execute_stream``, ``record_output`` and ``interactive_execute`` run
unchanged over real websockets on a socket pair.

Console: ``console_log()``/``clear_console_log()`` read what
``fake.add_console_output(instance, data)`` added; ``interactive_console()``
sends that log, then echoes what is written.

Events: ``client.events_iter()`` and ``client.events()`` receive lifecycle
events for what requests changed (``instance-started``, ``profile-created``,
...), operation events, and whatever ``fake.emit(type, metadata)`` sends.

Fault injection (each applies once, to the next request matching the
optional ``method`` and ``path``): ``fail_next(status, message)`` answers
with an LXD error, ``timeout_next()`` raises ``RequestTimeout``,
``disconnect_next()`` raises ``ConnectionLost``, ``reply_next(reply)``
answers with a :class:`Reply` as given, ``fail_operation_next(message)``
makes the next operation fail with ``message`` and change nothing.
Inspect the wire with ``fake.calls(method, path)``, ``fake.last(...)`` and
``fake.last_body(...)``.

.. rubric:: What it cannot imitate

* Commands do not run: output comes only from ``on_exec`` rules and the
  built-ins. A command ends at once, so ``execute(timeout=...)`` never times
  out unless a handler blocks; signals and ``window-resize`` are ignored; an
  interactive command gets no input and prints its whole output at once.
* Operations finish within the request (except exec, tokens and migration
  sources): there is no progress, no ``Pending`` state, and ``timeout`` and
  ``force`` of state changes are not honoured (a graceful stop always works).
* Resource figures are fixed (pid 4242, zero memory and counters, only a
  ``lo`` interface, no addresses, no DHCP leases); of LXD's volatile keys
  only ``volatile.base_image`` and ``volatile.last_state.power`` are set.
* Error messages are LXD 5.0.2's for the scenarios of the contract suite;
  elsewhere they are close, not always verbatim.
* No TLS and no certificate authentication: the fake trusts every client
  (``FakeLXD(trusted=False)`` makes it answer as to an untrusted one).
* Websocket classes that do not derive from pylxd's own (e.g. a plain ws4py
  class given to ``client.events(websocket_client=...)``) cannot reach the
  fake: they are not given the session's connector and would look its host
  up on the network.
* Virtual machines, CRIU, image servers and clustering beyond the stored
  state are not simulated; requests are served one at a time (one lock).
"""

from __future__ import annotations

from pylxd.testing._fake import (
    FakeEndpoint,
    FakeError,
    FakeLXD,
    FakeRequest,
    Reply,
    on_init,
    route,
)
from pylxd.testing._fake_exec import CommandNotFound, ExecCall, ExecResult

__all__ = [
    "FakeLXD",
    "FakeEndpoint",
    "FakeError",
    "FakeRequest",
    "Reply",
    "route",
    "on_init",
    "ExecCall",
    "ExecResult",
    "CommandNotFound",
]
