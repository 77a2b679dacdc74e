// Must not compile. expect: x reaches the denominator of .2 / x. with values in .-inf, inf., which do not keep one sign
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return 2.0 / x + t; }));
    return static_cast<int>(sizeof(spec));
}
