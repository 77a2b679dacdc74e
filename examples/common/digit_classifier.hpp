// An MLP classifier for the 8x8 digits, with its training loop: the "separately trained classifier" of
// the cINN experiments (class consistency of generated digits, the representation phi(x) whose
// invariances are recovered, adversarial examples).
//
//   auto classifier = train_digit_classifier<float>(train.images, train.labels, {.steps = 3000});
//   double acc = classifier.accuracy(test.images, test.labels);        // fraction correct
//   std::vector<int> digit = classifier.predict(images);                // argmax of the logits
//   Tensor<float> phi = classifier.evaluate_phi(images);                // n x representation_width()
//   Tensor<float> logits = classifier.evaluate_logits(images);          // n x 10
//
//   // Inside an engine program (e.g. an FGSM attack, with Input{.requires_grad = true}):
//   Input<float> x(64, "x", {.requires_grad = true});
//   Input<float> y(10, "labels");                                       // one_hot<float>(labels)
//   auto [phi_x, logits_x] = classifier.outputs(x);                     // phi: a Var, logits: lazy
//   Program attack(cross_entropy(logits_x, y));                         // mean over the batch
//
// Images are on the data's own scale, pixel values 0..16 (Digits::images, or generated samples mapped
// back to it); the network divides by 16 itself, so every caller uses one convention.
//
// Model.     x / 16 -> Linear(64, H) -> relu -> Linear(H, R) -> relu = phi(x) -> Linear(R, 10) = logits.
//            phi(x), the last hidden layer (R = representation_width, 32 by default), is the
//            representation the invariances method conditions on.
// Loss.      Softmax cross-entropy, mean over the batch: logsumexp(l) - l[label].
// Training.  AdamW (decoupled weight decay), learning rate cosine-decayed to lr/100, minibatches drawn
//            without replacement from a reshuffled training set each epoch (random.hpp: a seed gives
//            the same run with any standard library). Gaussian pixel noise (input_noise, standard
//            deviation 0.5 on the 0..16 scale by default) as augmentation, so that the classifier is not
//            thrown by the continuous, slightly noisy pixels a generative model produces. Buffers are
//            allocated once; a step allocates nothing.
// Reported.  DigitClassifierReport: the last minibatch loss and the training-set accuracy.
// Measured.  Default options on the 1437 training images of train_test_split(load_digits(), 0): training
//            accuracy 1.000, test accuracy 0.97-0.98 over the seeds tried, a few seconds on one core (float).
//
// The parameters are ordinary engine Params (parameters()): freeze them with set_trainable(false) when
// the classifier is part of a larger program that trains something else.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <bijou/engine/bound_program.hpp>
#include <bijou/engine/engine.hpp>
#include <bijou/engine/nn/nn.hpp>
#include <bijou/engine/optim/optim.hpp>
#include <bijou/examples/common/digits_data.hpp>
#include <bijou/examples/common/random.hpp>

namespace bijou::examples {

struct DigitClassifierOptions {
    std::size_t hidden_width = 128;         // first hidden layer
    std::size_t representation_width = 32;  // phi(x), the second hidden layer
    std::size_t steps = 3000;
    std::size_t batch_size = 128;
    double lr = 3e-3;  // cosine-decayed to lr / 100
    double weight_decay = 1e-4;
    double input_noise = 0.5;  // standard deviation of Gaussian pixel noise while training (0..16 scale)
    std::uint64_t seed = 1;    // weights, minibatch order and noise
};

struct DigitClassifierReport {
    double final_batch_loss = 0;  // cross-entropy of the last minibatch, nats
    double train_accuracy = 0;    // on the clean training images after training
};

// One-hot rows: n x 10, row i has a 1 at column labels[i].
template <class T>
Tensor<T> one_hot(const std::vector<int>& labels, std::size_t classes = Digits::classes)
{
    Tensor<T> y = xt::zeros<T>({labels.size(), classes});
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || std::size_t(labels[i]) >= classes)
            throw_shape_error("one_hot", "label ", labels[i], " at row ", i, " is outside 0..", classes - 1);
        y(i, std::size_t(labels[i])) = T(1);
    }
    return y;
}

// Softmax cross-entropy averaged over the batch: mean_i [logsumexp_k l_ik - sum_k y_ik l_ik], with y
// one-hot (or any rows of class probabilities). d/dl = (softmax(l) - y) / B.
template <Expr Logits, Expr Targets>
auto cross_entropy(const Logits& logits, const Targets& targets)
{
    auto shared = let(logits);  // read twice: by the logsumexp and by the target term
    return mean(logsumexp(shared, 1) - sum(shared * targets, 1));
}

template <class T>
class DigitClassifier {
public:
    using value_type = T;

    // Randomly initialised (Kaiming-uniform weights, zero biases), untrained.
    explicit DigitClassifier(const DigitClassifierOptions& options = {})
        : DigitClassifier(options, std::mt19937_64(options.seed))
    {
    }

