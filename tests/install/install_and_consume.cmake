# cmake -DBIJOU_BUILD_DIR=... -DCONSUMER_SOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -DCXX_COMPILER=...
#       -P install_and_consume.cmake
# Installs Bijou from its build tree into WORK_DIR/prefix, then configures, builds and runs the consumer
# against that prefix alone. Each step starts from scratch, so nothing stale can hide a broken install.
set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${WORK_DIR})

function(step what)
  message(STATUS "install test: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (${status})")
  endif()
endfunction()

step("install into ${prefix}" ${CMAKE_COMMAND} --install ${BIJOU_BUILD_DIR} --prefix ${prefix})

# The layout a user sees: the umbrella header and the engine's headers under include/bijou, the
# experiment kit beside them, and the data its loaders read.
foreach(file include/bijou/bijou.hpp include/bijou/engine/engine.hpp include/bijou/engine/kernels/matmul.hpp
        include/bijou/engine/io/npy.hpp include/bijou/examples/common/extent.hpp share/bijou/data/digits.csv.gz
        lib/cmake/bijou/bijouConfig.cmake lib/cmake/bijou/bijouTargets.cmake lib/cmake/bijou/BijouExperiment.cmake
        include/bijou/flows/rq_spline.hpp bin/bijou share/bijou/figures/bijou_fit.py
        share/bijou/figures/bijou_figures.py)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "install test: ${file} is missing from the install")
  endif()
endforeach()
# The installed command runs (and lists its subcommands).
execute_process(COMMAND ${prefix}/bin/bijou --help RESULT_VARIABLE status OUTPUT_VARIABLE help)
if(NOT status EQUAL 0 OR NOT help MATCHES "log-prob")
  message(FATAL_ERROR "install test: bin/bijou --help exited with ${status}: ${help}")
endif()

# Only the fresh prefix may provide bijou: no package registry, no build tree.
step("configure the consumer" ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${consumer_build} -G ${GENERATOR}
     -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix}
     -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DEXPECTED_BIJOU_DIR=${prefix}/lib/cmake/bijou)
step("build the consumer" ${CMAKE_COMMAND} --build ${consumer_build})
step("run the consumer" ${consumer_build}/consumer)
step("run the experiment" ${consumer_build}/experiment --out ${consumer_build}/experiment-out)
