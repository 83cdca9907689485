"""Drives the signalrcore Python client for herald's integration tests.

Usage: python3 client.py '<json config>'
  config: {"url": ..., "token": ... | null, "listen": [target, ...], "skipNegotiation": bool,
           "transport": "WebSockets" | "ServerSentEvents" | "LongPolling" (default WebSockets)}
Prints one JSON line per event on stdout, like tests/js/client.mjs:
  {"event":"connected","connectionId":null}  {"event":"message","target":...,"arguments":[...]}
  {"event":"closed","error":null}            {"event":"error","message":...}
  {"event":"stopped"}
Reads JSON command lines on stdin: {"cmd":"send","target":...,"arguments":[...]}, {"cmd":"stop"}.
End of stdin stops the connection and exits.
"""

import json
import logging
import os
import sys
import threading

_lock = threading.Lock()


def emit(event):
    with _lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


try:
    from signalrcore.hub_connection_builder import HubConnectionBuilder
    from signalrcore.types import HttpTransportType
except ImportError as error:  # pragma: no cover - environment problem
    emit({"event": "error",
          "message": f"signalrcore missing ({error}): run .ci/test (it installs the JS and Python clients)"})
    sys.exit(1)


def main():
    config = json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")
    options = {"transport": HttpTransportType(config.get("transport") or "WebSockets")}
    if config.get("skipNegotiation") is True:
        options["skip_negotiation"] = True
    token = config.get("token")
    if token is not None:
        options["access_token_factory"] = lambda: token

    # HERALD_PY_LOG=debug shows signalrcore's own log on stderr.
    log_level = logging.DEBUG if os.environ.get("HERALD_PY_LOG") == "debug" else logging.WARNING
    connection = (
        HubConnectionBuilder()
        .with_url(config["url"], options=options)
        .configure_logging(log_level)
        .build()
    )

    for target in config.get("listen", []):
        def handler(arguments, target=target):
            emit({"event": "message", "target": target, "arguments": arguments})
        connection.on(target, handler)

    connection.on_open(lambda: emit({"event": "connected", "connectionId": None}))
    connection.on_close(lambda: emit({"event": "closed", "error": None}))
    connection.on_error(lambda error: emit({"event": "error", "message": str(error)}))

    try:
        connection.start()
    except Exception as error:  # noqa: BLE001 - report every start failure as an event
        emit({"event": "error", "message": str(error) or type(error).__name__})
        sys.exit(1)

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            command = json.loads(line)
        except ValueError as error:
            emit({"event": "error", "message": f"bad command line: {error}"})
            continue
        if command.get("cmd") == "stop":
            break
        if command.get("cmd") == "send":
            connection.send(command["target"], command.get("arguments", []))
            emit({"event": "sent", "id": command.get("id")})

    connection.stop()
    emit({"event": "stopped"})


if __name__ == "__main__":
    main()
