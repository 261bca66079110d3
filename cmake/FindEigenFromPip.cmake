# Eigen from the PyPI package cmeel-eigen (a [build-system] requirement), or a system Eigen 3.4.
# cmeel-eigen installs a CMake prefix at <site-packages>/cmeel.prefix; scikit-build-core puts the
# build environment's site-packages on CMAKE_PREFIX_PATH, so look for cmeel.prefix below each entry.
set(_cmeel_prefixes "")
foreach(_p IN LISTS CMAKE_PREFIX_PATH)
  if(IS_DIRECTORY "${_p}/cmeel.prefix")
    list(APPEND _cmeel_prefixes "${_p}/cmeel.prefix")
  endif()
endforeach()
# Fallback: ask cmeel itself (prints the cmeel.prefix folders on the interpreter's sys.path).
find_package(Python QUIET COMPONENTS Interpreter)
if(Python_EXECUTABLE)
  execute_process(COMMAND "${Python_EXECUTABLE}" -m cmeel cmake
                  OUTPUT_VARIABLE _cmeel_out OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _cmeel_rc ERROR_QUIET)
  if(_cmeel_rc EQUAL 0 AND _cmeel_out)
    string(REPLACE ":" ";" _cmeel_out "${_cmeel_out}")
    list(APPEND _cmeel_prefixes ${_cmeel_out})
  endif()
endif()
list(REMOVE_DUPLICATES _cmeel_prefixes)
list(APPEND CMAKE_PREFIX_PATH ${_cmeel_prefixes})
find_package(Eigen3 3.4 CONFIG REQUIRED)
message(STATUS "Eigen3 ${Eigen3_VERSION} from ${Eigen3_DIR}")
