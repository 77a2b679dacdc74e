# bijou_add_experiment(name source.cpp [more sources...]): a research program in one source file.
#
#   find_package(bijou REQUIRED)              # or, inside Bijou's own build, nothing to do
#   bijou_add_experiment(my_flow my_flow.cpp)
#
# The program links bijou::bijou and bijou::experiment_kit, the helpers every example shares (headers,
# and a small library holding the autoencoder and the digit classifier in float, compiled once):
#   #include <bijou/examples/common/cli.hpp>        command line (--name value; CLI11)
#   #include <bijou/examples/common/matrix_file.hpp> data matrices from and to .npy and .csv (figures: save the
#                                                   numbers as .npy, plot them with a script in scripts/figures)
#   #include <bijou/examples/common/progress.hpp>   progress bar / periodic lines
#   #include <bijou/examples/common/csv_log.hpp>    log.csv, resumable
#   #include <bijou/examples/common/output.hpp>     metrics.json (nlohmann::json)
#   #include <bijou/examples/common/toy_data.hpp>   FFJORD's 2-D data sets
#   #include <bijou/examples/common/digits_data.hpp> the 8x8 digits (data/digits.csv.gz, read with zlib, found through
#                                                   BIJOU_DATA_DIR, which the kit defines)
#   #include <bijou/examples/common/fashion_mnist_data.hpp> Fashion-MNIST from Debian's dataset-fashion-mnist
#                                                   (read with zlib)
# Inside Bijou's build it also gets the project's warnings and optimisation flags (bijou_flags); an
# installed Bijou adds -O3 in Release and, unless BIJOU_NATIVE is OFF, -march=native (the engine's SIMD
# kernels are much faster with the build machine's full instruction set).
#
# This file serves both worlds: Bijou's top-level CMakeLists includes it to define the kit target, and the
# installed bijouConfig.cmake includes it (after importing the targets) for the function alone.

if(NOT TARGET bijou::experiment_kit)
  # Bijou's own build. The kit's headers are examples/common/*.hpp, reached through the same
  # build/include/bijou link as the library's, so the include path is bijou::bijou's.
  # Its compiled part (examples/common/*.cpp): the command line on CLI11 (whose header costs 3-6 s of
  # compiler time in each unit that includes it), and the kit's models in float, which three examples and several
  # tests share (about 20 s of compiler time each otherwise); BIJOU_EXPERIMENT_KIT_COMPILED makes them
  # extern in the programs that link the kit.
  add_library(bijou_experiment_kit STATIC ${PROJECT_SOURCE_DIR}/examples/common/autoencoder.cpp
                                          ${PROJECT_SOURCE_DIR}/examples/common/cli.cpp
                                          ${PROJECT_SOURCE_DIR}/examples/common/digit_classifier.cpp)
  add_library(bijou::experiment_kit ALIAS bijou_experiment_kit)
  set_target_properties(bijou_experiment_kit PROPERTIES EXPORT_NAME experiment_kit)
  target_link_libraries(bijou_experiment_kit PUBLIC bijou ZLIB::ZLIB nlohmann_json::nlohmann_json PRIVATE CLI11::CLI11 $<BUILD_INTERFACE:bijou_flags>)
  target_compile_definitions(bijou_experiment_kit PUBLIC BIJOU_EXPERIMENT_KIT_COMPILED)
  # Where digits_data.hpp looks for digits.csv.gz: the source tree here, <prefix>/share/bijou/data once
  # installed ($<INSTALL_PREFIX> becomes the prefix the package is found in, wherever it was installed).
  include(GNUInstallDirs)
  set(BIJOU_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/bijou/data)
  target_compile_definitions(bijou_experiment_kit PUBLIC
    "$<BUILD_INTERFACE:BIJOU_DATA_DIR=\"${PROJECT_SOURCE_DIR}/data\">"
    "$<INSTALL_INTERFACE:BIJOU_DATA_DIR=\"$<INSTALL_PREFIX>/${BIJOU_INSTALL_DATADIR}\">")
endif()

function(bijou_add_experiment name source)
  add_executable(${name} ${source} ${ARGN})
  target_link_libraries(${name} PRIVATE bijou::bijou bijou::experiment_kit)
  if(TARGET bijou::precompiled)  # the library's flows and common blocks, compiled once (flows/precompiled.hpp)
    target_link_libraries(${name} PRIVATE bijou::precompiled)
  endif()
  if(TARGET bijou_flags)
    target_link_libraries(${name} PRIVATE bijou_flags)
  else()
    if(NOT DEFINED BIJOU_NATIVE)
      set(BIJOU_NATIVE ON)
    endif()
    target_compile_options(${name} PRIVATE $<$<CONFIG:Release>:-O3>
                           $<$<AND:$<BOOL:${BIJOU_NATIVE}>,$<CXX_COMPILER_ID:GNU,Clang>>:-march=native>)
  endif()
endfunction()
