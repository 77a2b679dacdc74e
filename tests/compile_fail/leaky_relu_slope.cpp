// Must not compile. expect: x passes through leaky_relu.x. with slope -0.5, which is invertible only for a positive, finite slope
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), dsl::elementwise([](auto x, auto t) { return leaky_relu(x, -0.5) + t; }));
    return static_cast<int>(sizeof(spec));
}
