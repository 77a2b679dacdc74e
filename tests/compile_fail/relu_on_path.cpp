// Must not compile. expect: x passes through relu, which is not injective
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto flow = make_flow<double>(2, dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)),
                                                   dsl::elementwise([](auto x, auto t) { return relu(x) + t; })));
    return static_cast<int>(flow.dim());
}
