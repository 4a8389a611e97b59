/* empty_name: a valid table whose name is empty. */
#include "test_plugin.h"

TEST_PLUGIN_CALL("empty_name")
static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS("empty_name")};

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) {
  (void)minor;
  g_api = api;
  table.name.len = 0;
  return &table;
}
