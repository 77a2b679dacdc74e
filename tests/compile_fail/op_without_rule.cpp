// Must not compile. expect: x passes through an op that has no inverse rule
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    // elu is invertible in principle, but the DSL has no inverse rule for it.
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return elu(x) + t; }));
    auto flow = make_flow<double>(2, spec);
    return static_cast<int>(flow.dim());
}
