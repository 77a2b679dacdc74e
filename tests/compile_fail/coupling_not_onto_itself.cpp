// Must not compile. expect: coupling: the transform maps .-inf, inf. onto .0, inf.; the transform of a coupling must map its domain onto itself
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto s) { return exp(x) * exp(s); }));
    return static_cast<int>(sizeof(spec));
}
