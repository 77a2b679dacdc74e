// Must not compile. expect: x is multiplied by arg2, which is not provably nonzero with a known sign
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    // The conditioner's last layer starts at zero: t = 0 and log|t| = -inf for every row.
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return x * t; }));
    return static_cast<int>(sizeof(spec));
}
