// NKey seed decoding and public-key derivation (github.com/nats-io/nkeys format):
//   seed   = base32( [0x90 | type>>5, (type&31)<<3] + 32-byte Ed25519 seed + crc16le )
//   public = base32( [type] + 32-byte Ed25519 public key + crc16le )
// base32 is RFC 4648 without padding, crc16 is CRC-16/XMODEM. OpenSSL's libcrypto (which
// nats.c already loads for TLS) computes the Ed25519 public key.
#include "nkey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace oaio::detail {
namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::uint8_t kPrefixSeed = 18 << 3;  // 'S'
constexpr std::size_t kKeyLen = 32;
constexpr std::size_t kSeedChars = 58;  // ceil((2 + 32 + 2) * 8 / 5)

// Wipes decoded key material when it goes out of scope.
struct SecretBytes {
  std::vector<std::uint8_t> bytes;
  ~SecretBytes() {
    if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
  }
};

bool base32_decode(std::string_view text, std::vector<std::uint8_t>* out) {
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= '2' && c <= '7') v = c - '2' + 26;
    else return false;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<std::uint8_t>(buffer >> bits));
    }
  }
  return true;
}

std::string base32_encode(const std::vector<std::uint8_t>& data) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32Alphabet[(buffer >> bits) & 31]);
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

std::uint16_t crc16_xmodem(const std::uint8_t* data, std::size_t len) {
  std::uint16_t crc = 0;
  for (std::size_t i = 0; i < len; ++i) {
    crc ^= static_cast<std::uint16_t>(data[i]) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

bool is_public_prefix(std::uint8_t type) {
  switch (type) {
    case 0 << 3:   // A: account
    case 2 << 3:   // C: cluster
    case 13 << 3:  // N: server
    case 14 << 3:  // O: operator
    case 20 << 3:  // U: user
    case 23 << 3:  // X: curve
      return true;
    default:
      return false;
  }
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

}  // namespace

Result<std::string> nkey_public_from_seed(std::string_view seed) {
  SecretBytes raw;
  if (seed.size() != kSeedChars || !base32_decode(seed, &raw.bytes) || raw.bytes.size() != 2 + kKeyLen + 2) {
    return Status::invalid("nkey_seed is not a valid NKey seed (expected 58 base32 characters)");
  }
  const std::size_t body = raw.bytes.size() - 2;
  const std::uint16_t want = static_cast<std::uint16_t>(raw.bytes[body] | (raw.bytes[body + 1] << 8));
  if (crc16_xmodem(raw.bytes.data(), body) != want) return Status::invalid("nkey_seed has a bad checksum");
  if ((raw.bytes[0] & 0xF8) != kPrefixSeed) return Status::invalid("nkey_seed is not a seed (must start with 'S')");
  const auto type = static_cast<std::uint8_t>(((raw.bytes[0] & 0x07) << 5) | ((raw.bytes[1] & 0xF8) >> 3));
  if (!is_public_prefix(type)) return Status::invalid("nkey_seed has an unknown key type");

  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, raw.bytes.data() + 2, kKeyLen));
  if (!key) return Status::invalid("nkey_seed: cannot load the Ed25519 key");
  std::array<std::uint8_t, kKeyLen> pub{};
  std::size_t pub_len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &pub_len) != 1 || pub_len != kKeyLen) {
    return Status::invalid("nkey_seed: cannot derive the Ed25519 public key");
  }

  std::vector<std::uint8_t> out;
  out.reserve(1 + kKeyLen + 2);
  out.push_back(type);
  out.insert(out.end(), pub.begin(), pub.end());
  const std::uint16_t crc = crc16_xmodem(out.data(), out.size());
  out.push_back(static_cast<std::uint8_t>(crc & 0xFF));
  out.push_back(static_cast<std::uint8_t>(crc >> 8));
  return base32_encode(out);
}

}  // namespace oaio::detail
