"""An MCP server on the official Python SDK (mcp, pinned in requirements.txt) for the
mcp bridge tests: what @modelcontextprotocol/server-everything cannot show.

  test_server.py stdio                      # newline-delimited JSON on stdin/stdout
  test_server.py http --port N [--json-response]   # Streamable HTTP on 127.0.0.1:N/mcp/

Environment:
  MCP_TEST_STATE_DIR  a directory for markers shared with the test:
                      "down"       present -> the server refuses to start (exit 4);
                      "cancelled"  written when a slow call was cancelled.
  MCP_TEST_PAGE_SIZE  > 0: tools/list returns pages of this many tools (nextCursor).
  MCP_TEST_GARBAGE    "1": print a non-JSON line on stdout before every response (stdio).
  MCP_TEST_REQUIRE_TOKEN  (http) requests without "Authorization: Bearer <it>" get 401,
                      whose body quotes the Authorization header received.

Tools: echo, slow, crash, fail, big, add_tool, remove_tool, expire_session,
ping_client (pings the client), whereami (cwd and $MCP_TEST_VAR), ask_roots (sends roots/list, which the client refuses),
"weird.name v2" (a name that is not a subject token), plus tools added at runtime.
"""

import argparse
import contextlib
import os
import sys

import anyio
import mcp.types as types
from mcp.server.lowlevel import Server

STATE_DIR = os.environ.get("MCP_TEST_STATE_DIR", "")
PAGE_SIZE = int(os.environ.get("MCP_TEST_PAGE_SIZE", "0") or "0")
GARBAGE = os.environ.get("MCP_TEST_GARBAGE", "") == "1"

server = Server("oaio-mcp-test-server")
dynamic_tools: dict[str, str] = {}
session_manager = None  # set in http mode


def marker(name: str) -> str:
    return os.path.join(STATE_DIR, name)


def obj(props: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def all_tools() -> list[types.Tool]:
    tools = [
        types.Tool(name="echo", description="Echoes 'text'", inputSchema=obj({"text": {"type": "string"}}, ["text"])),
        types.Tool(name="slow", description="Sleeps 'seconds'", inputSchema=obj({"seconds": {"type": "number"}})),
        types.Tool(name="crash", description="Exits the server process at once", inputSchema=obj({})),
        types.Tool(name="fail", description="Raises an error with 'message'",
                   inputSchema=obj({"message": {"type": "string"}}, ["message"])),
        types.Tool(name="big", description="Returns 'size' bytes of text", inputSchema=obj({"size": {"type": "integer"}})),
        types.Tool(name="add_tool", description="Adds a tool named 'name'",
                   inputSchema=obj({"name": {"type": "string"}}, ["name"])),
        types.Tool(name="remove_tool", description="Removes the tool named 'name'",
                   inputSchema=obj({"name": {"type": "string"}}, ["name"])),
        types.Tool(name="expire_session", description="Forgets every HTTP session", inputSchema=obj({})),
        types.Tool(name="whereami", description="Reports cwd and MCP_TEST_VAR", inputSchema=obj({})),
        types.Tool(name="ping_client", description="Pings the client", inputSchema=obj({})),
        types.Tool(name="ask_roots", description="Asks the client for its roots", inputSchema=obj({})),
        types.Tool(name="weird.name v2", description="A name with a dot and a space", inputSchema=obj({})),
    ]
    for name, desc in sorted(dynamic_tools.items()):
        tools.append(types.Tool(name=name, description=desc, inputSchema=obj({})))
    return tools


@server.list_tools()
async def list_tools(request: types.ListToolsRequest) -> types.ListToolsResult:
    tools = all_tools()
    if PAGE_SIZE <= 0:
        return types.ListToolsResult(tools=tools)
    cursor = request.params.cursor if request.params is not None else None
    start = int(cursor or "0")
    end = start + PAGE_SIZE
    return types.ListToolsResult(tools=tools[start:end], nextCursor=str(end) if end < len(tools) else None)


def text(t: str) -> list[types.TextContent]:
    return [types.TextContent(type="text", text=t)]


@server.call_tool()
async def call_tool(name: str, arguments: dict) -> list[types.TextContent]:
    if GARBAGE:
        print("this line is not JSON-RPC", flush=True)
    if name == "echo":
        return text(arguments["text"])
    if name == "slow":
        try:
            await anyio.sleep(float(arguments.get("seconds", 30)))
        except anyio.get_cancelled_exc_class():
            if STATE_DIR:
                with open(marker("cancelled"), "w") as f:
                    f.write("cancelled\n")
            raise
        return text("slept")
    if name == "crash":
        if STATE_DIR:
            open(marker("down"), "w").close()
        sys.stdout.flush()
        os._exit(3)
    if name == "fail":
        raise ValueError(arguments["message"])
    if name == "big":
        return text("x" * int(arguments.get("size", 1000)))
    if name == "add_tool":
        dynamic_tools[arguments["name"]] = "added at runtime"
        await server.request_context.session.send_tool_list_changed()
        return text("added " + arguments["name"])
    if name == "remove_tool":
        dynamic_tools.pop(arguments["name"], None)
        await server.request_context.session.send_tool_list_changed()
        return text("removed " + arguments["name"])
    if name == "expire_session":
        if session_manager is not None:
            # After this response: later requests with the old session id get 404.
            async def forget():
                await anyio.sleep(0.2)
                session_manager._server_instances.clear()
            tg = EXPIRE_TASKS
            tg.start_soon(forget)
        return text("sessions will expire")
    if name == "whereami":
        return text(os.getcwd() + "|" + os.environ.get("MCP_TEST_VAR", ""))
    if name == "ping_client":
        await server.request_context.session.send_ping()
        return text("client answered ping")
    if name == "ask_roots":
        try:
            await server.request_context.session.list_roots()
        except Exception as e:  # the client answers -32601
            return text("refused: " + str(e))
        return text("roots?!")
    if name == "weird.name v2":
        return text("weird ok")
    if name in dynamic_tools:
        return text("dynamic " + name)
    raise ValueError("unknown tool " + name)


EXPIRE_TASKS = None


async def run_stdio() -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options(
            notification_options=_notification_options()))


def _notification_options():
    from mcp.server.lowlevel.server import NotificationOptions

    return NotificationOptions(tools_changed=True)


def run_http(port: int, json_response: bool) -> None:
    global session_manager
    import uvicorn
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from starlette.applications import Starlette
    from starlette.routing import Mount

    session_manager = StreamableHTTPSessionManager(app=server, json_response=json_response)

    required = os.environ.get("MCP_TEST_REQUIRE_TOKEN", "")

    async def handle(scope, receive, send):
        if required:
            from starlette.responses import Response

            got = dict(scope.get("headers") or []).get(b"authorization", b"").decode()
            if got != "Bearer " + required:
                await Response("bad credentials: " + got, status_code=401)(scope, receive, send)
                return
        await session_manager.handle_request(scope, receive, send)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        global EXPIRE_TASKS
        async with session_manager.run():
            async with anyio.create_task_group() as tg:
                EXPIRE_TASKS = tg
                yield
                tg.cancel_scope.cancel()

    app = Starlette(routes=[Mount("/mcp", app=handle)], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["stdio", "http"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--json-response", action="store_true")
    args = parser.parse_args()
    if STATE_DIR and os.path.exists(marker("down")):
        print("test server: 'down' marker present, refusing to start", file=sys.stderr)
        sys.exit(4)
    if args.mode == "stdio":
        anyio.run(run_stdio)
    else:
        run_http(args.port, args.json_response)


if __name__ == "__main__":
    main()