    // phi(x) and the logits for a batch x (B x 64, pixels 0..16). phi is a bound Var (read by the logits
    // layer and by the caller); the logits are a lazy expression, to be fused by whoever reads them.
    template <Expr E>
    auto outputs(const E& x) const
    {
        if constexpr (requires { x.cols(); }) {
            if (x.cols() != Digits::pixels)
                throw_shape_error("DigitClassifier", "expects images of ", Digits::pixels, " pixels, got an input '",
                                  x.name(), "' with ", x.cols(), " columns");
        }
        auto first = let(relu(input_layer_(x * T(1 / Digits::max_value))));
        auto phi = let(relu(representation_layer_(first)));
        auto logits = output_layer_(phi);
        return std::pair{phi, logits};
    }
    template <Expr E>
    auto phi(const E& x) const
    {
        return outputs(x).first;
    }
    template <Expr E>
    auto logits(const E& x) const
    {
        return outputs(x).second;
    }

    // The same on a data set (rows of 64 pixels, 0..16, any value type), evaluated in one program.
    template <class U>
    Tensor<T> evaluate_phi(const Tensor<U>& images) const
    {
        return evaluate(as_value_type(images), Output::phi);
    }
    template <class U>
    Tensor<T> evaluate_logits(const Tensor<U>& images) const
    {
        return evaluate(as_value_type(images), Output::logits);
    }

    // The most likely class of each image.
    template <class U>
    std::vector<int> predict(const Tensor<U>& images) const
    {
        const Tensor<T> l = evaluate_logits(images);
        std::vector<int> classes(l.shape()[0]);
        for (std::size_t i = 0; i < classes.size(); ++i) {
            std::size_t best = 0;
            for (std::size_t k = 1; k < l.shape()[1]; ++k)
                if (l(i, k) > l(i, best)) best = k;
            classes[i] = int(best);
        }
        return classes;
    }

    // Fraction of images whose predicted class is the given label.
    template <class U>
    double accuracy(const Tensor<U>& images, const std::vector<int>& labels) const
    {
        if (images.shape()[0] != labels.size())
            throw_shape_error("DigitClassifier::accuracy", images.shape()[0], " images but ", labels.size(),
                              " labels");
        if (labels.empty()) return 0;
        const std::vector<int> predicted = predict(images);
        std::size_t correct = 0;
        for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
        return double(correct) / double(labels.size());
    }

    // d(mean cross-entropy of the true labels)/d(images) for a batch (rows of 64 pixels, 0..16): the
    // direction adversarial attacks follow. One program per call, like evaluate_*; the classifier's own
    // gradients are left at zero.
    Tensor<T> cross_entropy_gradient(const Tensor<T>& images, const std::vector<int>& labels) const;

    std::size_t representation_width() const { return representation_layer_.out_features(); }
    const DigitClassifierOptions& options() const { return options_; }

    std::vector<Param<T>> parameters() const
    {
        return {input_layer_.weight,          input_layer_.bias, representation_layer_.weight,
                representation_layer_.bias, output_layer_.weight, output_layer_.bias};
    }

private:
    DigitClassifier(const DigitClassifierOptions& options, std::mt19937_64&& rng)
        : options_(options),
          input_layer_(Digits::pixels, options.hidden_width, rng, {.name = "classifier.0"}),
          representation_layer_(options.hidden_width, options.representation_width, rng, {.name = "classifier.1"}),
          output_layer_(options.representation_width, Digits::classes, rng, {.name = "classifier.2"})
    {
    }

    enum class Output { phi, logits };
    // Both evaluate_* in one program per call; out of the class, so that a program linking the compiled
    // kit (BIJOU_EXPERIMENT_KIT_COMPILED) uses the kit's copy instead of compiling its own.
    Tensor<T> evaluate(const Tensor<T>& images, Output output) const;

    template <class U>
    static decltype(auto) as_value_type(const Tensor<U>& images)
    {
        if constexpr (std::is_same_v<U, T>)
            return (images);
        else
            return Tensor<T>(xt::cast<T>(images));
    }

    DigitClassifierOptions options_;
    Linear<T> input_layer_;
    Linear<T> representation_layer_;
    Linear<T> output_layer_;
};

template <class T>
Tensor<T> DigitClassifier<T>::evaluate(const Tensor<T>& images, Output output) const
{
    if (images.shape()[1] != Digits::pixels)
        throw_shape_error("DigitClassifier", "expects images of ", Digits::pixels, " pixels, got ", images.shape()[0],
                          " x ", images.shape()[1]);
    if (images.shape()[0] == 0) return Tensor<T>::from_shape({0, 0});
    Input<T> x(Digits::pixels, "classifier.images");
    const auto run = [&](auto&& expression) { return Tensor<T>(BoundProgram(Program(expression)).run(x, images).value()); };
    return output == Output::phi ? run(phi(x)) : run(logits(x));
}

