// Must not compile. expect: x reaches log1p, whose domain is .-1, inf.
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return log1p(x - 2.0) + t; }));
    return static_cast<int>(sizeof(spec));
}
