// The driver the MCP conformance suite (@modelcontextprotocol/conformance, client mode)
// runs as "the client under test": the bridge's own MCP client (oaio_mcp_core) over
// Streamable HTTP. Usage: mcp_conformance_client <server-url>, with the scenario in
// $MCP_CONFORMANCE_SCENARIO. It connects (initialize), lists the tools and calls what
// the scenario expects; exit code 0 when every step succeeded.
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "client.h"
#include "http_transport.h"

using namespace oaio::mcp;

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "mcp_conformance_client: %s\n", what.c_str());
  return 1;
}

std::optional<Json> call(Client& c, const std::string& tool, Json args, std::string* error) {
  auto p = std::make_shared<std::promise<Client::Outcome>>();
  Client::CallRequest r;
  r.tool = tool;
  r.arguments = std::move(args);
  r.timeout = std::chrono::seconds(20);
  r.on_done = [p](Client::Outcome o) { p->set_value(std::move(o)); };
  auto sent = c.call_tool(std::move(r));
  if (auto* e = std::get_if<CallError>(&sent)) {
    *error = e->message;
    return std::nullopt;
  }
  Client::Outcome o = p->get_future().get();
  if (!o.result) *error = o.error.message;
  return o.result;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return fail("usage: mcp_conformance_client <server-url>");
  const char* env = std::getenv("MCP_CONFORMANCE_SCENARIO");
  std::string scenario = env != nullptr ? env : "initialize";
  HttpOptions o;
  o.url = argv[argc - 1];
  Client::Handlers h;
  h.log = [](int32_t, std::string_view line) { std::fprintf(stderr, "log: %.*s\n", (int)line.size(), line.data()); };
  Client client(std::make_unique<HttpTransport>(o), h);
  if (auto e = client.connect(std::chrono::seconds(20))) return fail("initialize: " + e->message);
  std::vector<ToolInfo> tools;
  if (auto e = client.list_tools(std::chrono::seconds(20), &tools)) return fail("tools/list: " + e->message);
  std::string error;
  if (scenario == "tools_call") {
    auto r = call(client, "add_numbers", {{"a", 5}, {"b", 3}}, &error);
    if (!r) return fail("add_numbers: " + error);
  } else if (scenario == "sse-retry") {
    auto r = call(client, "test_reconnection", Json::object(), &error);
    if (!r) return fail("test_reconnection: " + error);
  } else if (scenario != "initialize") {
    // Scenarios for features this client does not have (elicitation, OAuth): call every
    // tool once so the server can record what it expected.
    for (const auto& t : tools) call(client, t.name, Json::object(), &error);
  }
  client.close();
  return 0;
}
