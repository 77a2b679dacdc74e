// Must not compile. expect: coupling: the transform maps .-pi/2, pi/2. onto .-inf, inf.; the transform of a coupling must map its domain onto itself
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    // tan is a bijection of (-pi/2, pi/2) only, so the transformed half cannot take real values.
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return tan(x) + t; }));
    return static_cast<int>(sizeof(spec));
}
