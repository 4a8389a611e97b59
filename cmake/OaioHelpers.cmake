# oaio_add_test(NAME SOURCES... [LIBS libs...] [LABELS labels...])
# One GoogleTest executable, registered with ctest via gtest_discover_tests so every
# TEST() is its own ctest entry. LABELS lets `ctest -L integration` run a group alone.
include(GoogleTest)
function(oaio_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES} ${T_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE oaio_test_support ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${T_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()
