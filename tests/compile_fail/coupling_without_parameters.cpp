// Must not compile. expect: a coupling transform needs at least one parameter besides x
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x) { return exp(x); }));
    return static_cast<int>(sizeof(spec));
}
