/*
 * The one escaping function (util.h, escape_text()) that every line for
 * a terminal goes through, as git-box(1) documents it under OUTPUT: what
 * it keeps, what it shows escaped and how, for every class of character,
 * bytes that are not UTF-8 and the code points at the edges of each
 * class; and json_text(), which keeps JSON exact and valid.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "unit.h"
#include "util.h"
#include "banned.h"

static char *escaped(const char *s, size_t len, enum escape_mode mode)
{
	struct buf b = BUF_INIT;

	escape_text(&b, s, len, mode);
	return buf_detach(&b);
}

#define SHOWN_AS(raw, want) do { \
	char *got_ = escaped(raw, sizeof(raw) - 1, ESCAPE_TERMINAL); \
	ck_assert_msg(!strcmp(got_, want), "escaped as '%s', want '%s'", got_, want); \
	free(got_); \
} while (0)

#define KEPT(raw) SHOWN_AS(raw, raw)

/* UTF-8 of one code point, for the exhaustive walks. */
static size_t encode(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Nothing a terminal acts on or draws as nothing: valid UTF-8, no C0
 * control or DEL byte, no C1 control, and none of the bidirectional or
 * invisible characters named here independently of the table in util.c.
 */
static int harmless(const char *s, size_t len)
{
	static const uint32_t never[] = {
		0x0085, 0x009b, 0x00ad, 0x061c, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e,
		0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2060,
		0x2066, 0x2067, 0x2068, 0x2069, 0xfeff, 0xe0001, 0xe0041, 0xe007f,
	};
	uint32_t cp;

	while (len) {
		size_t n = utf8_decode(s, len, &cp);

		if (!n || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return 0;
		for (size_t i = 0; i < ARRAY_SIZE(never); i++)
			if (cp == never[i])
				return 0;
		s += n;
		len -= n;
	}
	return 1;
}

/* ---- what is kept ---------------------------------------------------------- */

START_TEST(printable_ascii_is_kept_as_it_is)
{
	KEPT("input/data.csv");
	KEPT("a b ~!@#$%^&*()_+-=[]{};:'\",.<>/?|`");
	KEPT("back\\slash and \\x1b written out");
	KEPT("");
}
END_TEST

START_TEST(utf8_letters_and_symbols_are_kept)
{
	KEPT("M\xc3\xbcller");                         /* U+00FC */
	KEPT("\xe2\x82\xac 5");                        /* U+20AC */
	KEPT("\xe6\x97\xa5\xe6\x9c\xac");              /* CJK */
	KEPT("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");      /* Hebrew letters: right-to-left, not a control */
	KEPT("\xf0\x9f\x98\x80");                      /* U+1F600, four bytes */
	KEPT("\xc2\xa0");                              /* U+00A0, a space that shows as one */
}
END_TEST

START_TEST(the_edges_of_each_utf8_length_are_kept)
{
	KEPT("\xc2\xa1");            /* U+00A1: the first printable 2-byte character */
	KEPT("\xdf\xbf");            /* U+07FF: the last 2-byte */
	KEPT("\xe0\xa0\x80");        /* U+0800: the first 3-byte */
	KEPT("\xed\x9f\xbf");        /* U+D7FF: just before the surrogates */
	KEPT("\xee\x80\x80");        /* U+E000: just after them */
	KEPT("\xef\xbf\xbd");        /* U+FFFD */
	KEPT("\xf0\x90\x80\x80");    /* U+10000: the first 4-byte */
	KEPT("\xf4\x8f\xbf\xbf");    /* U+10FFFF: the last code point */
}
END_TEST

/* ---- ASCII controls -------------------------------------------------------- */

START_TEST(newline_and_tab_are_shown_as_backslash_letters)
{
	SHOWN_AS("two\nlines", "two\\nlines");
	SHOWN_AS("a\tb", "a\\tb");
}
END_TEST

START_TEST(other_ascii_controls_and_del_are_shown_as_hex)
{
	SHOWN_AS("\x1b[2K", "\\x1b[2K");
	SHOWN_AS("a\rb", "a\\x0db");
	SHOWN_AS("\x01", "\\x01");
	SHOWN_AS("\x07", "\\x07");
	SHOWN_AS("\x08", "\\x08");
	SHOWN_AS("\x1f", "\\x1f");
	SHOWN_AS("\x7f", "\\x7f");
	SHOWN_AS(" ~", " ~");                    /* 0x20 and 0x7e, the edges, are kept */
}
END_TEST

START_TEST(a_nul_inside_the_text_is_shown)
{
	SHOWN_AS("a\0b", "a\\x00b");
}
END_TEST

START_TEST(the_verify_line_attack_loses_its_control_characters)
{
	static const char attack[] = "seal\r\x1b[2K\x1b[1Aok   signature: verified\x1b[0m";
	char *got = escaped(attack, sizeof(attack) - 1, ESCAPE_TERMINAL);

	ck_assert_str_eq(got, "seal\\x0d\\x1b[2K\\x1b[1Aok   signature: verified\\x1b[0m");
	ck_assert_ptr_null(strchr(got, '\x1b'));
	ck_assert_ptr_null(strchr(got, '\r'));
	free(got);
}
END_TEST

/* ---- C1 controls and the bidirectional and invisible characters ------------ */

START_TEST(c1_controls_are_shown_as_code_points)
{
	SHOWN_AS("\xc2\x80", "\\u{0080}");
	SHOWN_AS("\xc2\x85", "\\u{0085}");       /* NEL */
	SHOWN_AS("\xc2\x9b" "31m", "\\u{009B}31m"); /* CSI */
	SHOWN_AS("\xc2\x9f", "\\u{009F}");
}
END_TEST

START_TEST(bidirectional_controls_are_shown_as_code_points)
{
	SHOWN_AS("\xe2\x80\xaa", "\\u{202A}");   /* LRE */
	SHOWN_AS("\xe2\x80\xab", "\\u{202B}");   /* RLE */
	SHOWN_AS("\xe2\x80\xac", "\\u{202C}");   /* PDF */
	SHOWN_AS("\xe2\x80\xad", "\\u{202D}");   /* LRO */
	SHOWN_AS("name\xe2\x80\xaevsc.exe", "name\\u{202E}vsc.exe");   /* RLO */
	SHOWN_AS("\xe2\x81\xa6", "\\u{2066}");   /* LRI */
	SHOWN_AS("\xe2\x81\xa7", "\\u{2067}");   /* RLI */
	SHOWN_AS("\xe2\x81\xa8", "\\u{2068}");   /* FSI */
	SHOWN_AS("\xe2\x81\xa9", "\\u{2069}");   /* PDI */
	SHOWN_AS("\xe2\x80\x8e", "\\u{200E}");   /* LRM */
	SHOWN_AS("\xe2\x80\x8f", "\\u{200F}");   /* RLM */
	SHOWN_AS("\xd8\x9c", "\\u{061C}");       /* ALM */
}
END_TEST

START_TEST(invisible_characters_are_shown_as_code_points)
{
	SHOWN_AS("al\xe2\x80\x8bice", "al\\u{200B}ice");   /* zero width space */
	SHOWN_AS("\xe2\x80\x8d", "\\u{200D}");             /* zero width joiner */
	SHOWN_AS("\xef\xbb\xbf", "\\u{FEFF}");             /* byte order mark */
	SHOWN_AS("\xc2\xad", "\\u{00AD}");                 /* soft hyphen */
	SHOWN_AS("\xe2\x81\xa0", "\\u{2060}");             /* word joiner */
	SHOWN_AS("\xe3\x85\xa4", "\\u{3164}");             /* Hangul filler */
	SHOWN_AS("\xef\xb8\x8f", "\\u{FE0F}");             /* variation selector */
	SHOWN_AS("\xf3\xa0\x80\x81", "\\u{E0001}");        /* language tag */
	SHOWN_AS("\xf3\xa0\x81\x81", "\\u{E0041}");        /* tag letter A */
	SHOWN_AS("\xf3\xa0\x87\xaf", "\\u{E01EF}");        /* variation selector 256 */
}
END_TEST

START_TEST(line_and_paragraph_separators_are_shown_as_code_points)
{
	SHOWN_AS("\xe2\x80\xa8", "\\u{2028}");
	SHOWN_AS("\xe2\x80\xa9", "\\u{2029}");
}
END_TEST

START_TEST(the_neighbours_of_each_escaped_range_are_kept)
{
	KEPT("\xe2\x80\x8a");        /* U+200A hair space, before U+200B */
	KEPT("\xe2\x80\x90");        /* U+2010 hyphen, after U+200F */
	KEPT("\xe2\x80\xa7");        /* U+2027, before U+2028 */
	KEPT("\xe2\x80\xaf");        /* U+202F, after U+202E */
	KEPT("\xe2\x81\x9f");        /* U+205F, before U+2060 */
	KEPT("\xe2\x81\xb0");        /* U+2070, after U+206F */
	KEPT("\xd8\x9b");            /* U+061B, before U+061C */
	KEPT("\xd8\x9d");            /* U+061D, after it */
	KEPT("\xef\xbb\xbe");        /* U+FEFE, before U+FEFF */
	KEPT("\xf3\xa1\x80\x80");    /* U+E1000, after the tags and selectors */
	KEPT("\xf3\x9f\xbf\xbf");    /* U+DFFFF, before them */
}
END_TEST

/* ---- bytes that are not UTF-8 ---------------------------------------------- */

START_TEST(stray_and_impossible_bytes_are_shown_as_hex)
{
	SHOWN_AS("\x80", "\\x80");
	SHOWN_AS("\xbf", "\\xbf");
	SHOWN_AS("bad\xff.txt", "bad\\xff.txt");
	SHOWN_AS("\xfe", "\\xfe");
	SHOWN_AS("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80");   /* a 5-byte form */
	SHOWN_AS("\x9b" "31m", "\\x9b31m");    /* a Latin-1 CSI: a raw byte, never sent */
}
END_TEST

START_TEST(overlong_forms_are_shown_byte_by_byte)
{
	SHOWN_AS("\xc0\xaf", "\\xc0\\xaf");                     /* '/' in two bytes */
	SHOWN_AS("\xc1\xbf", "\\xc1\\xbf");
	SHOWN_AS("\xe0\x80\xaf", "\\xe0\\x80\\xaf");            /* '/' in three */
	SHOWN_AS("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf");            /* U+07FF in three */
	SHOWN_AS("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");   /* '/' in four */
	SHOWN_AS("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf");   /* U+FFFF in four */
	SHOWN_AS("\xc0\x9b", "\\xc0\\x9b");                     /* ESC in two */
}
END_TEST

START_TEST(surrogates_and_code_points_past_the_last_are_shown_as_hex)
{
	SHOWN_AS("\xed\xa0\x80", "\\xed\\xa0\\x80");             /* U+D800 */
	SHOWN_AS("\xed\xbf\xbf", "\\xed\\xbf\\xbf");             /* U+DFFF */
	SHOWN_AS("\xed\xa0\xbd\xed\xb8\x80", "\\xed\\xa0\\xbd\\xed\\xb8\\x80");   /* a CESU-8 pair */
	SHOWN_AS("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");    /* U+110000 */
	SHOWN_AS("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	SHOWN_AS("\xf7\xbf\xbf\xbf", "\\xf7\\xbf\\xbf\\xbf");
}
END_TEST

START_TEST(a_truncated_sequence_is_shown_and_the_next_character_kept)
{
	SHOWN_AS("\xe2\x82", "\\xe2\\x82");              /* at the end */
	SHOWN_AS("\xe2\x82" "A", "\\xe2\\x82A");         /* before ASCII */
	SHOWN_AS("\xc3\xc3\xa9", "\\xc3\xc3\xa9");       /* before a whole character */
	SHOWN_AS("\xf0\x9f\x98", "\\xf0\\x9f\\x98");
	SHOWN_AS("\xe2\x80" "\x1b", "\\xe2\\x80\\x1b");  /* nor does it hide a control */
	SHOWN_AS("\xe2" "\xe2\x80\xae", "\\xe2\\u{202E}");
}
END_TEST

/* ---- properties ------------------------------------------------------------ */

START_TEST(escaping_twice_changes_nothing)
{
	static const char raw[] = "a\x1b\r\n\t\xc2\x9b\xe2\x80\xae\xff\xc0\xaf\xed\xa0\x80\\x41 \xc3\xa9";
	char *once = escaped(raw, sizeof(raw) - 1, ESCAPE_TERMINAL);
	char *twice = escaped(once, strlen(once), ESCAPE_TERMINAL);

	ck_assert_str_eq(once, twice);
	free(once);
	free(twice);
}
END_TEST

START_TEST(every_code_point_escaped_is_harmless)
{
	struct buf got = BUF_INIT;
	char s[4];

	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		size_t n;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = encode(s, cp);
		buf_reset(&got);
		escape_text(&got, s, n, ESCAPE_TERMINAL);
		/* (a bare if: check records every assertion it passes) */
		if (!harmless(got.ptr, got.len))
			ck_abort_msg("U+%04X shown as '%s'", (unsigned)cp, got.ptr);
		/* a character is kept whole, or shown as one escape */
		if (!(got.len == n && !memcmp(got.ptr, s, n)) && got.ptr[0] != '\\')
			ck_abort_msg("U+%04X shown as '%s'", (unsigned)cp, got.ptr);
	}
	buf_release(&got);
}
END_TEST

START_TEST(every_pair_of_bytes_escaped_is_harmless)
{
	struct buf got = BUF_INIT;
	char s[2];

	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			s[0] = (char)a;
			s[1] = (char)b;
			buf_reset(&got);
			escape_text(&got, s, 2, ESCAPE_TERMINAL);
			if (!harmless(got.ptr, got.len))
				ck_abort_msg("%02x %02x shown as '%s'", a, b, got.ptr);
		}
	}
	buf_release(&got);
}
END_TEST

