# Third-party dependencies, all from Debian packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
# Debian ships no CMake package config we rely on for nats.c: use its pkg-config file.
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt REQUIRED)
if(OAIO_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(OAIO_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
# valijson is header-only; Debian installs it under /usr/include/valijson.
find_path(VALIJSON_INCLUDE_DIR valijson/validator.hpp REQUIRED)
