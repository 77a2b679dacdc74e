// The experiment kit's compiled part: DigitClassifier<float> and its training on double (the data) and
// float images, compiled once for every program that links bijou::experiment_kit (which defines
// BIJOU_EXPERIMENT_KIT_COMPILED, making them extern there).
#include <bijou/examples/common/digit_classifier.hpp>

namespace bijou::examples {
template class DigitClassifier<float>;
template DigitClassifierReport train_digit_classifier<float, double>(DigitClassifier<float>&, const Tensor<double>&,
                                                                     const std::vector<int>&);
template DigitClassifierReport train_digit_classifier<float, float>(DigitClassifier<float>&, const Tensor<float>&,
                                                                    const std::vector<int>&);
}  // namespace bijou::examples
