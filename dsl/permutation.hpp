// Fixed permutations of the features: a linear map with |det| = 1 (log-det Zero), inverted by the
// inverse permutation. Between couplings they let every feature be transformed in turn.
#pragma once

#include <algorithm>
#include <memory>
#include <numeric>
#include <random>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/mapping.hpp>

namespace bijou::dsl {

template <class T>
class Permutation {
public:
    using value_type = T;

    explicit Permutation(std::vector<std::size_t> order)
    {
        check_permutation(order);
        std::vector<std::size_t> inverse(order.size());
        for (std::size_t j = 0; j < order.size(); ++j) inverse[order[j]] = j;
        order_ = std::make_shared<const std::vector<std::size_t>>(std::move(order));
        inverse_ = std::make_shared<const std::vector<std::size_t>>(std::move(inverse));
    }

    std::size_t dim() const { return order_->size(); }
    std::vector<Param<T>> parameters() const { return {}; }
    const std::vector<std::size_t>& order() const { return *order_; }

    template <class X, class C>
    auto forward(const X& x, const C&) const
    {
        return Transformed{permute_columns(x, order_), Zero{}};
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C&) const
    {
        return Transformed{permute_columns(y, inverse_), Zero{}};
    }

private:
    std::shared_ptr<const std::vector<std::size_t>> order_;
    std::shared_ptr<const std::vector<std::size_t>> inverse_;
};

// reverse(): features in reverse order.
struct ReverseSpec {
    static constexpr const char* label = "reverse";
    static constexpr Mapping mapping() { return {.preserves = true}; }
    template <class T>
    Permutation<T> build(std::size_t dim, BuildContext&) const
    {
        std::vector<std::size_t> order(dim);
        std::iota(order.rbegin(), order.rend(), std::size_t{0});
        return Permutation<T>(std::move(order));
    }
};
inline ReverseSpec reverse() { return {}; }

// permute_random(): a fixed permutation drawn once, when the block is built.
struct RandomPermutationSpec {
    static constexpr const char* label = "permute_random";
    static constexpr Mapping mapping() { return {.preserves = true}; }
    template <class T>
    Permutation<T> build(std::size_t dim, BuildContext& context) const
    {
        std::vector<std::size_t> order(dim);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::shuffle(order.begin(), order.end(), context.rng);
        return Permutation<T>(std::move(order));
    }
};
inline RandomPermutationSpec permute_random() { return {}; }

}  // namespace bijou::dsl
