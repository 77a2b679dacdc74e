// Must not compile. expect: x is multiplied by 0, which is not provably nonzero
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return x * 0.0 + t; }));
    return static_cast<int>(sizeof(spec));
}
