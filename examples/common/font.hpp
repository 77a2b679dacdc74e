// A 5 x 7 bitmap font for titles and axis labels on figures: digits, letters (lower case is drawn as
// upper case), and the symbols numbers and short titles need. Any other character is drawn as '?'.
//
//   draw_text(image, 4, 4, "density, step 500", colours::black, 2);   // 2: each font pixel 2 x 2
//   std::size_t w = text_width("density", 2), h = text_height(2);
//
// A glyph occupies a 6 x 8 cell (one column and one row of spacing), so text is text_width() wide.
#pragma once

#include <array>
#include <cctype>
#include <cstddef>
#include <string_view>

#include <bijou/examples/common/image.hpp>

namespace bijou::examples {

namespace detail {

struct Glyph {
    char character;
    // Seven rows of five pixels, top to bottom, separated by spaces: '#' is ink, '.' is paper.
    std::string_view rows;
};

inline constexpr std::array<Glyph, 60> font_glyphs = {{
    {'0', ".###. #...# #..## #.#.# ##..# #...# .###."}, {'1', "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###."},
    {'2', ".###. #...# ....# ...#. ..#.. .#... #####"}, {'3', "##### ...#. ..#.. ...#. ....# #...# .###."},
    {'4', "...#. ..##. .#.#. #..#. ##### ...#. ...#."}, {'5', "##### #.... ####. ....# ....# #...# .###."},
    {'6', "..##. .#... #.... ####. #...# #...# .###."}, {'7', "##### ....# ...#. ..#.. .#... .#... .#..."},
    {'8', ".###. #...# #...# .###. #...# #...# .###."}, {'9', ".###. #...# #...# .#### ....# ...#. .##.."},
    {'A', ".###. #...# #...# ##### #...# #...# #...#"}, {'B', "####. #...# #...# ####. #...# #...# ####."},
    {'C', ".###. #...# #.... #.... #.... #...# .###."}, {'D', "###.. #..#. #...# #...# #...# #..#. ###.."},
    {'E', "##### #.... #.... ####. #.... #.... #####"}, {'F', "##### #.... #.... ####. #.... #.... #...."},
    {'G', ".###. #...# #.... #.### #...# #...# .####"}, {'H', "#...# #...# #...# ##### #...# #...# #...#"},
    {'I', ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###."}, {'J', "..### ...#. ...#. ...#. ...#. #..#. .##.."},
    {'K', "#...# #..#. #.#.. ##... #.#.. #..#. #...#"}, {'L', "#.... #.... #.... #.... #.... #.... #####"},
    {'M', "#...# ##.## #.#.# #.#.# #...# #...# #...#"}, {'N', "#...# #...# ##..# #.#.# #..## #...# #...#"},
    {'O', ".###. #...# #...# #...# #...# #...# .###."}, {'P', "####. #...# #...# ####. #.... #.... #...."},
    {'Q', ".###. #...# #...# #...# #.#.# #..#. .##.#"}, {'R', "####. #...# #...# ####. #.#.. #..#. #...#"},
    {'S', ".#### #.... #.... .###. ....# ....# ####."}, {'T', "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."},
    {'U', "#...# #...# #...# #...# #...# #...# .###."}, {'V', "#...# #...# #...# #...# #...# .#.#. ..#.."},
    {'W', "#...# #...# #...# #.#.# #.#.# #.#.# .#.#."}, {'X', "#...# #...# .#.#. ..#.. .#.#. #...# #...#"},
    {'Y', "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.."}, {'Z', "##### ....# ...#. ..#.. .#... #.... #####"},
    {' ', "..... ..... ..... ..... ..... ..... ....."}, {'.', "..... ..... ..... ..... ..... .##.. .##.."},
    {',', "..... ..... ..... ..... .##.. ..#.. .#..."}, {':', "..... .##.. .##.. ..... .##.. .##.. ....."},
    {';', "..... .##.. .##.. ..... .##.. ..#.. .#..."}, {'-', "..... ..... ..... ##### ..... ..... ....."},
    {'+', "..... ..#.. ..#.. ##### ..#.. ..#.. ....."}, {'=', "..... ..... ##### ..... ##### ..... ....."},
    {'/', "..... ....# ...#. ..#.. .#... #.... ....."}, {'(', "...#. ..#.. .#... .#... .#... ..#.. ...#."},
    {')', ".#... ..#.. ...#. ...#. ...#. ..#.. .#..."}, {'[', ".###. .#... .#... .#... .#... .#... .###."},
    {']', ".###. ...#. ...#. ...#. ...#. ...#. .###."}, {'%', "##... ##..# ...#. ..#.. .#... #..## ...##"},
    {'_', "..... ..... ..... ..... ..... ..... #####"}, {'\'', "..#.. ..#.. .#... ..... ..... ..... ....."},
    {'!', "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#.."}, {'?', ".###. #...# ....# ...#. ..#.. ..... ..#.."},
    {'<', "...#. ..#.. .#... #.... .#... ..#.. ...#."}, {'>', ".#... ..#.. ...#. ....# ...#. ..#.. .#..."},
    {'*', "..... ..#.. #.#.# .###. #.#.# ..#.. ....."}, {'|', "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."},
    {'^', "..#.. .#.#. #...# ..... ..... ..... ....."}, {'#', ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#."},
}};

constexpr bool glyphs_well_formed()
{
    for (const Glyph& g : font_glyphs) {
        if (g.rows.size() != 7 * 6 - 1) return false;
        for (std::size_t i = 0; i < g.rows.size(); ++i)
            if (g.rows[i] != (i % 6 == 5 ? ' ' : g.rows[i] == '#' ? '#' : '.')) return false;
    }
    return true;
}
static_assert(glyphs_well_formed(), "every glyph is 7 rows of 5 '#' or '.' separated by single spaces");

inline const Glyph& glyph_for(char c)
{
    const char upper = char(std::toupper(static_cast<unsigned char>(c)));
    const Glyph* unknown = nullptr;
    for (const Glyph& g : font_glyphs) {
        if (g.character == upper) return g;
        if (g.character == '?') unknown = &g;
    }
    return *unknown;
}

}  // namespace detail

inline constexpr std::size_t glyph_width = 5, glyph_height = 7, glyph_advance = 6, line_advance = 8;

inline std::size_t text_width(std::string_view text, std::size_t scale = 1)
{
    return text.empty() ? 0 : (text.size() * glyph_advance - 1) * scale;
}
inline std::size_t text_height(std::size_t scale = 1) { return glyph_height * scale; }

// Draws `text` with its top-left corner at (x, y); each font pixel becomes a scale x scale block.
inline void draw_text(Image& image, std::ptrdiff_t x, std::ptrdiff_t y, std::string_view text, Rgb colour,
                      std::size_t scale = 1)
{
    for (const char c : text) {
        const std::string_view rows = detail::glyph_for(c).rows;
        for (std::size_t row = 0; row < glyph_height; ++row)
            for (std::size_t col = 0; col < glyph_width; ++col)
                if (rows[row * (glyph_width + 1) + col] == '#')
                    image.fill_rect(x + std::ptrdiff_t(col * scale), y + std::ptrdiff_t(row * scale), scale, scale,
                                    colour);
        x += std::ptrdiff_t(glyph_advance * scale);
    }
}

}  // namespace bijou::examples
