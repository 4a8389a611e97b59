/* abi_major_2: exports the v1 entry but its table says ABI major 2. */
#include "test_plugin.h"

TEST_PLUGIN_CALL("abi_major_2")
static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS("abi_major_2")};

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) {
  (void)minor;
  g_api = api;
  table.abi_major = 2;
  return &table;
}
