// The host API table handed to every plugin: C trampolines from oaio_host_api entries
// to BridgeHost methods and to the inbound-call table. Nothing throws out of them.
#pragma once

#include "oaio/plugin.h"

namespace oaio::host {

// The process-wide table (static storage; valid for the life of the process).
const oaio_host_api* host_api_table();

}  // namespace oaio::host
