"""A real HTTP server (Python standard library only) for the SSE bridge's tests.

It plays an OpenAI-compatible streaming chat endpoint with the behaviours
@dwmkerr/mock-llm cannot produce, chosen by the last user message, and an SSE
event source. It listens on 127.0.0.1 on a free port and prints "PORT <n>" first;
other stdout lines report what it saw, for the test to assert on:
  "CLOSED <tag>"          the client went away while a 'hang' stream was open
  "LAST-EVENT-ID <value>" a /events connection arrived (value "-" when none)
  "MISSING <path>"        a GET for another path (answered 404)
  "CONNECT <client port>" a new TCP connection
  "REQUEST <json>"        a chat request's body and headers ('record' scenario)

Scenarios (last message content):
  tools          two tool calls streamed in pieces, then usage, [DONE]
  usage          text, a finish chunk, a usage chunk with empty choices, [DONE]
  long:N         N content pieces, then [DONE]
  burst:N        N content pieces "x," written in 64 KiB pieces at once, then [DONE]
                 (for bench/sse_bench: the server is not what limits the rate)
  tick:S         a content piece every second for S seconds, then [DONE] (ends
                 early when the client leaves; holds streams open for sse_bench)
  midstream-error  one piece, then {"error":{...}} and the end (no [DONE])
  drop           one piece, then the socket closes without ending the chunked body
  no-done        two pieces, then a clean end without [DONE]
  http:S         HTTP status S with an OpenAI-style error body (message names the key)
  http:429:R     429 with Retry-After: R
  flaky:K        503 for the first request with key K, then a normal stream
  slow:MS        one piece, silence for MS milliseconds, one piece, [DONE]
  hang:TAG       one piece, then ": keep-alive" comments until the client leaves
  record         echoes the request (body and headers) as the content
  json-body      a non-streaming chat.completion JSON answer (stream ignored)
  json-error     status 200 with a JSON {"error": ...} body
  anything else  the text itself in 3-character pieces
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_flaky = {}
_source_lock = threading.Lock()
_bursts = {}  # N -> the encoded body of a burst:N stream, built once


def say(line):
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def chunk(content=None, finish=None, tool_calls=None, usage=None, choices=True):
    body = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": "py-model"}
    if choices:
        delta = {}
        if content is not None:
            delta["content"] = content
        if tool_calls is not None:
            delta["tool_calls"] = tool_calls
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    else:
        body["choices"] = []
    if usage is not None:
        body["usage"] = usage
    return body


def burst_body(n):
    with _lock:
        body = _bursts.get(n)
    if body is None:
        piece = ("data: " + json.dumps(chunk(content="x,")) + "\n\n").encode()
        end = ("data: " + json.dumps(chunk(finish="stop")) + "\n\ndata: [DONE]\n\n").encode()
        body = piece * n + end
        with _lock:
            _bursts[n] = body
    return body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each event goes out when written

    def log_message(self, *args):  # keep stderr quiet
        pass

    def setup(self):
        super().setup()
        say("CONNECT %d" % self.client_address[1])

    # -- chunked transfer helpers --------------------------------------------
    def start_stream(self, status=200):
        self.send_response(status)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def raw(self, text):
        data = text.encode("utf-8")
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def event(self, obj):
        self.raw("data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n")

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def error_response(self, status, message, extra_headers=()):
        body = json.dumps({"error": {"message": message, "type": "test_error", "code": "e%d" % status}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    # -- chat ------------------------------------------------------------------
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.endswith("/chat/completions"):
            return self.error_response(404, "no such path " + self.path)
        last = body.get("messages", [{}])[-1].get("content", "")
        auth = self.headers.get("Authorization", "")
        try:
            self.chat(last, body, auth)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def chat(self, last, body, auth):
        if last.startswith("http:"):
            parts = last.split(":")
            status = int(parts[1])
            extra = [("Retry-After", parts[2])] if len(parts) > 2 else []
            return self.error_response(status, "refused (you sent %s)" % auth, extra)
        if last.startswith("flaky:"):
            with _lock:
                n = _flaky.get(last, 0)
                _flaky[last] = n + 1
            if n == 0:
                return self.error_response(503, "warming up")
            last = "recovered"
        if last in ("json-body", "json-error"):
            doc = {"id": "chatcmpl-json", "object": "chat.completion", "model": "py-model",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole answer"},
                                "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
            if last == "json-error":
                doc = {"error": {"message": "model is overloaded right now", "type": "server_error"}}
            data = json.dumps(doc, indent=2).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.start_stream()
        if last == "tools":
            self.event(chunk(tool_calls=[{"index": 0, "id": "call_1", "type": "function",
                                          "function": {"name": "get_weather", "arguments": ""}}]))
            self.event(chunk(tool_calls=[{"index": 0, "function": {"arguments": "{\"city\":"}}]))
            self.event(chunk(tool_calls=[{"index": 1, "id": "call_2", "type": "function",
                                          "function": {"name": "get_time", "arguments": "{}"}}]))
            self.event(chunk(tool_calls=[{"index": 0, "function": {"arguments": "\"Oslo\"}"}}]))
            self.event(chunk(finish="tool_calls"))
            self.event(chunk(choices=False, usage={"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16}))
            self.event("[DONE]")
            return self.end_stream()
        if last == "usage":
            self.event(chunk(content="counted"))
            self.event(chunk(finish="stop"))
            self.raw(": keep-alive\n\n")
            self.event(chunk(choices=False, usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}))
            self.event("[DONE]")
            return self.end_stream()
        if last.startswith("long:"):
            for i in range(int(last[5:])):
                self.event(chunk(content="%d," % i))
            self.event(chunk(finish="stop"))
            self.event("[DONE]")
            return self.end_stream()
        if last.startswith("burst:"):
            body = burst_body(int(last[6:]))
            for at in range(0, len(body), 65536):
                piece = body[at:at + 65536]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            return self.end_stream()
        if last.startswith("tick:"):
            for i in range(int(last[5:])):
                if i:
                    time.sleep(1)
                self.event(chunk(content="tick %d " % i))
            self.event(chunk(finish="stop"))
            self.event("[DONE]")
            return self.end_stream()
        if last == "midstream-error":
            self.event(chunk(content="partial "))
            self.event({"error": {"message": "The server had an error while processing your request.",
                                  "type": "server_error"}})
            return self.end_stream()
        if last == "drop":
            self.event(chunk(content="partial "))
            self.wfile.flush()
            self.close_connection = True
            import socket
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if last == "no-done":
            self.event(chunk(content="a"))
            self.event(chunk(content="b", finish="stop"))
            return self.end_stream()
        if last.startswith("slow:"):
            self.event(chunk(content="first "))
            time.sleep(int(last[5:]) / 1000.0)
            self.event(chunk(content="second", finish="stop"))
            self.event("[DONE]")
            return self.end_stream()
        if last.startswith("hang:"):
            tag = last[5:]
            self.event(chunk(content="waiting"))
            try:
                for _ in range(600):
                    time.sleep(0.05)
                    self.raw(": keep-alive\n\n")
            except (BrokenPipeError, ConnectionResetError):
                say("CLOSED " + tag)
            return
        if last == "record":
            seen = {"body": body, "headers": {k.lower(): v for k, v in self.headers.items()}}
            self.event(chunk(content=json.dumps(seen)))
            self.event("[DONE]")
            return self.end_stream()
        if last == "recovered":
            self.event(chunk(content="recovered", finish="stop"))
            self.event("[DONE]")
            return self.end_stream()
        for i in range(0, len(last), 3):
            self.event(chunk(content=last[i:i + 3]))
        self.event(chunk(finish="stop"))
        self.event("[DONE]")
        self.end_stream()

    # -- source ----------------------------------------------------------------
    def do_GET(self):
        if self.path == "/health":
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path != "/events":
            say("MISSING " + self.path)
            return self.error_response(404, "no such path")
        last = self.headers.get("Last-Event-ID")
        say("LAST-EVENT-ID " + (last if last else "-"))
        start = int(last) + 1 if last and last.isdigit() else 1
        try:
            self.start_stream()
            self.raw("retry: 100\n\n")
            for i in range(start, start + 2):
                if i % 2:
                    self.raw("id: %d\nevent: tick\ndata: {\"n\": %d}\n\n" % (i, i))
                else:
                    self.raw(": comment\nid: %d\ndata: plain\ndata: text %d\n\n" % (i, i))
            self.end_stream()  # the source reconnects with the last id
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    ThreadingHTTPServer.request_queue_size = 1024  # sse_bench opens 1,000 streams at once
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    say("PORT %d" % server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