template <class T>
Tensor<T> DigitClassifier<T>::cross_entropy_gradient(const Tensor<T>& images, const std::vector<int>& labels) const
{
    if (images.shape()[1] != Digits::pixels || images.shape()[0] != labels.size() || labels.empty())
        throw_shape_error("DigitClassifier::cross_entropy_gradient", "needs n x ", Digits::pixels,
                          " images and n labels with n >= 1, got ", shape_of(images), " images and ", labels.size(),
                          " labels");
    Input<T> x(Digits::pixels, "classifier.images", {.requires_grad = true});
    Input<T> y(Digits::classes, "classifier.labels");
    Program loss(cross_entropy(logits(x), y));
    loss.bind(images.shape()[0]);
    x.set(images);
    y.set(one_hot<T>(labels));
    loss.forward();
    loss.backward();
    Tensor<T> gradient = x.grad();
    loss.zero_grad();
    return gradient;
}

// Trains classifier on (images, labels) as described at the top of this file.
// A classifier's training, shared by the digit and the image classifier: the mean cross-entropy of its
// logits on (image, one-hot label) rows through the one training loop (engine/optim/train.hpp), AdamW
// with options.lr decayed by a cosine to lr / 100, options.weight_decay, batch_size and steps. noise(rng, v),
// if set, replaces each pixel v of a minibatch, with rng seeded by (seed + 1, step): the weights were
// drawn from seed, so the batches and the noise get their own streams, and every step is reproducible.
template <class Classifier, class T, class Options>
FitReport train_cross_entropy(Classifier& classifier, const Tensor<T>& x, const Tensor<T>& targets,
                              const Options& options, std::function<T(std::mt19937_64&, T)> noise)
{
    auto objective = program_objective(
        [&](const auto& in) { return Program(cross_entropy(classifier.logits(in[0]), in[1])); }, x, targets);
    if (noise)
        objective.set_transform([&](Tensor<T>& batch, std::int64_t step) {
            std::mt19937_64 rng(bijou::detail::splitmix64(bijou::detail::splitmix64(options.seed + 1) ^ std::uint64_t(step)));
            for (T& v : batch) v = noise(rng, v);
        });
    const auto steps = std::int64_t(options.steps);
    return train(classifier.parameters(), objective, x.shape()[0],
                 FitOptions<T>{.batch_size = options.batch_size,
                               .steps = steps,
                               .lr = options.lr,
                               .schedule = CosineDecay{.base = options.lr, .min_lr = options.lr / 100,
                                                       .total_steps = std::max<std::int64_t>(steps, 2)},
                               .weight_decay = options.weight_decay,
                               .seed = options.seed + 1});
}

template <class T, class U>
DigitClassifierReport train_digit_classifier(DigitClassifier<T>& classifier, const Tensor<U>& images,
                                             const std::vector<int>& labels)
{
    const DigitClassifierOptions& options = classifier.options();
    const std::size_t n = images.shape()[0];
    if (images.shape()[1] != Digits::pixels || labels.size() != n || n == 0)
        throw_shape_error("train_digit_classifier", "needs n x ", Digits::pixels, " images and n labels, got ",
                          images.shape()[0], " x ", images.shape()[1], " images and ", labels.size(), " labels");
    if (options.steps == 0 || options.batch_size == 0)
        throw_usage_error("train_digit_classifier", "steps and batch_size must be positive");

    const double noise = options.input_noise;
    const FitReport run = train_cross_entropy(
        classifier, Tensor<T>(xt::cast<T>(images)), one_hot<T>(labels), options,
        noise > 0 ? std::function<T(std::mt19937_64&, T)>([noise](std::mt19937_64& rng, T v) {
            return T(double(v) + noise * random::normal(rng));
        })
                  : std::function<T(std::mt19937_64&, T)>{});
    DigitClassifierReport report;
    report.final_batch_loss = run.losses.empty() ? std::nan("") : run.losses.back().loss;
    report.train_accuracy = classifier.accuracy(images, labels);
    return report;
}

// A new classifier (options.seed draws its weights), trained on (images, labels).
template <class T, class U>
DigitClassifier<T> train_digit_classifier(const Tensor<U>& images, const std::vector<int>& labels,
                                          const DigitClassifierOptions& options = {},
                                          DigitClassifierReport* report = nullptr)
{
    DigitClassifier<T> classifier(options);
    const DigitClassifierReport r = train_digit_classifier(classifier, images, labels);
    if (report != nullptr) *report = r;
    return classifier;
}

#ifdef BIJOU_EXPERIMENT_KIT_COMPILED  // compiled once, in the kit (digit_classifier.cpp)
extern template class DigitClassifier<float>;
extern template DigitClassifierReport train_digit_classifier<float, double>(DigitClassifier<float>&,
                                                                           const Tensor<double>&,
                                                                           const std::vector<int>&);
extern template DigitClassifierReport train_digit_classifier<float, float>(DigitClassifier<float>&,
                                                                          const Tensor<float>&,
                                                                          const std::vector<int>&);
#endif

}  // namespace bijou::examples
