// Counting heap allocations, for the tests of the promise that a bound program allocates nothing.
//
// Including this header replaces the global operator new / delete (every form: plain, array, aligned,
// nothrow, sized) with versions that count each new and allocate with malloc / aligned_alloc. Replacement
// operators must be defined in exactly one translation unit of an executable: every test is its own
// executable built from its single .cpp, so include this header from that .cpp and nowhere else.
//
// Define BIJOU_TESTING_COUNT_MALLOC before including to count malloc and friends as well, so that memory
// taken by C code (OpenBLAS) or by an allocator that bypasses operator new (xsimd's aligned allocator)
// is seen too. It interposes malloc, which works on glibc only and not under ASan or TSan (they interpose
// it themselves); BIJOU_COUNT_MALLOC is then 1 where malloc is counted and 0 elsewhere.
//
//   bijou::testing::AllocationScope scope;
//   train_step();
//   CHECK(scope.new_calls() == 0);
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__GLIBC__)
#include <link.h>
#endif

namespace bijou::testing {

namespace allocation_counts {
inline std::atomic<long> of_operator_new{0};  // calls of any operator new
inline std::atomic<long> of_malloc{0};        // calls of malloc, calloc, realloc and the aligned forms
inline std::atomic<long> of_malloc_by_blas{0};  // those of them made by OpenBLAS's own code

// Where libopenblas's code lies, [blas_begin, blas_end): a malloc called from there is OpenBLAS's
// (locate_blas() finds it; until then nothing is attributed).
inline std::atomic<std::uintptr_t> blas_begin{0}, blas_end{0};

inline void count_malloc(const void* caller)
{
    of_malloc.fetch_add(1, std::memory_order_relaxed);
    const auto at = reinterpret_cast<std::uintptr_t>(caller);
    if (at >= blas_begin.load(std::memory_order_relaxed) && at < blas_end.load(std::memory_order_relaxed))
        of_malloc_by_blas.fetch_add(1, std::memory_order_relaxed);
}

// Finds the loaded libopenblas's code (glibc's dl_iterate_phdr); false where there is none.
inline bool locate_blas()
{
#if defined(__GLIBC__)
    if (blas_end.load() != 0) return true;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void*) -> int {
            if (info->dlpi_name == nullptr || std::strstr(info->dlpi_name, "libopenblas") == nullptr) return 0;
            // Its code may be split over several executable segments (.plt and .text): their hull.
            std::uintptr_t begin = UINTPTR_MAX, end = 0;
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const auto& segment = info->dlpi_phdr[i];
                if (segment.p_type != PT_LOAD || (segment.p_flags & PF_X) == 0) continue;
                const std::uintptr_t at = info->dlpi_addr + segment.p_vaddr;
                begin = std::min(begin, at);
                end = std::max(end, at + segment.p_memsz);
            }
            if (end == 0) return 0;
            blas_begin.store(begin);
            blas_end.store(end);
            return 1;
        },
        nullptr);
    return blas_end.load() != 0;
#else
    return false;
#endif
}

inline void* counted_new(std::size_t n)
{
    of_operator_new.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}

inline void* counted_new(std::size_t n, std::align_val_t alignment)
{
    of_operator_new.fetch_add(1, std::memory_order_relaxed);
    const auto a = static_cast<std::size_t>(alignment);
    const std::size_t rounded = ((n == 0 ? 1 : n) + a - 1) / a * a;  // aligned_alloc wants a multiple
    if (void* p = std::aligned_alloc(a, rounded)) return p;
    throw std::bad_alloc();
}

// The nothrow forms: the same count, nullptr instead of the exception.
template <class... Alignment>
void* counted_new_or_null(std::size_t n, Alignment... alignment) noexcept
{
    try {
        return counted_new(n, alignment...);
    } catch (...) {
        return nullptr;
    }
}
}  // namespace allocation_counts

// Calls of operator new since the program started.
inline long operator_new_calls() { return allocation_counts::of_operator_new.load(); }
// Calls of malloc and friends since the program started (0 unless BIJOU_COUNT_MALLOC is 1).
inline long malloc_calls() { return allocation_counts::of_malloc.load(); }
// Those of them that OpenBLAS's code made itself (a statically linked OpenBLAS is not told apart).
inline long blas_malloc_calls() { return allocation_counts::of_malloc_by_blas.load(); }

// The heap calls made between its construction and each question.
struct AllocationScope {
    bool blas_located = allocation_counts::locate_blas();  // first: locating may itself allocate
    long new_calls_at = operator_new_calls();
    long malloc_calls_at = testing::malloc_calls();  // unqualified, the members below
    long blas_malloc_calls_at = testing::blas_malloc_calls();
    long new_calls() const { return operator_new_calls() - new_calls_at; }
    long malloc_calls() const { return testing::malloc_calls() - malloc_calls_at; }
    long blas_malloc_calls() const { return testing::blas_malloc_calls() - blas_malloc_calls_at; }
    // malloc calls made by anything but OpenBLAS: the engine's, xtensor's, the standard library's.
    long own_malloc_calls() const { return malloc_calls() - blas_malloc_calls(); }
};

}  // namespace bijou::testing

// ---- malloc interposition (glibc): the executable's definitions win over libc's for every library ----
#if defined(BIJOU_TESTING_COUNT_MALLOC) && defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define BIJOU_COUNT_MALLOC 1
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc(__builtin_return_address(0));
    return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc(__builtin_return_address(0));
    return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc(__builtin_return_address(0));
    return __libc_realloc(p, n);
}
void* memalign(std::size_t alignment, std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc(__builtin_return_address(0));
    return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc(__builtin_return_address(0));
    return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc(__builtin_return_address(0));
    if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return 22;  // EINVAL
    void* p = __libc_memalign(alignment, n);
    if (p == nullptr) return 12;  // ENOMEM
    *out = p;
    return 0;
}
void free(void* p) { __libc_free(p); }
}
#else
#define BIJOU_COUNT_MALLOC 0
#endif

// ---- operator new / delete, counted ----
// Not inline, as the standard requires of replacements: this is why only one .cpp may include the header.
void* operator new(std::size_t n) { return bijou::testing::allocation_counts::counted_new(n); }
void* operator new[](std::size_t n) { return bijou::testing::allocation_counts::counted_new(n); }
void* operator new(std::size_t n, std::align_val_t a) { return bijou::testing::allocation_counts::counted_new(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return bijou::testing::allocation_counts::counted_new(n, a); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept
{
    return bijou::testing::allocation_counts::counted_new_or_null(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept
{
    return bijou::testing::allocation_counts::counted_new_or_null(n);
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept
{
    return bijou::testing::allocation_counts::counted_new_or_null(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept
{
    return bijou::testing::allocation_counts::counted_new_or_null(n, a);
}
// Every counted operator new above allocates with malloc, so free is the matching release; GCC cannot
// see that through the replaced operators and warns when it inlines a delete next to a new.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop
