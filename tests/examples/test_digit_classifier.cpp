// The digits classifier of the cINN experiments: the cross-entropy's value and gradients (parameters and
// input pixels, against finite differences), the accuracy it reaches on held-out digits, the shapes of
// phi(x) and the logits, reproducibility from a seed, and the errors for malformed data.
#include <bijou/examples/common/digit_classifier.hpp>
#include <bijou/examples/common/digits_data.hpp>

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"

using namespace bijou;
using namespace bijou::examples;

namespace {

Tensor<double> random_images(std::size_t n, unsigned seed)
{
    std::mt19937_64 rng(seed);
    Tensor<double> images = Tensor<double>::from_shape({n, Digits::pixels});
    for (auto& v : images) v = 16 * random::uniform(rng);
    return images;
}

const DigitClassifierOptions small{.hidden_width = 8, .representation_width = 4, .seed = 3};

}  // namespace

TEST_CASE("cross_entropy is the mean of logsumexp minus the target logit")
{
    Input<double> logits(3, "logits"), targets(3, "targets");
    Program program(cross_entropy(logits, targets));
    program.bind(2);
    logits.set(Tensor<double>{{1, 2, 3}, {0, 0, 0}});
    targets.set(Tensor<double>{{0, 0, 1}, {1, 0, 0}});
    program.forward();
    const double first = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3;
    const double second = std::log(3.0);
    CHECK(program.value()(0, 0) == Approx((first + second) / 2).epsilon(1e-12));
}

TEST_CASE("classifier loss gradients match finite differences for weights and input pixels")
{
    DigitClassifier<double> classifier(small);
    Input<double> x(Digits::pixels, "x", {.requires_grad = true}), y(Digits::classes, "y");
    Program program(cross_entropy(classifier.logits(x), y));
    program.bind(5);
    x.set(random_images(5, 11));
    y.set(one_hot<double>({0, 3, 9, 3, 7}));

    std::vector<testing::GradientTarget> targets{testing::target(x)};
    for (const auto& p : classifier.parameters()) targets.push_back(testing::target(p));
    const auto report = testing::check_gradients(program, targets, {.step = 1e-6});
    INFO(report.worst_where << ": analytic " << report.analytic << ", numeric " << report.numeric);
    CHECK(report.worst_error < 1e-6);
}

TEST_CASE("cross_entropy_gradient is the input gradient of the mean cross-entropy, and leaves the weights' gradients at zero")
{
    DigitClassifier<double> classifier(small);
    const Tensor<double> images = random_images(4, 12);
    const std::vector<int> labels{2, 5, 5, 0};
    const Tensor<double> gradient = classifier.cross_entropy_gradient(images, labels);
    REQUIRE(shape_of(gradient) == shape_of(images));

    // the loss through evaluate_logits, differentiated by central differences on a few pixels
    const Tensor<double> targets = one_hot<double>(labels);
    const auto loss = [&](const Tensor<double>& x) {
        const Tensor<double> l = classifier.evaluate_logits(x);
        double total = 0;
        for (std::size_t i = 0; i < l.shape()[0]; ++i) {
            double top = l(i, 0), sum = 0, target = 0;
            for (std::size_t k = 1; k < l.shape()[1]; ++k) top = std::max(top, l(i, k));
            for (std::size_t k = 0; k < l.shape()[1]; ++k) {
                sum += std::exp(l(i, k) - top);
                target += targets(i, k) * l(i, k);
            }
            total += top + std::log(sum) - target;
        }
        return total / double(l.shape()[0]);
    };
    for (const std::size_t at : {std::size_t(0), std::size_t(70), std::size_t(131), std::size_t(255)}) {
        Tensor<double> up = images, down = images;
        up.data()[at] += 1e-5;
        down.data()[at] -= 1e-5;
        const double numeric = (loss(up) - loss(down)) / 2e-5;
        INFO("pixel " << at);
        CHECK(gradient.data()[at] == Approx(numeric).epsilon(1e-6).margin(1e-10));
    }
    for (const auto& p : classifier.parameters())
        for (const double g : p.grad()) REQUIRE(g == 0);
    CHECK_THROWS_WITH(classifier.cross_entropy_gradient(images, {1, 2}),
                      Catch::Contains("cross_entropy_gradient") && Catch::Contains("2 labels"));
}

TEST_CASE("phi gradients match finite differences")
{
    DigitClassifier<double> classifier(small);
    Input<double> x(Digits::pixels, "x", {.requires_grad = true});
    auto [phi, logits] = classifier.outputs(x);
    Program program(phi, logits);
    program.bind(3);
    x.set(random_images(3, 12));
    const auto report = testing::check_gradients(program, {testing::target(x)}, {.step = 1e-6});
    INFO(report.worst_where);
    CHECK(report.worst_error < 1e-6);
}

TEST_CASE("a trained classifier recognises held-out digits")
{
    const auto [train, test] = train_test_split(load_digits(), 0);
    DigitClassifierReport report;
    const auto classifier =
        train_digit_classifier<float>(train.images, train.labels, {.steps = 1500, .seed = 1}, &report);
    const double test_accuracy = classifier.accuracy(test.images, test.labels);
    INFO("train accuracy " << report.train_accuracy << ", test accuracy " << test_accuracy << ", last loss "
                           << report.final_batch_loss);
    CHECK(report.train_accuracy > 0.99);
    CHECK(test_accuracy > 0.95);

    const Tensor<float> phi = classifier.evaluate_phi(test.images);
    const Tensor<float> logits = classifier.evaluate_logits(test.images);
    CHECK(phi.shape()[0] == test.images.shape()[0]);
    CHECK(phi.shape()[1] == classifier.representation_width());
    CHECK(logits.shape()[1] == Digits::classes);
    CHECK(*std::min_element(phi.begin(), phi.end()) >= 0);  // a relu layer
}

TEST_CASE("the same seed trains the same classifier")
{
    const Tensor<double> images = random_images(40, 5);
    std::vector<int> labels(40);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = int(i % 10);
    const DigitClassifierOptions options{.hidden_width = 16, .representation_width = 8, .steps = 20, .batch_size = 16};
    const auto a = train_digit_classifier<float>(images, labels, options);
    const auto b = train_digit_classifier<float>(images, labels, options);
    const Tensor<float> la = a.evaluate_logits(images), lb = b.evaluate_logits(images);
    CHECK(std::equal(la.begin(), la.end(), lb.begin()));
}

TEST_CASE("malformed images and labels are reported with their shapes")
{
    DigitClassifier<float> classifier(small);
    const Tensor<double> narrow = xt::zeros<double>({std::size_t(4), std::size_t(63)});
    CHECK_THROWS_WITH(classifier.predict(narrow), Catch::Contains("64 pixels") && Catch::Contains("4 x 63"));
    CHECK_THROWS_AS(classifier.accuracy(random_images(4, 1), {1, 2, 3}), shape_error);
    CHECK_THROWS_WITH(train_digit_classifier(classifier, random_images(4, 1), std::vector<int>{1, 2, 3}),
                      Catch::Contains("train_digit_classifier") && Catch::Contains("3 labels"));
    CHECK_THROWS_WITH(one_hot<float>({1, 10}), Catch::Contains("label 10"));
    Input<float> wrong(32, "wrong");
    CHECK_THROWS_WITH(classifier.logits(wrong), Catch::Contains("'wrong' with 32 columns"));
}
