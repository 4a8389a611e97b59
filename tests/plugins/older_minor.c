/* older_minor: a table shorter than the host's (it ends after `call`, as one built before `cancel` existed would);
 * the memory past its struct_size holds a poisoned `cancel` the host must never read. */
#include <stdlib.h>

#include "test_plugin.h"

TEST_PLUGIN_CALL("older_minor")
static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS("older_minor")};

static void poisoned_cancel(void* instance, oaio_call* call) {
  (void)instance;
  (void)call;
  abort(); /* reached only if the host read past struct_size */
}

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) {
  (void)minor;
  g_api = api;
  table.struct_size = offsetof(oaio_plugin_api, cancel);
  table.cancel = poisoned_cancel;
  return &table;
}
