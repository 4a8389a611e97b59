// NKey seeds: the NATS encoding of an Ed25519 private key ("SU...", 58 characters).
// nats.c signs with a seed (nats_Sign) but cannot derive the public key that the
// CONNECT line must carry, so the NATS transport derives it here.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "oaio/result.h"

namespace oaio::detail {

// The public NKey ("U...", "A...", ...) that belongs to `seed`. INVALID_REQUEST when
// the seed is not a well-formed NKey seed (bad base32, length, prefix or checksum).
// The message never contains the seed itself.
Result<std::string> nkey_public_from_seed(std::string_view seed);

}  // namespace oaio::detail
