# Third-party dependencies, all from Debian packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
# Debian ships no CMake package config we rely on for nats.c: use its pkg-config file.
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)
# libcrypto (already loaded by nats.c for TLS): derives the public key of an NKey seed.
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
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

# Bridge plugins talk HTTP with libcurl (MCP Streamable HTTP, Matrix, SSE).
find_package(CURL REQUIRED)

# Host-only dependencies.
find_package(Boost 1.74 REQUIRED COMPONENTS filesystem)   # Boost.DLL (header-only) needs filesystem
find_package(yaml-cpp REQUIRED)
find_package(OpenSSL REQUIRED)                              # sha256 pins
find_package(prometheus-cpp REQUIRED COMPONENTS core)      # /metrics text exposition
find_package(CLI11 QUIET)                                   # header-only; found by path otherwise
# cpp-httplib: Debian builds it split (httplib.h declares, libcpp-httplib.so implements).
# Its pkg-config file carries the feature macros the library was built with; every user
# must compile with them, or the classes' layout differs from the library's.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
