// Must not compile. expect: fused: block 2 .elementwise_layer. is defined on .0, 1., but block 1 .coupling. before it maps onto .-inf, inf.
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::fused(flows::realnvp_coupling(dsl::conditioner(hidden(8))), flows::open_logit_layer());
    return static_cast<int>(sizeof(spec));
}
