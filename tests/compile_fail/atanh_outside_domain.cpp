// Must not compile. expect: x reaches atanh, whose domain is .-1, 1.
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return atanh(x * 0.5) + t; }));
    return static_cast<int>(sizeof(spec));
}
