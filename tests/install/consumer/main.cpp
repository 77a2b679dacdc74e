// A downstream program against the installed headers: d/dw mean((x w)^2) for a 2 x 1 weight.
#include <bijou/bijou.hpp>
#include <cmath>
#include <cstdio>

int main()
{
    using namespace bijou;
    Input<double> x(2, "x");
    Param<double> w(Tensor<double>{{1.0}, {-2.0}}, "w");
    Program program(mean(square(matmul(x, w))));
    program.bind(2);
    x.set(Tensor<double>{{1.0, 2.0}, {3.0, 1.0}});
    program.forward();
    program.backward();

    // x w = (-3, 1): loss = (9 + 1) / 2 = 5, dloss/dw = x^T (x w) = (1*-3 + 3*1, 2*-3 + 1*1) = (0, -5).
    const double loss = program.value()(0, 0), g0 = w.grad()(0, 0), g1 = w.grad()(1, 0);
    std::printf("loss %g, gradient (%g, %g)\n", loss, g0, g1);
    const bool ok = std::abs(loss - 5) < 1e-12 && std::abs(g0) < 1e-12 && std::abs(g1 + 5) < 1e-12;
    return ok ? 0 : 1;
}
