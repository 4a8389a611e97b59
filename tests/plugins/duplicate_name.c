/* duplicate_name: a valid plugin that declares the name "noop", which the noop plugin has. */
#include "test_plugin.h"

TEST_PLUGIN_CALL("noop")
static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS("noop")};

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) {
  (void)minor;
  g_api = api;
  table.version.data = "9.9.9";  /* tells it apart from noop */
  return &table;
}
