// Must not compile. expect: x reaches sqrt, whose domain is .0, inf.
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return sqrt(x + 1.0) + t; }));
    return static_cast<int>(sizeof(spec));
}
