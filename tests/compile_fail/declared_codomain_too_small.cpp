// Must not compile. expect: the transform maps its domain .0, inf. into .0, inf., which is not inside its declared codomain .0, 1.
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::elementwise_layer(dsl::elementwise<dsl::positive, dsl::unit_interval>([](auto x) { return x * 2.0; }));
    return static_cast<int>(sizeof(spec));
}
