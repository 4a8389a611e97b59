/* null_entry: the entry logs why it cannot run and returns NULL. */
#include "oaio/plugin.h"

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) {
  static const char why[] = "null_entry: this host lacks a feature I cannot do without";
  oaio_str s;
  s.data = why;
  s.len = sizeof why - 1;
  (void)minor;
  if (api && api->log) api->log(NULL, OAIO_LOG_ERROR, s);
  return NULL;
}
