// Must not compile. expect: x reaches log, whose domain is .0, inf., with values in .-inf, inf.
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    // x * exp(s) takes every real value; log needs them positive (declare dsl::positive to allow it).
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto s) { return log(x * exp(s)); }));
    return static_cast<int>(sizeof(spec));
}
