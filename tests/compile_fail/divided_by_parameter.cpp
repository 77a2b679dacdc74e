// Must not compile. expect: x is divided by arg2, which is not provably nonzero
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return x / t; }));
    return static_cast<int>(sizeof(spec));
}
