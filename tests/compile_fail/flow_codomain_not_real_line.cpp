// Must not compile. expect: make_flow: the flow .seq. maps onto .0, 1., but its Gaussian base needs the real line
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto flow = make_flow<double>(2, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(8))), flows::sigmoid_layer()));
    return static_cast<int>(flow.dim());
}
