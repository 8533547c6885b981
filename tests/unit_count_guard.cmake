# The guard that the suite runs what it claims: every Catch2 case of the unit binary is exactly one
# ctest entry. A case name that CMake's list handling or Catch2's filter syntax mangles (an
# unbalanced '[', a ',' or ';') would otherwise glue cases into one entry that matches nothing.
# Run as: cmake -DUNIT_BINARY=... -DBUILD_DIR=... -P unit_count_guard.cmake
execute_process(COMMAND "${UNIT_BINARY}" --list-test-names-only
                OUTPUT_VARIABLE names RESULT_VARIABLE listed)
if(listed LESS 0)
  message(FATAL_ERROR "cannot list the cases of ${UNIT_BINARY}")
endif()
# Counted by newlines: a list of names would itself be mangled by a '[' or ';' in one of them.
string(REGEX REPLACE "[^\n]" "" newlines "${names}")
string(LENGTH "${newlines}" case_count)
string(REGEX MATCHALL "[^\n]+" cases "${names}")
execute_process(COMMAND "${CMAKE_CTEST_COMMAND}" -N -L "^unit$" --test-dir "${BUILD_DIR}"
                OUTPUT_VARIABLE entries RESULT_VARIABLE ctest_status)
if(NOT ctest_status EQUAL 0)
  message(FATAL_ERROR "ctest -N failed in ${BUILD_DIR}")
endif()
string(REGEX MATCHALL "Test +#[0-9]+: unit: ?" entry_lines "${entries}")
list(LENGTH entry_lines entry_count)
if(case_count EQUAL 0 OR NOT case_count EQUAL entry_count)
  message(FATAL_ERROR "${UNIT_BINARY} has ${case_count} test cases but ctest has ${entry_count} "
                      "unit entries: a case name breaks test discovery (a ';' or an unbalanced '[' or ']')")
endif()
foreach(name IN LISTS cases)
  # Catch.cmake drops the prefix's trailing space on some CMake versions: accept both spellings.
  string(FIND "${entries}" ": unit:${name}\n" at)
  string(FIND "${entries}" ": unit: ${name}\n" spaced_at)
  if(at EQUAL -1 AND spaced_at EQUAL -1)
    message(FATAL_ERROR "the unit case \"${name}\" has no ctest entry of its own")
  endif()
endforeach()
message(STATUS "${case_count} unit cases, ${entry_count} ctest entries: one each")
