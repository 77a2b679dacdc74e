// The convolutional classifier that judges class-conditional image samples: its loss gradients (weights
// and pixels, against finite differences, on an odd image size), that training separates classes it
// can see, reproducibility from a seed, and the errors for malformed data.
#include <bijou/examples/common/image_classifier.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"

using namespace bijou;
using namespace bijou::examples;

namespace {

const ImageClassifierOptions tiny{.first_channels = 3, .second_channels = 5, .hidden = 7, .max_value = 1, .seed = 2};

// n images of 8 x 8: class 0 bright in the top half, class 1 in the bottom half, class 2 in the left
// half, on a noisy background (0..255).
std::pair<Tensor<float>, std::vector<int>> halves_data(std::size_t n, unsigned seed)
{
    std::mt19937_64 rng(seed);
    Tensor<float> images = Tensor<float>::from_shape({n, 64});
    std::vector<int> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        labels[i] = int(i % 3);
        for (std::size_t r = 0; r < 8; ++r)
            for (std::size_t c = 0; c < 8; ++c) {
                const bool lit = labels[i] == 0 ? r < 4 : labels[i] == 1 ? r >= 4 : c < 4;
                images(i, r * 8 + c) = float((lit ? 150 : 0) + 100 * random::uniform(rng));
            }
    }
    return {images, labels};
}

}  // namespace

TEST_CASE("image classifier loss gradients match finite differences for weights and pixels")
{
    ImageClassifier<double> classifier({1, 5, 6}, 4, tiny);  // odd height: the pooling drops a row
    Input<double> x(30, "x", {.requires_grad = true}), y(4, "y");
    Program program(cross_entropy(classifier.logits(x), y));
    program.bind(3);
    std::mt19937_64 rng(9);
    Tensor<double> images = Tensor<double>::from_shape({3, 30});
    for (auto& v : images) v = random::normal(rng);
    x.set(images);
    y.set(one_hot<double>({0, 3, 1}, 4));

    std::vector<testing::GradientTarget> targets{testing::target(x)};
    for (const auto& p : classifier.parameters()) targets.push_back(testing::target(p));
    const auto report = testing::check_gradients(program, targets, {.step = 1e-6});
    INFO(report.worst_where << ": analytic " << report.analytic << ", numeric " << report.numeric);
    CHECK(report.worst_error < 1e-6);
}

TEST_CASE("a trained image classifier separates classes it can see, reproducibly from its seed")
{
    const auto [train, train_labels] = halves_data(300, 1);
    const auto [test, test_labels] = halves_data(90, 2);
    const ImageClassifierOptions options{.first_channels = 4, .second_channels = 8, .hidden = 16, .steps = 150,
                                         .batch_size = 32, .lr = 3e-3, .seed = 4};
    ImageClassifier<float> a({1, 8, 8}, 3, options), b({1, 8, 8}, 3, options);
    const auto report = train_image_classifier(a, train, train_labels);
    train_image_classifier(b, train, train_labels);
    INFO("last loss " << report.final_batch_loss);
    CHECK(a.accuracy(test, test_labels) > 0.95);
    CHECK(a.predict(test) == b.predict(test));
    // predictions in chunks equal one call per row
    const std::vector<int> all = a.predict(test);
    for (const std::size_t i : {std::size_t(0), std::size_t(47), std::size_t(89)})
        CHECK(a.predict(xt::eval(xt::view(test, xt::range(i, i + 1), xt::all())))[0] == all[i]);
}

TEST_CASE("image classifier errors name the function and the shapes")
{
    ImageClassifier<float> classifier({1, 8, 8}, 3, tiny);
    const Tensor<float> wrong = xt::zeros<float>({std::size_t(2), std::size_t(63)});
    CHECK_THROWS_WITH(classifier.predict(wrong), Catch::Contains("ImageClassifier::predict") && Catch::Contains("64"));
    const Tensor<float> images = xt::zeros<float>({std::size_t(2), std::size_t(64)});
    CHECK_THROWS_WITH(classifier.accuracy(images, {1}), Catch::Contains("2 images but 1 labels"));
    CHECK_THROWS_WITH(train_image_classifier(classifier, images, {1, 5}), Catch::Contains("one_hot"));
    CHECK_THROWS_WITH(train_image_classifier(classifier, wrong, {1, 2}), Catch::Contains("train_image_classifier"));
}
