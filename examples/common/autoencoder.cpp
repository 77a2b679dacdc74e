// The experiment kit's compiled part: Autoencoder<float>, compiled once for every program that links
// bijou::experiment_kit (which defines BIJOU_EXPERIMENT_KIT_COMPILED, making it extern there).
#include <bijou/examples/common/autoencoder.hpp>

template class bijou::examples::Autoencoder<float>;