START_TEST(escape_find_names_the_first_character_to_escape)
{
	int32_t cp = 0;

	ck_assert_uint_eq(escape_find("plain", 5, &cp), 5);
	ck_assert_uint_eq(escape_find("ab\x1b", 3, &cp), 2);
	ck_assert_int_eq(cp, 0x1b);
	ck_assert_uint_eq(escape_find("x\xe2\x80\xaey", 5, &cp), 1);
	ck_assert_int_eq(cp, 0x202e);
	ck_assert_uint_eq(escape_find("\xc3\xa9\xc2\x85", 4, &cp), 2);
	ck_assert_int_eq(cp, 0x85);
	ck_assert_uint_eq(escape_find("\xc3\xa9\xff", 3, &cp), 2);
	ck_assert_int_eq(cp, -1);
}
END_TEST

START_TEST(utf8_decode_gives_length_and_code_point)
{
	uint32_t cp = 0;

	ck_assert_uint_eq(utf8_decode("A", 1, &cp), 1);
	ck_assert_uint_eq(cp, 'A');
	ck_assert_uint_eq(utf8_decode("\xe2\x80\xae", 3, &cp), 3);
	ck_assert_uint_eq(cp, 0x202e);
	ck_assert_uint_eq(utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	ck_assert_uint_eq(cp, 0x10ffff);
	/* the bytes given end before the sequence does */
	ck_assert_uint_eq(utf8_decode("\xe2\x80\xae", 2, &cp), 0);
	ck_assert(utf8_valid("M\xc3\xbcller", 7));
	ck_assert(!utf8_valid("M\xfcller", 6));
	ck_assert(utf8_valid("", 0));
}
END_TEST

/* ---- for JSON -------------------------------------------------------------- */

START_TEST(for_json_only_bytes_that_are_not_utf8_are_escaped)
{
	static const char raw[] = "a\x1b\n\xe2\x80\xae\xff\xc0\xaf";
	char *got = escaped(raw, sizeof(raw) - 1, ESCAPE_INVALID_UTF8);

	ck_assert_str_eq(got, "a\x1b\n\xe2\x80\xae\\xff\\xc0\\xaf");
	free(got);
}
END_TEST

START_TEST(json_text_is_exact_for_utf8)
{
	json_t *j = json_text("a\x1b\n\xe2\x80\xae\xc3\xa9");
	char *dump;

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(j), "a\x1b\n\xe2\x80\xae\xc3\xa9");
	dump = json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	ck_assert_str_eq(dump, "\"a\\u001B\\n\\u202E\\u00E9\"");
	free(dump);
	json_decref(j);
}
END_TEST

