/* needs_newer_minor: needs ABI minor OAIO_PLUGIN_ABI_MINOR + 1, newer than the host it is built with. */
#include "test_plugin.h"

TEST_PLUGIN_CALL("needs_newer_minor")
static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS("needs_newer_minor")};

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) {
  (void)minor;
  g_api = api;
  table.abi_minor = OAIO_PLUGIN_ABI_MINOR + 1;
  return &table;
}
