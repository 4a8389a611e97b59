// throws_in_entry: a C++ plugin whose entry lets an exception escape (the host must catch it).
#include <stdexcept>

#include "oaio/plugin.h"

extern "C" OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api,
                                                                            uint32_t minor) {
  (void)api;
  (void)minor;
  throw std::runtime_error("throws_in_entry: boom");
}
