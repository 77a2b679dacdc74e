// Must not compile. expect: coupling: the transform maps .-inf, inf. onto an interval that depends on its parameters
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    // sigmoid(x) * exp(s) maps the real line onto (0, exp(s)), a different interval for every s.
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto s) { return sigmoid(x) * exp(s); }));
    return static_cast<int>(sizeof(spec));
}
