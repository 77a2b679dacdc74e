// A small convolutional classifier for greyscale images in the rows of a batch (the engine's conv2d and
// avg_pool2d), with its training loop: the "separately trained classifier" that measures the class
// consistency of a class-conditional image flow's samples (fashion_mnist --conditional).
//
//   ImageClassifier<float> classifier({1, 28, 28}, 10, {.steps = 1500});
//   ImageClassifierReport report = train_image_classifier(classifier, images, labels);  // n x 784, 0..255
//   double acc = classifier.accuracy(test_images, test_labels);
//   std::vector<int> predicted = classifier.predict(samples);
//
// Model.     x / 255 -> conv3x3 (1 -> C1) - ReLU - avg_pool 2 -> conv3x3 (C1 -> C2) - ReLU - avg_pool 2
//            -> Linear (C2 H/4 W/4 -> hidden) - ReLU -> Linear (hidden -> classes) = logits.
// Loss.      Softmax cross-entropy, mean over the batch (digit_classifier.hpp's cross_entropy).
// Training.  AdamW, learning rate cosine-decayed to lr / 100, minibatches without replacement from a
//            reshuffled training set each epoch. Each training pixel gets fresh uniform noise u ~ U[0, 1)
//            (x + u, the dequantisation of the flows), so that the continuous pixels a flow generates
//            are inputs the classifier has seen. Buffers are allocated once; a step allocates nothing.
// Measured.  See fashion_mnist.cpp (its metrics.json reports the classifier's test accuracy).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>

#include <bijou/engine/bound_program.hpp>
#include <bijou/engine/engine.hpp>
#include <bijou/engine/nn/nn.hpp>
#include <bijou/engine/optim/optim.hpp>
#include <bijou/examples/common/digit_classifier.hpp>
#include <bijou/examples/common/random.hpp>

namespace bijou::examples {

struct ImageClassifierOptions {
    std::size_t first_channels = 16, second_channels = 32, hidden = 128;
    std::size_t steps = 1500;
    std::size_t batch_size = 128;
    double lr = 2e-3;  // cosine-decayed to lr / 100
    double weight_decay = 1e-4;
    double max_value = 255;  // pixel scale of the images the classifier reads
    std::uint64_t seed = 5;  // weights, minibatch order and noise
};

struct ImageClassifierReport {
    double final_batch_loss = 0;  // cross-entropy of the last minibatch, nats
    double seconds = 0;           // training time
};

template <class T>
class ImageClassifier {
public:
    using value_type = T;

    ImageClassifier(ImageShape image, std::size_t classes, const ImageClassifierOptions& options = {})
        : ImageClassifier(image, classes, options, std::mt19937_64(options.seed))
    {
    }

    template <Expr E>
    auto logits(const E& x) const
    {
        const ImageShape first = first_.output_shape(), second = second_.output_shape();
        auto h1 = avg_pool2d(relu(first_(x * T(1 / options_.max_value))), first, 2);
        auto h2 = avg_pool2d(relu(second_(h1)), second, 2);
        return output_(relu(hidden_(h2)));
    }

    // The most likely class of each image (rows of image().size() pixels on the 0..max_value scale).
    std::vector<int> predict(const Tensor<T>& images) const
    {
        if (images.dimension() != 2 || images.shape()[1] != image_.size())
            throw_shape_error("ImageClassifier::predict", "expects n x ", image_.size(), " images ", to_string(image_),
                              ", got ", shape_of(images));
        constexpr std::size_t chunk = 500;  // bounds the memory of the evaluation
        Input<T> x(image_.size(), "classifier.images");
        BoundProgram program(Program(logits(x)));  // rebound for the last, shorter chunk only
        std::vector<int> classes(images.shape()[0]);
        for (std::size_t first = 0; first < classes.size(); first += chunk) {
            const std::size_t count = std::min(chunk, classes.size() - first);
            const Tensor<T>& l =
                program.run(x, Tensor<T>(xt::view(images, xt::range(first, first + count), xt::all()))).value();
            for (std::size_t i = 0; i < count; ++i) {
                std::size_t best = 0;
                for (std::size_t k = 1; k < classes_; ++k)
                    if (l(i, k) > l(i, best)) best = k;
                classes[first + i] = int(best);
            }
        }
        return classes;
    }

    double accuracy(const Tensor<T>& images, const std::vector<int>& labels) const
    {
        if (images.shape()[0] != labels.size())
            throw_shape_error("ImageClassifier::accuracy", images.shape()[0], " images but ", labels.size(), " labels");
        if (labels.empty()) return 0;
        const std::vector<int> predicted = predict(images);
        std::size_t correct = 0;
        for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
        return double(correct) / double(labels.size());
    }

    ImageShape image() const { return image_; }
    std::size_t classes() const { return classes_; }
    const ImageClassifierOptions& options() const { return options_; }

    std::vector<Param<T>> parameters() const
    {
        return {first_.weight, first_.bias, second_.weight, second_.bias,
                hidden_.weight, hidden_.bias, output_.weight, output_.bias};
    }

private:
    ImageClassifier(ImageShape image, std::size_t classes, const ImageClassifierOptions& options, std::mt19937_64&& rng)
        : options_(options), image_(image), classes_(classes),
          first_(image, options.first_channels, 3, rng, {.name = "classifier.conv0"}),
          second_(pooled(first_.output_shape()), options.second_channels, 3, rng, {.name = "classifier.conv1"}),
          hidden_(pooled(second_.output_shape()).size(), options.hidden, rng, {.name = "classifier.dense0"}),
          output_(options.hidden, classes, rng, {.name = "classifier.dense1"})
    {
    }

    static ImageShape pooled(ImageShape in) { return avg_pool2d_shape(in, 2); }

    ImageClassifierOptions options_;
    ImageShape image_;
    std::size_t classes_;
    Conv2dLayer<T> first_, second_;
    Linear<T> hidden_, output_;
};

// Trains classifier on (images, labels) as described at the top of this file.
template <class T>
ImageClassifierReport train_image_classifier(ImageClassifier<T>& classifier, const Tensor<T>& images,
                                             const std::vector<int>& labels)
{
    const ImageClassifierOptions& options = classifier.options();
    const std::size_t n = images.shape()[0], width = classifier.image().size(), classes = classifier.classes();
    if (images.dimension() != 2 || images.shape()[1] != width || labels.size() != n || n == 0)
        throw_shape_error("train_image_classifier", "needs n x ", width, " images and n labels, got ", shape_of(images),
                          " images and ", labels.size(), " labels");
    if (options.steps == 0 || options.batch_size == 0)
        throw_usage_error("train_image_classifier", "steps and batch_size must be positive");
    const auto start = std::chrono::steady_clock::now();

    // The pixels are dequantised by fresh uniform noise each step.
    const FitReport run = train_cross_entropy(classifier, Tensor<T>(xt::cast<T>(images)), one_hot<T>(labels, classes), options,
                                              std::function<T(std::mt19937_64&, T)>([](std::mt19937_64& rng, T v) {
                                                  return T(double(v) + random::uniform(rng));
                                              }));
    ImageClassifierReport report;
    report.final_batch_loss = run.losses.empty() ? std::nan("") : run.losses.back().loss;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace bijou::examples
