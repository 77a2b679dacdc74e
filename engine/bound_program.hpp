// BoundProgram: a program for evaluation, bound lazily to the rows of the data it is given.
//
//   BoundProgram log_prob(Program(log_density(x)));
//   const Tensor<float>& lp = log_prob.run(x, data).value();        // binds to data's rows
//   log_prob.run(x, more_data);                                       // rebinds only if the rows differ
//   cinn.run(x, data, c, conditions);                                 // several (input, data) pairs
//
// Binding is Gradients::off (no adjoint buffers; a chain runs its blocks in chunks of rows), since an
// evaluation needs no backward pass. Programs may share inputs (a flow's log_prob and forward both read
// x), and binding one program resizes its inputs to its batch; so a program is rebound not only when the
// row count changes but also when another program has left one of its inputs at another size since.
// Everything the library evaluates lazily (Flow's log_prob, forward and inverse; the experiment kit's
// classifiers and autoencoder) goes through this one class.
#pragma once

#include <cstddef>
#include <utility>

#include <bijou/engine/error.hpp>
#include <bijou/engine/input.hpp>
#include <bijou/engine/program.hpp>
#include <bijou/engine/tensor.hpp>

namespace bijou {

template <class P>
class BoundProgram {
public:
    explicit BoundProgram(P program) : program_(std::move(program)) {}

    // Sets each input to its data (all with the same rows), binding first if needed, and runs forward.
    template <class T, class... More>
    P& run(const Input<T>& input, const Tensor<T>& data, const More&... more)
    {
        const std::size_t rows = data.shape()[0];
        if (program_.batch() != rows || stale(rows, input, data, more...)) program_.bind(rows, Gradients::off);
        feed(rows, input, data, more...);
        program_.forward();
        return program_;
    }

    P& program() { return program_; }
    const P& program() const { return program_; }

private:
    static bool stale(std::size_t) { return false; }
    template <class T, class... More>
    static bool stale(std::size_t rows, const Input<T>& input, const Tensor<T>&, const More&... more)
    {
        return input.value().shape()[0] != rows || stale(rows, more...);
    }

    static void feed(std::size_t) {}
    template <class T, class... More>
    static void feed(std::size_t rows, const Input<T>& input, const Tensor<T>& data, const More&... more)
    {
        if (data.shape()[0] != rows)
            throw_shape_error("BoundProgram::run", "every input's data must have the same rows: ", rows, " and ",
                              data.shape()[0]);
        input.set(data);
        feed(rows, more...);
    }

    P program_;
};

}  // namespace bijou
