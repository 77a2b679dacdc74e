// Must not compile. expect: x passes through pow<N> with an even N, which is not injective
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return pow<2>(x) + t; }));
    return static_cast<int>(sizeof(spec));
}
