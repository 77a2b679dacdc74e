// Must not compile. expect: x is multiplied by tanh.arg2., which is not provably nonzero with a known sign .its values lie in .-1, 1..
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto s, auto t) { return x * tanh(s) + t; }));
    return static_cast<int>(sizeof(spec));
}
