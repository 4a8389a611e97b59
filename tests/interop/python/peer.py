"""Python peer for the C++ <-> Python SDK interop tests.

This program USES the reference OpenAgentIO Python SDK (PyPI openagentio==0.3.0,
installed into <repo>/.venv by scripts/setup_python.sh) to play the other side of
tests/interop/python_sdk_*interop_test.cc over a real nats-server. It is driven by
command-line arguments and talks to the C++ test through JSON lines:

  * every line this program writes to stdout is one JSON object with a "kind" key;
  * diagnostics (logging, tracebacks) go to stderr and are never parsed;
  * the program exits cleanly when its stdin reaches EOF (the test closes it, or
    dies), so no peer outlives its test.

Run it with the venv interpreter:
  .venv/bin/python tests/interop/python/peer.py serve --nats nats://127.0.0.1:4222
  .venv/bin/python tests/interop/python/peer.py call --nats ... < commands.jsonl

Common options:  --nats URL  [--agent-id ID]  [--tenant T]  [--prefix acp.v1]
                 [--timeout SECONDS]  (the bus default call timeout, default 10)

Role "serve": serves targets named <targets>.echo, <targets>.silent, <targets>.fail
(invoke) and <targets>.stream (stream) -- <targets> is --targets, default "py" --
plus optional subscribers, then prints {"kind":"ready"} once the server has
registered every subscription.

  <targets>.echo    replies {"echo": <request payload>, "served_by": <agent id>,
                    "request": <the request as the SDK decoded it, without payload>}
                    so the C++ side can check what arrived (ids, session,
                    conversation, tenant, traceparent, metadata, reply_to, ...).
  <targets>.silent  returns None: the SDK sends a final with no payload.
  <targets>.fail    raises what the request payload asks for:
                      {"raise":"bus","code":C,"message":M,"retryable":B} -> BusError
                      {"raise":"invalid","message":M} -> InvalidRequestError (typed class)
                      {"raise":"timeout","message":M} -> asyncio.TimeoutError
                      {"raise":"plain","message":M}   -> RuntimeError
  <targets>.stream  runs a stream "script" given as the request payload:
                      {"started": <payload>     optional: writer.started(payload) first
                       "deltas": [<payload>...] writer.delta(p) for each
                       "delay_ms": N            sleep between frames (default 0)
                       "end": "final"           writer.final(<"final" value or None>)
                            | "return"          return without a terminal (automatic final)
                            | "raise"           raise like .fail, with "error": {...}}
                    and prints {"kind":"stream_done","request_id":...} when the
                    handler has finished (whatever the client did meanwhile).

  Every handled request is also printed: {"kind":"request","target":T,"request":{...}}.

  --subscribe EVENT_TYPE[@QUEUE]   (repeatable) Bus.subscribe; each event prints
        {"kind":"event","sub":<index of the option>,"queue":Q,"event":{...}}
  --raw-subscribe SUBJECT          (repeatable) a plain nats-py subscription on a
        second connection (wildcards allowed); prints {"kind":"raw","subject":S,
        "reply":<NATS reply subject>,"data":<body as text>} -- to see the wire.

Role "call": prints {"kind":"ready"} once connected, then executes one JSON command
per stdin line, in order, and answers with lines carrying the command's "id":

  {"id":1,"op":"invoke","target":T, "payload":<any> | "envelope":{<wire fields>},
   "timeout":<seconds, optional>}
      -> {"id":1,"kind":"reply","reply":{<reply envelope as the SDK decoded it>}}
  {"id":2,"op":"stream", same fields}
      -> {"id":2,"kind":"frame","frame":{...}} for each frame, then {"id":2,"kind":"end"}
  {"id":3,"op":"publish","envelope":{"event_type":E, ...}}
      -> {"id":3,"kind":"published"} (after a flush)
  A failing command answers {"id":N,"kind":"exception","type":<class name>,
  "message":<str(exc)>, "code"/"retryable" for a BusError}.

"envelope" objects use the wire keys ("from", "session_id", "metadata", "payload",
...); missing fields get the SDK's defaults (fresh event_id, now, ...). Envelopes are
printed with the SDK's own Envelope.to_dict(), i.e. exactly what an application on
the Python SDK would see (the SDK has no frame_type field, so none is shown).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import stat
import sys
from typing import Any

import nats
from openagentio import (
    Bus,
    BusError,
    Envelope,
    InvalidRequestError,
    MessageReceived,
    NATSDriver,
    WithAgentID,
    WithDefaultTimeout,
    WithQueue,
    WithSubjectPrefix,
    WithTenant,
    WithTimeout,
    WithTransport,
)

# Big enough for a command or an event carrying a payload close to NATS max_payload.
STDIN_LINE_LIMIT = 8 * 1024 * 1024


def emit(obj: dict[str, Any]) -> None:
    """Writes one JSON line to stdout (ASCII-escaped, so the encoding never matters)."""
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def envelope_dict(env: Envelope, *, with_payload: bool = True) -> dict[str, Any]:
    d = env.to_dict()
    if not with_payload:
        d.pop("payload", None)
    return d


def build_envelope(fields: dict[str, Any]) -> Envelope:
    """An SDK Envelope from wire-keyed fields; unset ones keep the SDK defaults."""
    env = Envelope.new(fields.get("event_type", MessageReceived))
    for key, value in fields.items():
        if key == "payload":
            env.payload = json.dumps(value, separators=(",", ":")).encode("utf-8")
        elif key == "from":
            env.from_ = value
        elif key == "occurred_at":
            continue  # keep the SDK's own timestamp
        elif hasattr(env, key):
            setattr(env, key, value)
        else:
            raise ValueError(f"unknown envelope field {key!r}")
    return env


def make_exception(spec: dict[str, Any]) -> BaseException:
    kind = spec.get("raise", "plain")
    message = spec.get("message", "")
    if kind == "bus":
        return BusError(spec["code"], message, bool(spec.get("retryable", False)))
    if kind == "invalid":
        return InvalidRequestError(message)
    if kind == "timeout":
        return asyncio.TimeoutError(message)
    return RuntimeError(message)


async def stdin_lines():
    """Yields stdin lines as bytes until EOF, without blocking the event loop.

    A pipe or socket (how the C++ test runs us) is read through asyncio; a regular
    file (handy by hand: peer.py call ... < commands.jsonl) is read directly.
    """
    if stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode):
        for line in sys.stdin.buffer:
            yield line
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STDIN_LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield line


async def open_bus(args: argparse.Namespace) -> Bus:
    options = [
        WithAgentID(args.agent_id),
        WithTransport(NATSDriver(url=args.nats, name=args.agent_id)),
        WithSubjectPrefix(args.prefix),
        WithDefaultTimeout(args.timeout),
    ]
    if args.tenant:
        options.append(WithTenant(args.tenant))
    bus = Bus.new(*options)
    await bus.connect()
    return bus


# ---- serve -------------------------------------------------------------------------


async def serve(args: argparse.Namespace) -> None:
    bus = await open_bus(args)
    name = args.targets

    async def echo(req: Envelope) -> Any:
        emit({"kind": "request", "target": f"{name}.echo", "request": envelope_dict(req)})
        return {
            "echo": req.payload_json(),
            "served_by": args.agent_id,
            "request": envelope_dict(req, with_payload=False),
        }

    async def silent(req: Envelope) -> Any:
        emit({"kind": "request", "target": f"{name}.silent", "request": envelope_dict(req)})
        return None

    async def fail(req: Envelope) -> Any:
        emit({"kind": "request", "target": f"{name}.fail", "request": envelope_dict(req)})
        raise make_exception(req.payload_json() or {})

    async def stream(req: Envelope, writer) -> None:
        emit({"kind": "request", "target": f"{name}.stream", "request": envelope_dict(req)})
        script = req.payload_json() or {}
        delay = script.get("delay_ms", 0) / 1000.0
        try:
            if "started" in script:
                await writer.started(script["started"])
            for chunk in script.get("deltas", []):
                if delay:
                    await asyncio.sleep(delay)
                await writer.delta(chunk)
            if delay:
                await asyncio.sleep(delay)
            end = script.get("end", "final")
            if end == "final":
                await writer.final(script.get("final"))
            elif end == "raise":
                raise make_exception(script.get("error", {}))
            # "return": fall through, the SDK sends the automatic final.
        finally:
            emit({"kind": "stream_done", "request_id": req.event_id})

    await bus.handle_invoke(f"{name}.echo", echo)
    await bus.handle_invoke(f"{name}.silent", silent)
    await bus.handle_invoke(f"{name}.fail", fail)
    await bus.handle_stream(f"{name}.stream", stream)

    for index, spec in enumerate(args.subscribe):
        event_type, _, queue = spec.partition("@")

        def make_handler(i: int, q: str):
            async def on_event(env: Envelope) -> None:
                emit({"kind": "event", "sub": i, "queue": q, "event": envelope_dict(env)})
            return on_event

        sub_options = [WithQueue(queue)] if queue else []
        await bus.subscribe(event_type, make_handler(index, queue), *sub_options)

    raw = None
    if args.raw_subscribe:
        raw = await nats.connect(servers=[args.nats], name=f"{args.agent_id}-raw")

        async def on_raw(msg) -> None:
            emit({
                "kind": "raw",
                "subject": msg.subject,
                "reply": msg.reply or "",
                "data": msg.data.decode("utf-8", errors="replace"),
            })

        for subject in args.raw_subscribe:
            await raw.subscribe(subject, cb=on_raw)
        await raw.flush()

    await bus.transport.flush()
    emit({"kind": "ready", "role": "serve", "agent_id": args.agent_id})

    async for _ in stdin_lines():
        pass  # serve ignores input; EOF means "stop"
    if raw is not None:
        await raw.drain()
    await bus.close()


# ---- call --------------------------------------------------------------------------


async def run_command(bus: Bus, cmd: dict[str, Any]) -> None:
    cid = cmd.get("id")
    op = cmd.get("op")
    try:
        if op in ("invoke", "stream"):
            request: Any = cmd.get("payload")
            if "envelope" in cmd:
                request = build_envelope(cmd["envelope"])
            call_options = [WithTimeout(cmd["timeout"])] if "timeout" in cmd else []
            if op == "invoke":
                reply = await bus.invoke(cmd["target"], request, *call_options)
                emit({"id": cid, "kind": "reply", "reply": envelope_dict(reply)})
            else:
                stream = await bus.stream_invoke(cmd["target"], request, *call_options)
                try:
                    async for frame in stream:
                        emit({"id": cid, "kind": "frame", "frame": envelope_dict(frame)})
                finally:
                    await stream.close()
                emit({"id": cid, "kind": "end"})
        elif op == "publish":
            await bus.publish(build_envelope(cmd["envelope"]))
            await bus.transport.flush()
            emit({"id": cid, "kind": "published"})
        else:
            raise ValueError(f"unknown op {op!r}")
    except Exception as exc:  # noqa: BLE001 -- every failure is reported to the test
        out = {"id": cid, "kind": "exception", "type": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, BusError):
            out["code"] = exc.code
            out["retryable"] = exc.retryable
        emit(out)


async def call(args: argparse.Namespace) -> None:
    bus = await open_bus(args)
    emit({"kind": "ready", "role": "call", "agent_id": args.agent_id})
    async for line in stdin_lines():
        if line.strip():
            await run_command(bus, json.loads(line))
    await bus.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=["serve", "call"])
    parser.add_argument("--nats", required=True, help="NATS server URL")
    parser.add_argument("--agent-id", default="py-peer")
    parser.add_argument("--tenant", default="")
    parser.add_argument("--prefix", default="acp.v1", help="subject prefix")
    parser.add_argument("--timeout", type=float, default=10.0, help="default call timeout (s)")
    parser.add_argument("--targets", default="py", help="serve: target name prefix")
    parser.add_argument("--subscribe", action="append", default=[], metavar="EVENT_TYPE[@QUEUE]")
    parser.add_argument("--raw-subscribe", action="append", default=[], metavar="SUBJECT")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f"[peer {args.agent_id}] %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args) if args.role == "serve" else call(args))


if __name__ == "__main__":
    main()
