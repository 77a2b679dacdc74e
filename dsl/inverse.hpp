// inverse(b): the block whose forward is b's inverse and whose inverse is b's forward. A flow trained
// in the generative direction (sampling cheap, density via the inverse) is one `inverse` away.
#pragma once

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/mapping.hpp>

namespace bijou::dsl {

template <class Block>
class Inverse {
public:
    using value_type = typename Block::value_type;

    explicit Inverse(Block block) : block_(std::move(block)) {}

    std::size_t dim() const { return block_.dim(); }
    std::vector<Param<value_type>> parameters() const { return block_.parameters(); }
    const Block& block() const { return block_; }

    template <class X, class C>
    auto forward(const X& x, const C& c) const
    {
        return block_.inverse(x, c);
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C& c) const
    {
        return block_.forward(y, c);
    }

private:
    Block block_;
};

template <class Spec>
struct InverseSpec {
    Spec spec;

    static constexpr const char* label = "inverse";
    static constexpr Mapping mapping()
    {
        constexpr Mapping m = mapping_of<Spec>();
        return {m.codomain, m.domain, m.preserves};
    }

    template <class T, bool Conditional>
    auto build(std::size_t dim, BuildContext& context) const
    {
        auto block = build_block<T, Conditional>(spec, dim, context);
        return Inverse<decltype(block)>(std::move(block));
    }
    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        return context.condition_dim > 0 ? build<T, true>(dim, context) : build<T, false>(dim, context);
    }
};

template <class Spec>
InverseSpec<Spec> inverse(Spec spec)
{
    return {std::move(spec)};
}

}  // namespace bijou::dsl
