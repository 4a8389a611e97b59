# oaio_add_test(NAME SOURCES... [LIBS libs...] [LABELS labels...] [TEST_PREFIX prefix])
# One GoogleTest executable, registered with ctest via gtest_discover_tests so every
# TEST() is its own ctest entry. LABELS lets `ctest -L integration` run a group alone;
# TEST_PREFIX tells apart two builds of one source.
include(GoogleTest)
function(oaio_add_test name)
  cmake_parse_arguments(T "" "TEST_PREFIX" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES} ${T_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE oaio_test_support ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  gtest_discover_tests(${name}
    TEST_PREFIX "${T_TEST_PREFIX}"
    PROPERTIES LABELS "${T_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()

# oaio_add_plugin(NAME SOURCES... [LIBS libs...] [OUTPUT_DIR dir])
# A bridge plugin: a MODULE library built against plugin-api only, with hidden
# visibility so it exports exactly oaio_plugin_entry_v1, no "lib" prefix, and linked
# with -z defs so a missing symbol fails the build, not the load.
function(oaio_add_plugin name)
  cmake_parse_arguments(P "" "OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  target_link_libraries(${name} PRIVATE oaio_plugin_api ${P_LIBS})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # Hidden visibility does not cover weak template instances from libstdc++ (GNU-unique
  # symbols are even shared process-wide): a version script keeps the entry the only
  # exported symbol.
  set(script ${CMAKE_BINARY_DIR}/oaio_plugin.map)
  if(NOT EXISTS ${script})
    file(WRITE ${script} "{ global: oaio_plugin_entry_v1; local: *; };\n")
  endif()
  target_link_options(${name} PRIVATE -Wl,-z,defs -Wl,--version-script=${script})
  if(P_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  endif()
  # Plugins that land in <build>/plugins (the examples and the bridges, not the test
  # plugins) make up the `plugins` target that scripts/run.sh builds.
  if(P_OUTPUT_DIR STREQUAL "${CMAKE_BINARY_DIR}/plugins")
    set_property(GLOBAL APPEND PROPERTY OAIO_SHIPPED_PLUGINS ${name})
  endif()
endfunction()
