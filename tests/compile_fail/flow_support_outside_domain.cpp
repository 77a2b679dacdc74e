// Must not compile. expect: make_flow: the data support .-inf, inf. is not inside the domain .0, 1. of the flow
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    // A logit layer needs data in (0, 1): declare it, make_flow<double, dsl::unit_interval>(...).
    auto flow = make_flow<double>(2, dsl::seq(flows::open_logit_layer(), flows::realnvp_coupling(dsl::conditioner(hidden(8)))));
    return static_cast<int>(flow.dim());
}