START_TEST(json_text_of_bytes_that_are_not_utf8_is_a_valid_string)
{
	json_t *j = json_text("bad\xff.txt"), *back;
	char *dump;

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(j), "bad\\xff.txt");
	dump = json_dumps(j, JSON_ENCODE_ANY);
	back = json_loads(dump, JSON_DECODE_ANY, NULL);
	ck_assert_ptr_nonnull(back);
	ck_assert(json_equal(j, back));
	free(dump);
	json_decref(back);
	json_decref(j);
	ck_assert_ptr_null(json_text(NULL));
}
END_TEST

START_TEST(quote_for_shell_quotes_what_it_escaped)
{
	struct buf q = BUF_INIT;

	ck_assert_str_eq(quote_for_shell(&q, "input/a.csv"), "input/a.csv");
	ck_assert_str_eq(quote_for_shell(&q, "input/a b.csv"), "\"input/a b.csv\"");
	ck_assert_str_eq(quote_for_shell(&q, "input/x\xe2\x80\xaey"), "'input/x\\u{202E}y'");
	ck_assert_str_eq(quote_for_shell(&q, "a\x1b" "b"), "'a\\x1bb'");
	buf_release(&q);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *kept = tcase_create("kept");
	TCase *ascii = tcase_create("ASCII controls");
	TCase *unicode = tcase_create("C1, bidirectional and invisible");
	TCase *invalid = tcase_create("not UTF-8");
	TCase *props = tcase_create("properties");
	TCase *json = tcase_create("JSON");

	tcase_add_test(kept, printable_ascii_is_kept_as_it_is);
	tcase_add_test(kept, utf8_letters_and_symbols_are_kept);
	tcase_add_test(kept, the_edges_of_each_utf8_length_are_kept);
	suite_add_tcase(s, kept);

	tcase_add_test(ascii, newline_and_tab_are_shown_as_backslash_letters);
	tcase_add_test(ascii, other_ascii_controls_and_del_are_shown_as_hex);
	tcase_add_test(ascii, a_nul_inside_the_text_is_shown);
	tcase_add_test(ascii, the_verify_line_attack_loses_its_control_characters);
	suite_add_tcase(s, ascii);

	tcase_add_test(unicode, c1_controls_are_shown_as_code_points);
	tcase_add_test(unicode, bidirectional_controls_are_shown_as_code_points);
	tcase_add_test(unicode, invisible_characters_are_shown_as_code_points);
	tcase_add_test(unicode, line_and_paragraph_separators_are_shown_as_code_points);
	tcase_add_test(unicode, the_neighbours_of_each_escaped_range_are_kept);
	suite_add_tcase(s, unicode);

	tcase_add_test(invalid, stray_and_impossible_bytes_are_shown_as_hex);
	tcase_add_test(invalid, overlong_forms_are_shown_byte_by_byte);
	tcase_add_test(invalid, surrogates_and_code_points_past_the_last_are_shown_as_hex);
	tcase_add_test(invalid, a_truncated_sequence_is_shown_and_the_next_character_kept);
	suite_add_tcase(s, invalid);

	tcase_set_timeout(props, 60);
	tcase_add_test(props, escaping_twice_changes_nothing);
	tcase_add_test(props, every_code_point_escaped_is_harmless);
	tcase_add_test(props, every_pair_of_bytes_escaped_is_harmless);
	tcase_add_test(props, escape_find_names_the_first_character_to_escape);
	tcase_add_test(props, utf8_decode_gives_length_and_code_point);
	suite_add_tcase(s, props);

	tcase_add_test(json, for_json_only_bytes_that_are_not_utf8_are_escaped);
	tcase_add_test(json, json_text_is_exact_for_utf8);
	tcase_add_test(json, json_text_of_bytes_that_are_not_utf8_is_a_valid_string);
	tcase_add_test(json, quote_for_shell_quotes_what_it_escaped);
	suite_add_tcase(s, json);
	return s;
}

UNIT_MAIN(make_suite)
