// BoundProgram: binds lazily to the rows given, rebinds when they change or when another program sharing
// an input has resized it, and refuses inputs of different rows.
#include <bijou/engine/bound_program.hpp>
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>

using namespace bijou;
using Catch::Contains;

TEST_CASE("BoundProgram binds to the rows it is given, and rebinds only when needed", "[bound_program]")
{
    Input<double> x(2, "x"), c(1, "c");
    BoundProgram sum_rows(Program(sum(x, 1)));
    BoundProgram scaled(Program(sum(x, 1) * c));
    CHECK((sum_rows.run(x, Tensor<double>{{1, 2}, {3, 4}}).value() == Tensor<double>{{3}, {7}}));
    CHECK(sum_rows.program().batch() == 2);
    CHECK((sum_rows.run(x, Tensor<double>{{5, 6}, {7, 8}}).value() == Tensor<double>{{11}, {15}}));
    CHECK((sum_rows.run(x, Tensor<double>{{1, 1}, {2, 2}, {3, 3}}).value() == Tensor<double>{{2}, {4}, {6}}));
    CHECK(sum_rows.program().batch() == 3);

    // The other program rebinds the shared x to one row; the first must notice, though its batch is 3.
    CHECK((scaled.run(x, Tensor<double>{{1, 2}}, c, Tensor<double>{{10}}).value() == Tensor<double>{{30}}));
    CHECK((sum_rows.run(x, Tensor<double>{{1, 0}, {0, 1}, {1, 1}}).value() == Tensor<double>{{1}, {1}, {2}}));

    CHECK_THROWS_WITH(scaled.run(x, Tensor<double>{{1, 2}}, c, Tensor<double>{{1}, {2}}),
                      Contains("BoundProgram::run") && Contains("same rows"));
}
