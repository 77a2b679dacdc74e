# cmake -DSOURCE=<file.cpp> -DCOMPILE_COMMANDS=<build>/compile_commands.json -P compile_and_report.cmake
# Compiles one compile-fail source with exactly the flags its target has in the build (precompiled header
# included), -fsyntax-only, and prints the compiler's output for the test's regular expression. Run
# straight from compile_commands.json rather than through `cmake --build`, so that several run at once
# (two builds in one tree may not) and none waits for the build tool to check the tree.
file(STRINGS ${COMPILE_COMMANDS} lines REGEX "^ *\"(command|file)\": ")
set(command "")
foreach(line IN LISTS lines)
  if(line MATCHES "^ *\"command\": \"(.*)\",$")
    set(candidate "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^ *\"file\": \"(.*)\",?$" AND CMAKE_MATCH_1 STREQUAL SOURCE)
    set(command "${candidate}")
    break()
  endif()
endforeach()
if(command STREQUAL "")
  message(FATAL_ERROR "compile-fail test: ${SOURCE} is not in ${COMPILE_COMMANDS}")
endif()

# JSON string -> shell command line -> arguments.
string(REPLACE "\\\\" "<backslash>" command "${command}")
string(REPLACE "\\\"" "\"" command "${command}")
string(REPLACE "<backslash>" "\\" command "${command}")
separate_arguments(arguments UNIX_COMMAND "${command}")
# No object and no dependency file: the check is the compiler's verdict.
set(kept)
set(skip_next FALSE)
foreach(argument IN LISTS arguments)
  if(skip_next)
    set(skip_next FALSE)
  elseif(argument MATCHES "^-(MT|MF|o)$")
    set(skip_next TRUE)
  elseif(NOT argument STREQUAL "-MD")
    list(APPEND kept "${argument}")
  endif()
endforeach()
get_filename_component(build_dir ${COMPILE_COMMANDS} DIRECTORY)
execute_process(COMMAND ${kept} -fsyntax-only WORKING_DIRECTORY ${build_dir}
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
message("${output}")
if(status EQUAL 0)
  message(FATAL_ERROR "compile-fail test: ${SOURCE} compiled, but it must be rejected")
endif()
