"""The line-start regex search of extraction (`source.line_matches`) and the lazy
comment check of `kconfig._directives` give what the plain scans they replace gave:
compared on texts built at random from the lines that make them differ."""

import random
import re
from types import SimpleNamespace

import pytest

from allocscan.extract import definitions, kconfig
from allocscan.extract.file import _EXPORT_HINT, _EXPORT_RE, _INCLUDE_HINT, _INCLUDE_RE
from allocscan.extract.source import line_matches

# Lines chosen for their edges: continued #defines (a directive inside one is no
# directive), comments opened and closed on other lines, `/*/`, directives inside
# literals and comments, a word twice on one line, blank lines before an export.
PIECES = [
    "#define A 1\n", "  #  define B(x) ((x) + 1)\n", "#define C(x, y) \\\n", "  (x) * \\\n",
    "#define D \\\n", "#if defined(E)\n", "#ifdef F\n", "#else\n", "#elif G > 1\n", "#endif\n",
    "#endif /* F */\n", "/* #if 0\n", " * #endif\n", " */\n", "/*/ #if 1 */\n", "/*/\n",
    "#include <linux/slab.h>\n", '# include "local.h"\n', "\n", "  \n", "\t\n",
    "EXPORT_SYMBOL(demo_get);\n", "  EXPORT_SYMBOL_GPL( demo_put );\n", "x = EXPORT_SYMBOL(no);\n",
    'const char *s = "#define H 2";\n', "int define = 0; /* define define */\n",
    "// #ifdef I\n", "#define J(a) #a define\n", "#undef CONFIG_K\n", "#define CONFIG_L 1\n",
    "static int f(void) { return 0; }\n", "\\\n", "# /* */ if 0\n", "#define M(x", "#define N(", "#  elif\n",
    "#define define O\n", "#define P(x) define Q(y)\n", "#ifdef#endif\n", "#define CONFIG_R(x) #undef CONFIG_S\n",
]
PATTERNS = [
    (definitions._FUNCTION_MACRO_RE, definitions._FUNCTION_MACRO_HINT),
    (definitions._OBJECT_MACRO_RE, definitions._OBJECT_MACRO_HINT),
    (_INCLUDE_RE, _INCLUDE_HINT), (_EXPORT_RE, _EXPORT_HINT),
    (kconfig._DIRECTIVE, kconfig._DIRECTIVE_HINT), (kconfig._LOCAL_DEFINE, kconfig._LOCAL_DEFINE_HINT),
]


def _texts(count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        yield "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30)))


def _seen(matches):
    return [(m.start(), m.end(), m.groups()) for m in matches]


@pytest.mark.parametrize("pattern,hint", PATTERNS, ids=lambda p: p.pattern[:24])
def test_line_matches_are_finditers(pattern, hint):
    for text in _texts(3000, seed=len(pattern.pattern)):
        assert _seen(line_matches(pattern, text, hint)) == _seen(pattern.finditer(text)), text


def test_exports_are_read_as_before():
    """The export pattern lost its `^\\s*` (which may start on a blank line above)."""
    old = re.compile(r"^\s*EXPORT_SYMBOL\w*\(\s*(\w+)", re.MULTILINE)
    for text in _texts(3000, seed=5):
        assert [m.group(1) for m in line_matches(_EXPORT_RE, text, _EXPORT_HINT)] == old.findall(text), text


def test_directives_outside_comments_as_with_every_comment_read():
    for text in _texts(5000, seed=11):
        spans = kconfig._comment_spans(text)
        expected = [m.start() for m in kconfig._DIRECTIVE.finditer(text) if not kconfig._inside(spans, m.start())]
        assert [m.start() for m in kconfig._directives(text)] == expected, text


def test_a_directive_in_a_comment_is_none():
    text = "#ifdef A\n/*\n#endif\n*/\n#endif\n"
    assert [m.group(1) for m in kconfig._directives(text)] == ["ifdef", "endif"]


def _reference_missed_names(functions: set, objects: set, text: str) -> bool:
    """`definitions._missed_names` as it read every #define line of the text."""
    return (any(m.group(1) not in functions for m in definitions._FUNCTION_MACRO_RE.finditer(text))
            or any(m.group(1) not in objects for m in definitions._OBJECT_MACRO_RE.finditer(text)))


def test_missed_macro_names_as_read_line_by_line():
    names = ["A", "B", "C", "D", "J", "M", "N", "O", "P", "define", "CONFIG_L", "CONFIG_R", "the"]
    rng = random.Random(3)
    seen = set()
    for text in _texts(4000, seed=13):
        text += rng.choice(["", "/* we define the value */\n", "#define the(x)\n"])
        functions, objects = set(rng.sample(names, 5)), set(rng.sample(names, 8))
        fx = SimpleNamespace(macro_names=functions, define_names=objects)
        expected = _reference_missed_names(functions, objects, text)
        assert definitions._missed_names(fx, text) == expected, text
        seen.add(expected)
    assert seen == {True, False}


class _Counted:
    """A compiled pattern that counts its searches and matches."""

    def __init__(self, pattern):
        self.pattern, self.calls = pattern, 0

    def search(self, *args):
        self.calls += 1
        return self.pattern.search(*args)

    def match(self, *args):
        self.calls += 1
        return self.pattern.match(*args)


def test_a_line_of_many_hints_is_tried_once():
    """A generated line may hold thousands of hints: the line is tried once, and the
    next search starts after it (one search per hint made a 2.7 MB line take 5 s)."""
    text = "x" + " define A" * 5000 + "\n#define B 1\n" + "y define C" * 3000 + "\n"
    hint, pattern = _Counted(definitions._OBJECT_MACRO_HINT), _Counted(definitions._OBJECT_MACRO_RE)
    assert [m.group(1) for m in line_matches(pattern, text, hint)] == ["B"]
    assert hint.calls <= 4 and pattern.calls == 3
