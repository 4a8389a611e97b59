/* short_table: struct_size too small to hold even the 1.0 describe fields and hooks. */
#include "test_plugin.h"

TEST_PLUGIN_CALL("short_table")
static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS("short_table")};

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) {
  (void)minor;
  g_api = api;
  table.struct_size = offsetof(oaio_plugin_api, name);
  return &table;
}
