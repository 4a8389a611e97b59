// NKey seed decoding and public-key derivation (core/src/nkey.h).
#include "nkey.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace oaio::detail {
namespace {

using ::testing::HasSubstr;

TEST(NKeyTest, DerivesThePublicKeyOfAUserSeed) {
  // The user key pair used by the nats.c and nkeys test suites.
  auto pub = nkey_public_from_seed("SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY");
  ASSERT_TRUE(pub.ok()) << pub.status().to_string();
  EXPECT_EQ(*pub, "UAT6BWCSCWLUKJT6K6MBJJOEOTXZ5AJDOYKNEVRFC7VNO6OA43N4TRNO");
}

TEST(NKeyTest, RejectsMalformedSeeds) {
  const char* good = "SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY";
  std::string flipped = good;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';  // checksum no longer matches
  for (const std::string& seed : {std::string(), std::string("SU"), std::string(good) + "A", flipped,
                                  std::string("UAT6BWCSCWLUKJT6K6MBJJOEOTXZ5AJDOYKNEVRFC7VNO6OA43N4TRNO"),
                                  std::string("suamk2fg4mi6ue3acf3fk3oiqbceiezv7nswffew63uxmrlfm2xlaxk4gy")}) {
    auto pub = nkey_public_from_seed(seed);
    EXPECT_FALSE(pub.ok()) << seed;
    EXPECT_EQ(pub.status().code(), ErrorCode::kInvalidRequest) << seed;
    EXPECT_THAT(pub.status().message(), HasSubstr("nkey_seed"));
  }
}

}  // namespace
}  // namespace oaio::detail
