// Must not compile. expect: x reaches tan, whose domain is .-pi/2, pi/2.
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    // tan(x) alone would take (-pi/2, pi/2) as its domain; tan(2x) reaches beyond it.
    auto spec = dsl::elementwise_layer(dsl::elementwise<dsl::open_interval(-1, 1)>([](auto x) { return tan(x * 2.0); }));
    return static_cast<int>(sizeof(spec));
}
