/*
 * gitbox-policy(5): the parser, its error messages, and the path rules
 * every enforcement layer relies on.
 */
#include "unit.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

#define FPR1 "0123456789ABCDEF0123456789ABCDEF01234567"
#define FPR2 "89ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define FPR5 "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"

/* DESIGN.md's example, byte for byte. */
static const char design_example[] =
	"version: 1\n"
	"name: sepsis-2026              # the experiment's name\n"
	"branch: main                   # the box's line of history\n"
	"inputs: [input/]               # read-only once the work starts\n"
	"outputs: [output/]\n"
	"signing:\n"
	"  when: seal                   # none | seal | every-commit\n"
	"  signers:                     # full fingerprints allowed to sign\n"
	"    - 0123456789ABCDEF0123456789ABCDEF01234567\n"
	"  quorum: 1                    # distinct signers needed on the seal\n"
	"timestamp:\n"
	"  when: seal                   # none | seal | every-event\n"
	"  tsa: [https://freetsa.org/tsr]   # tried in order\n"
	"  ca: .box/tsa-ca.pem          # TSA trust anchors shipped with the box\n"
	"rules:\n"
	"  max_file_size: 100MiB\n"
	"  forbid_paths: [\"**/*.pem\", \"**/.env\"]\n"
	"  forbid_content:\n"
	"    - {name: us-ssn, regex: '\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b'}\n"
	"  require_trailers: [Ticket]\n"
	"environment:\n"
	"  capture: [\"python3 -m pip freeze\"]\n";

/* Four lines that every policy needs, plus signing off; tests append to it. */
#define BASE \
	"version: 1\n" \
	"name: box\n" \
	"branch: main\n" \
	"inputs: [input/]\n" \
	"signing: {when: none}\n"

/* BASE without its signing line, and a signing mapping holding `body`. */
#define BASE_SIGNING(body) \
	"version: 1\n" \
	"name: box\n" \
	"branch: main\n" \
	"inputs: [input/]\n" \
	"signing:\n" \
	"  " body "\n"

static int is_released(const struct policy *p)
{
	return !p->version && !p->name && !p->branch &&
	       !p->inputs.items && !p->inputs.nr && !p->outputs.items &&
	       p->signing_when == SIGNING_NONE && !p->signers.items && !p->quorum &&
	       p->timestamp_when == TIMESTAMP_NONE && !p->tsa.items && !p->tsa_ca &&
	       !p->max_file_size && !p->forbid_paths.items &&
	       !p->forbid_content && !p->forbid_content_nr &&
	       !p->require_trailers.items && !p->capture.items && !p->capture_error;
}

static void parse_ok(struct policy *p, const char *yaml)
{
	box_error_clear();
	ck_assert_msg(policy_parse(p, "policy.yaml", yaml, strlen(yaml)) == 0,
		      "refused: %s\n---\n%s", box_error_last(), yaml);
}

/*
 * Parse `yaml`, expect it refused, and check that the message starts with
 * `where` ("policy.yaml:7:12: signing.quorum: ") and contains `what`.
 */
static void assert_refused_len(const char *yaml, size_t len, const char *where,
			       const char *what)
{
	struct policy p = POLICY_INIT;
	const char *msg;
	int ret;

	box_error_clear();
	ret = policy_parse(&p, "policy.yaml", yaml, len);
	if (!ret)
		policy_release(&p);
	ck_assert_msg(ret == -1, "accepted:\n%s", yaml);
	ck_assert_msg(is_released(&p), "policy not released after refusing:\n%s", yaml);
	msg = box_error_last();
	ck_assert_msg(starts_with(msg, where), "message '%s' does not start with '%s'",
		      msg, where);
	ck_assert_msg(strstr(msg, what), "message '%s' does not contain '%s'", msg, what);
}

static void assert_refused(const char *yaml, const char *where, const char *what)
{
	assert_refused_len(yaml, strlen(yaml), where, what);
}

/* ---- the complete example ---------------------------------------------- */

START_TEST(design_example_parses_with_every_field)
{
	struct policy p = POLICY_INIT;

	parse_ok(&p, design_example);
	ck_assert_int_eq(p.version, 1);
	ck_assert_str_eq(p.name, "sepsis-2026");
	ck_assert_str_eq(p.branch, "main");
	ck_assert_uint_eq(p.inputs.nr, 1);
	ck_assert_str_eq(p.inputs.items[0], "input/");
	ck_assert_uint_eq(p.outputs.nr, 1);
	ck_assert_str_eq(p.outputs.items[0], "output/");

	ck_assert_int_eq(p.signing_when, SIGNING_SEAL);
	ck_assert_uint_eq(p.signers.nr, 1);
	ck_assert_str_eq(p.signers.items[0], FPR1);
	ck_assert_int_eq(p.quorum, 1);

	ck_assert_int_eq(p.timestamp_when, TIMESTAMP_SEAL);
	ck_assert_uint_eq(p.tsa.nr, 1);
	ck_assert_str_eq(p.tsa.items[0], "https://freetsa.org/tsr");
	ck_assert_str_eq(p.tsa_ca, ".box/tsa-ca.pem");

	ck_assert_uint_eq(p.max_file_size, 100ULL * 1024 * 1024);
	ck_assert_uint_eq(p.forbid_paths.nr, 2);
	ck_assert_str_eq(p.forbid_paths.items[0], "**/*.pem");
	ck_assert_str_eq(p.forbid_paths.items[1], "**/.env");
	ck_assert_uint_eq(p.forbid_content_nr, 1);
	ck_assert_str_eq(p.forbid_content[0].name, "us-ssn");
	ck_assert_str_eq(p.forbid_content[0].pattern,
			 "\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b");
	ck_assert_uint_eq(p.require_trailers.nr, 1);
	ck_assert_str_eq(p.require_trailers.items[0], "Ticket");

	ck_assert_uint_eq(p.capture.nr, 1);
	ck_assert_str_eq(p.capture.items[0], "python3 -m pip freeze");
	policy_release(&p);
}
END_TEST

START_TEST(content_regex_is_compiled_with_gnu_word_boundaries)
{
	struct policy p = POLICY_INIT;
	const regex_t *re;

	parse_ok(&p, design_example);
	re = &p.forbid_content[0].regex;
	ck_assert_int_eq(regexec(re, "ssn 123-45-6789 here", 0, NULL, 0), 0);
	ck_assert_int_eq(regexec(re, "id x123-45-6789", 0, NULL, 0), REG_NOMATCH);
	ck_assert_int_eq(regexec(re, "1234-56-7890", 0, NULL, 0), REG_NOMATCH);
	policy_release(&p);
}
END_TEST

START_TEST(content_regex_may_hold_backslashes_that_are_no_backreference)
{
	struct policy p = POLICY_INIT;

	/* An escaped backslash, then a digit; a backslash in brackets is itself. */
	parse_ok(&p, BASE "rules:\n  forbid_content:\n"
		 "    - {name: a, regex: 'C:\\\\1'}\n"
		 "    - {name: b, regex: '[\\1]x'}\n"
		 "    - {name: c, regex: '[]\\1]y'}\n"
		 "    - {name: d, regex: '[[:digit:]\\2]z'}\n"
		 "    - {name: e, regex: '\\b\\w+\\s'}\n");
	ck_assert_uint_eq(p.forbid_content_nr, 5);
	ck_assert_int_eq(regexec(&p.forbid_content[0].regex, "C:\\1", 0, NULL, 0), 0);
	ck_assert_int_eq(regexec(&p.forbid_content[1].regex, "\\x", 0, NULL, 0), 0);
	policy_release(&p);
}
END_TEST

START_TEST(template_shaped_policy_parses)
{
	/* What 'git box init' writes from templates/policy.yaml. */
	struct policy p = POLICY_INIT;

	parse_ok(&p,
		 "# The policy of this git box: see gitbox-policy(5).\n"
		 "version: 1\n"
		 "name: demo\n"
		 "branch: main\n"
		 "inputs: [input/]\n"
		 "outputs: [output/]\n"
		 "signing:\n"
		 "  when: none\n"
		 "  signers: []\n"
		 "  quorum: 0\n"
		 "timestamp:\n"
		 "  when: none\n"
		 "  tsa: []\n"
		 "  ca: null\n"
		 "rules:\n"
		 "  max_file_size: 100MiB\n"
		 "  forbid_paths: [\"**/*.key\", \"**/.env\", \"**/id_rsa\", \"**/id_ed25519\"]\n"
		 "  forbid_content: []\n"
		 "  require_trailers: []\n"
		 "environment:\n"
		 "  capture: []\n");
	ck_assert_ptr_null(p.tsa_ca);
	ck_assert_uint_eq(p.forbid_content_nr, 0);
	ck_assert_uint_eq(p.forbid_paths.nr, 4);
	policy_release(&p);
}
END_TEST

/* ---- defaults ------------------------------------------------------------ */

START_TEST(absent_sections_take_their_defaults)
{
	struct policy p = POLICY_INIT;

	parse_ok(&p,
		 "version: 1\n"
		 "name: box\n"
		 "branch: main\n"
		 "inputs: [input/]\n"
		 "signing:\n"
		 "  signers: [" FPR1 "]\n");
	ck_assert_int_eq(p.signing_when, SIGNING_SEAL);
	ck_assert_int_eq(p.quorum, 1);
	ck_assert_int_eq(p.timestamp_when, TIMESTAMP_NONE);
	ck_assert_uint_eq(p.tsa.nr, 0);
	ck_assert_ptr_null(p.tsa_ca);
	ck_assert_uint_eq(p.outputs.nr, 0);
	ck_assert_uint_eq(p.max_file_size, 0);
	ck_assert_uint_eq(p.forbid_paths.nr, 0);
	ck_assert_uint_eq(p.forbid_content_nr, 0);
	ck_assert_uint_eq(p.require_trailers.nr, 0);
	ck_assert_uint_eq(p.capture.nr, 0);
	policy_release(&p);
}
END_TEST

START_TEST(no_signing_means_no_quorum)
{
	struct policy p = POLICY_INIT;

	parse_ok(&p, BASE);
	ck_assert_int_eq(p.signing_when, SIGNING_NONE);
	ck_assert_uint_eq(p.signers.nr, 0);
	ck_assert_int_eq(p.quorum, 0);
	policy_release(&p);

	/* Signers may be listed ahead of time; the default quorum stays 0. */
	parse_ok(&p, "version: 1\nname: box\nbranch: main\ninputs: [input/]\n"
		 "signing: {when: none, signers: [" FPR1 "]}\n");
	ck_assert_uint_eq(p.signers.nr, 1);
	ck_assert_int_eq(p.quorum, 0);
	policy_release(&p);
}
END_TEST

START_TEST(default_signing_needs_signers)
{
	/* signing.when defaults to seal, so a policy without signers is refused. */
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: [input/]\n",
		       "policy.yaml: signing.signers: ",
		       "no signers are listed but signing.when is 'seal' (the default)");
}
END_TEST

START_TEST(values_are_read_as_written)
{
	struct policy p = POLICY_INIT;

	/* No implicit typing: a plain 2026 or yes is text where text is wanted. */
	parse_ok(&p, "version: 1\nname: 2026\nbranch: yes\n"
		 "inputs: ['./in//data/', \"in/x.csv\", out/./y]\n"
		 "signing:\n"
		 "  when: every-commit\n"
		 "  signers:\n"
		 "    - '0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567'\n"
		 "    - " FPR5 "\n"
		 "    - " FPR2 "\n"
		 "  quorum: 2\n"
		 "timestamp: {when: every-event, tsa: [http://tsa.example/, HTTPS://b.example/tsr]}\n"
		 "rules: {max_file_size: 1048576, require_trailers: [Reviewed-by, Ticket]}\n");
	ck_assert_str_eq(p.name, "2026");
	ck_assert_str_eq(p.branch, "yes");
	ck_assert_uint_eq(p.inputs.nr, 3);
	ck_assert_str_eq(p.inputs.items[0], "in/data/");
	ck_assert_str_eq(p.inputs.items[1], "in/x.csv");
	ck_assert_str_eq(p.inputs.items[2], "out/y");
	ck_assert_int_eq(p.signing_when, SIGNING_EVERY_COMMIT);
	ck_assert_uint_eq(p.signers.nr, 3);
	ck_assert_str_eq(p.signers.items[0], FPR1);
	ck_assert_str_eq(p.signers.items[1], FPR5);
	ck_assert_str_eq(p.signers.items[2], FPR2);
	ck_assert_int_eq(p.quorum, 2);
	ck_assert_int_eq(p.timestamp_when, TIMESTAMP_EVERY_EVENT);
	ck_assert_uint_eq(p.tsa.nr, 2);
	ck_assert_str_eq(p.tsa.items[1], "HTTPS://b.example/tsr");
	ck_assert_uint_eq(p.max_file_size, 1048576);
	ck_assert_uint_eq(p.require_trailers.nr, 2);
	policy_release(&p);
}
END_TEST

/* ---- YAML-level refusals ------------------------------------------------- */

START_TEST(syntax_errors_have_line_and_column)
{
	assert_refused("version: 1\nname: x\n branch: main\n",
		       "policy.yaml:3:8: ", "mapping values are not allowed");
	assert_refused("version: 1\ninputs: [input/\n",
		       "policy.yaml:3:1: ", "did not find expected ',' or ']'");
	assert_refused("version: 1\nname: \xff\n",
		       "policy.yaml:2:7: ", "invalid leading UTF-8 octet");
	assert_refused_len("version: 1\nname: a\0b\n", 20,
			   "policy.yaml:2:8: ", "control characters are not allowed");
}
END_TEST

START_TEST(top_level_must_be_one_nonempty_mapping)
{
	assert_refused("", "policy.yaml:1:1: ", "the policy is empty");
	assert_refused("# nothing but a comment\n", "policy.yaml:1:1: ", "the policy is empty");
	assert_refused("---\n", "policy.yaml:1:1: ", "the policy is empty");
	assert_refused("- version: 1\n", "policy.yaml:1:1: ",
		       "expected a mapping at the top level, got a sequence");
	assert_refused("just text\n", "policy.yaml:1:1: ",
		       "expected a mapping at the top level, got the string 'just text'");
	assert_refused(BASE "---\nversion: 1\n", "policy.yaml:6:1: ",
		       "a second YAML document");
}
END_TEST

START_TEST(anchors_and_aliases_are_refused)
{
	assert_refused("version: 1\nname: &n box\nbranch: main\ninputs: [input/]\n",
		       "policy.yaml:2:7: name: ", "aliases are not allowed (found '&n')");
	assert_refused("version: 1\nname: box\nbranch: main\n"
		       "inputs: &i [input/]\noutputs: *i\n",
		       "policy.yaml:4:9: inputs: ", "aliases are not allowed");
	assert_refused(BASE "rules:\n  forbid_paths:\n    - &g '*.pem'\n",
		       "policy.yaml:8:7: rules.forbid_paths[0]: ",
		       "aliases are not allowed");
	/* An alias to nothing is a YAML error in its own right. */
	assert_refused(BASE "outputs: *nowhere\n", "policy.yaml:6:10: ",
		       "undefined alias");
}
END_TEST

START_TEST(tags_are_refused)
{
	assert_refused("version: !!int 1\n", "policy.yaml:1:10: version: ",
		       "tags are not allowed (found '!!int')");
	assert_refused("version: 1\nname: !!str box\n", "policy.yaml:2:7: name: ",
		       "tags are not allowed (found '!!str')");
	assert_refused(BASE "rules: !custom {}\n", "policy.yaml:6:8: rules: ",
		       "tags are not allowed (found '!custom')");
	assert_refused("!!map\nversion: 1\n", "policy.yaml:1:1: ",
		       "tags are not allowed");
}
END_TEST

START_TEST(unknown_keys_are_refused_with_their_path)
{
	assert_refused(BASE "colour: blue\n", "policy.yaml:6:1: colour: ",
		       "unknown key 'colour'");
	assert_refused(BASE "rules:\n  max_size: 1MiB\n", "policy.yaml:7:3: rules.max_size: ",
		       "unknown key 'max_size' (expected one of: max_file_size, ");
	assert_refused(BASE "rules:\n  forbid_content:\n    - {name: a, regex: b, flags: i}\n",
		       "policy.yaml:8:27: rules.forbid_content[0].flags: ",
		       "unknown key 'flags'");
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: [input/]\n"
		       "signing: {when: none, quorom: 1}\n",
		       "policy.yaml:5:23: signing.quorom: ", "unknown key 'quorom'");
	assert_refused(BASE "environment: {captures: []}\n",
		       "policy.yaml:6:15: environment.captures: ", "unknown key 'captures'");
	assert_refused(BASE "[a]: 1\n", "policy.yaml:6:1: ",
		       "keys must be strings, got a sequence");
}
END_TEST

START_TEST(duplicate_keys_are_refused)
{
	assert_refused(BASE "name: again\n", "policy.yaml:6:1: name: ",
		       "duplicate key 'name' (first at line 2, column 1)");
	assert_refused(BASE "timestamp:\n  when: none\n  when: seal\n",
		       "policy.yaml:8:3: timestamp.when: ", "duplicate key 'when'");
	assert_refused(BASE "rules:\n  forbid_content:\n    - {name: a, regex: b, name: c}\n",
		       "policy.yaml:8:27: rules.forbid_content[0].name: ",
		       "duplicate key 'name' (first at line 8, column 8)");
}
END_TEST

START_TEST(wrong_types_name_expected_and_found)
{
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: input/\n",
		       "policy.yaml:4:9: inputs: ",
		       "expected a sequence, got the string 'input/'");
	assert_refused("version: 1\nname: [a]\n", "policy.yaml:2:7: name: ",
		       "expected a string, got a sequence");
	assert_refused("version: 1\nname:\nbranch: main\n", "policy.yaml:2:6: name: ",
		       "expected a string, got null");
	assert_refused("version: 1\nname: ~\n", "policy.yaml:2:7: name: ",
		       "expected a string, got null");
	assert_refused("version: 1\nname: box\nbranch: {a: b}\n", "policy.yaml:3:9: branch: ",
		       "expected a string, got a mapping");
	assert_refused(BASE "rules: 5\n", "policy.yaml:6:8: rules: ",
		       "expected a mapping, got the integer 5");
	assert_refused(BASE "timestamp: [seal]\n", "policy.yaml:6:12: timestamp: ",
		       "expected a mapping, got a sequence");
	assert_refused(BASE "outputs: [[a]]\n", "policy.yaml:6:11: outputs[0]: ",
		       "expected a string, got a sequence");
	assert_refused(BASE "rules:\n  forbid_content: [us-ssn]\n",
		       "policy.yaml:7:20: rules.forbid_content[0]: ",
		       "expected a mapping, got the string 'us-ssn'");
	assert_refused(BASE "environment:\n  capture: pip freeze\n",
		       "policy.yaml:7:12: environment.capture: ",
		       "expected a sequence, got the string 'pip freeze'");
	assert_refused("version: 1\nname: \"a\\0b\"\n", "policy.yaml:2:7: name: ",
		       "contains a NUL character");
}
END_TEST

/* ---- integers ------------------------------------------------------------ */

START_TEST(integers_are_plain_unsigned_decimal)
{
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: [input/]\n"
		       "signing:\n  when: seal\n  quorum: two\n",
		       "policy.yaml:7:11: signing.quorum: ", "expected an integer, got 'two'");
	assert_refused("version: \"1\"\n", "policy.yaml:1:10: version: ",
		       "expected an integer, got the quoted string '1'");
	assert_refused("version: '1'\n", "policy.yaml:1:10: version: ",
		       "expected an integer, got the quoted string '1'");
	assert_refused("version: -1\n", "policy.yaml:1:10: version: ",
		       "expected an integer without a sign, got '-1'");
	assert_refused("version: +1\n", "policy.yaml:1:10: version: ",
		       "expected an integer without a sign, got '+1'");
	assert_refused("version: 0x1\n", "policy.yaml:1:10: version: ",
		       "expected an integer, got '0x1'");
	assert_refused("version: 1.0\n", "policy.yaml:1:10: version: ",
		       "expected an integer, got '1.0'");
	assert_refused("version: 01\n", "policy.yaml:1:10: version: ",
		       "leading zeros are not allowed");
	assert_refused("version: 99999999999999999999\n", "policy.yaml:1:10: version: ",
		       "integer '99999999999999999999' is too large");
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: [input/]\n"
		       "signing: {when: none, quorum: 2147483648}\n",
		       "policy.yaml:5:31: signing.quorum: ", "is too large");
	assert_refused("version: 2\n", "policy.yaml:1:10: version: ",
		       "unsupported version 2 (this git box reads version 1)");
	assert_refused("version: 0\n", "policy.yaml:1:10: version: ", "unsupported version 0");
}
END_TEST

/* ---- required keys and scalar fields --------------------------------------- */

START_TEST(required_keys_are_named)
{
	assert_refused("name: box\nbranch: main\ninputs: [input/]\n",
		       "policy.yaml:1:1: version: ", "required key is missing");
	assert_refused("version: 1\nbranch: main\ninputs: [input/]\n",
		       "policy.yaml:1:1: name: ", "required key is missing");
	assert_refused("version: 1\nname: box\ninputs: [input/]\n",
		       "policy.yaml:1:1: branch: ", "required key is missing");
	assert_refused("version: 1\nname: box\nbranch: main\n",
		       "policy.yaml:1:1: inputs: ", "required key is missing");
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: []\n",
		       "policy.yaml:4:9: inputs: ", "at least one input is required");
	assert_refused("version: 1\nname: ''\n", "policy.yaml:2:7: name: ", "must not be empty");
}
END_TEST

START_TEST(branch_names_follow_git)
{
	static const char *const bad[][2] = {
		{ "'my branch'", "contains a space" },
		{ "a..b", "contains '..'" },
		{ "-x", "starts with '-'" },
		{ "/x", "starts with '/'" },
		{ "x/", "ends with '/'" },
		{ "main.lock", "ending in '.lock'" },
		{ "a.lock/b", "ending in '.lock'" },
		{ "\"a\\tb\"", "control character" },
		{ "a~1", "contains one of ~ ^ : ? * [ \\" },
		{ "a//b", "contains '//'" },
		{ "x/.hidden", "starting with '.'" },
		{ "HEAD", "reserved" },
		{ "''", "is empty" },
	};
	struct policy p = POLICY_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *yaml = xstrfmt("version: 1\nname: box\nbranch: %s\n", bad[i][0]);

		assert_refused(yaml, "policy.yaml:3:9: branch: ", bad[i][1]);
		free(yaml);
	}
	parse_ok(&p, "version: 1\nname: box\nbranch: box/sepsis-2026_v1\n"
		 "inputs: [input/]\nsigning: {when: none}\n");
	ck_assert_str_eq(p.branch, "box/sepsis-2026_v1");
	policy_release(&p);
}
END_TEST

/* ---- paths --------------------------------------------------------------- */

START_TEST(listed_paths_are_normalised_or_refused)
{
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: [../x]\n",
		       "policy.yaml:4:10: inputs[0]: ", "'../x' contains '..'");
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: [in/, /etc/]\n",
		       "policy.yaml:4:15: inputs[1]: ", "'/etc/' is an absolute path");
	assert_refused(BASE "outputs: [.git/hooks/]\n",
		       "policy.yaml:6:11: outputs[0]: ", "is inside .git");
	assert_refused(BASE "outputs: ['']\n", "policy.yaml:6:11: outputs[0]: ", "empty path");
	assert_refused(BASE "outputs: ['a\\b']\n", "policy.yaml:6:11: outputs[0]: ",
		       "contains a backslash");
	assert_refused(BASE "outputs: [\"a\\nb\"]\n", "policy.yaml:6:11: outputs[0]: ",
		       "'a\\nb' contains a control character");
	assert_refused(BASE "outputs: [./]\n", "policy.yaml:6:11: outputs[0]: ",
		       "names the top of the repository");
}
END_TEST

START_TEST(the_box_folder_is_neither_input_nor_output)
{
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: [.box/]\n"
		       "signing: {when: none}\n",
		       "policy.yaml:4:10: inputs[0]: ", "'.box/' is inside .box/");
	assert_refused(BASE "outputs: [./.box/policy.yaml]\n",
		       "policy.yaml:6:11: outputs[0]: ", "'.box/policy.yaml' is inside .box/");
	assert_refused(BASE "outputs: [.BOX/x]\n",
		       "policy.yaml:6:11: outputs[0]: ", "is inside .box/");
}
END_TEST

START_TEST(overlapping_paths_are_refused)
{
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: [input/]\n"
		       "outputs: [input/a.csv]\nsigning: {when: none}\n",
		       "policy.yaml:5:11: outputs[0]: ",
		       "'input/a.csv' overlaps inputs[0] 'input/'");
	assert_refused("version: 1\nname: box\nbranch: main\n"
		       "inputs: [data/raw/x.csv, data/]\nsigning: {when: none}\n",
		       "policy.yaml:4:26: inputs[1]: ",
		       "'data/' overlaps inputs[0] 'data/raw/x.csv'");
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: [a, b, ./a]\n"
		       "signing: {when: none}\n",
		       "policy.yaml:4:16: inputs[2]: ", "'a' is also listed as inputs[0]");
	assert_refused("version: 1\nname: box\nbranch: main\ninputs: [results]\n"
		       "outputs: [results/]\nsigning: {when: none}\n",
		       "policy.yaml:5:11: outputs[0]: ", "is also listed as inputs[0]");
}
END_TEST

START_TEST(neighbouring_paths_do_not_overlap)
{
	struct policy p = POLICY_INIT;

	parse_ok(&p, "version: 1\nname: box\nbranch: main\n"
		 "inputs: [in/, in.csv, in-2/, input/]\noutputs: [inputs/, out/]\n"
		 "signing: {when: none}\n");
	ck_assert_uint_eq(p.inputs.nr, 4);
	ck_assert_uint_eq(p.outputs.nr, 2);
	policy_release(&p);
}
END_TEST

/* ---- signing ------------------------------------------------------------- */

START_TEST(signing_fields_are_checked)
{
	assert_refused(BASE_SIGNING("when: always"),
		       "policy.yaml:6:9: signing.when: ",
		       "expected one of none, seal, every-commit, got 'always'");
	assert_refused(BASE_SIGNING("signers: [ABCDEF01]"),
		       "policy.yaml:6:13: signing.signers[0]: ",
		       "'ABCDEF01' is not a full fingerprint: expected 40 (v4) or 64 (v5) "
		       "hex digits, got 8");
	assert_refused(BASE_SIGNING("signers: [0x0123456789ABCDEF0123456789ABCDEF01234567]"),
		       "policy.yaml:6:13: signing.signers[0]: ", "'x' is not a hex digit");
	assert_refused(BASE_SIGNING("signers: [" FPR1 ", '" "0123456789abcdef0123456789abcdef01234567" "']"),
		       "policy.yaml:6:55: signing.signers[1]: ",
		       "fingerprint " FPR1 " is listed twice");
	assert_refused(BASE_SIGNING("signers: [" FPR1 ", " FPR2 "]\n  quorum: 3"),
		       "policy.yaml:7:11: signing.quorum: ",
		       "3 is more than the 2 signers listed");
	assert_refused(BASE_SIGNING("signers: [" FPR1 "]\n  quorum: 0"),
		       "policy.yaml:7:11: signing.quorum: ",
		       "must be at least 1 when signing.when is 'seal'");
	assert_refused(BASE_SIGNING("when: none\n  quorum: 1"),
		       "policy.yaml:7:11: signing.quorum: ",
		       "must be 0 or absent when signing.when is 'none'");
	assert_refused(BASE_SIGNING("when: every-commit\n  signers: []"),
		       "policy.yaml:7:12: signing.signers: ",
		       "no signers are listed but signing.when is 'every-commit'");
}
END_TEST

/* ---- timestamp ----------------------------------------------------------- */

START_TEST(timestamp_fields_are_checked)
{
	struct policy p = POLICY_INIT;

	assert_refused(BASE "timestamp:\n  when: sometimes\n",
		       "policy.yaml:7:9: timestamp.when: ",
		       "expected one of none, seal, every-event, got 'sometimes'");
	assert_refused(BASE "timestamp:\n  when: seal\n",
		       "policy.yaml:7:9: timestamp.tsa: ",
		       "no TSA is listed but timestamp.when is 'seal'");
	assert_refused(BASE "timestamp:\n  when: seal\n  tsa: []\n",
		       "policy.yaml:8:8: timestamp.tsa: ", "no TSA is listed");
	assert_refused(BASE "timestamp:\n  tsa: [ftp://tsa.example/]\n",
		       "policy.yaml:7:9: timestamp.tsa[0]: ",
		       "'ftp://tsa.example/' is not an http:// or https:// URL");
	assert_refused(BASE "timestamp:\n  tsa: ['https://']\n",
		       "policy.yaml:7:9: timestamp.tsa[0]: ", "is not a valid URL");
	assert_refused(BASE "timestamp:\n  tsa: ['']\n",
		       "policy.yaml:7:9: timestamp.tsa[0]: ", "is not a valid URL");
	/* The URL is committed and printed: no password in it, nor in the message. */
	assert_refused(BASE "timestamp:\n  tsa: [https://tsa.example/, 'https://u:s3cr3t@tsa.example/']\n",
		       "policy.yaml:7:31: timestamp.tsa[1]: ",
		       "'https://tsa.example/' has a user name or a password in it");
	ck_assert(!strstr(box_error_last(), "s3cr3t"));
	assert_refused(BASE "timestamp:\n  tsa: [\"https://u:s3cr3t\\t@tsa.example/\"]\n",
		       "policy.yaml:7:9: timestamp.tsa[0]: ",
		       "'https://tsa.example/' is not a valid URL: it holds a blank or a control character");
	assert_refused(BASE "timestamp:\n  ca: /etc/ssl/ca.pem\n",
		       "policy.yaml:7:7: timestamp.ca: ", "is an absolute path");
	assert_refused(BASE "timestamp:\n  ca: certs/\n",
		       "policy.yaml:7:7: timestamp.ca: ", "names a folder");
	assert_refused(BASE "timestamp:\n  ca: [a.pem]\n",
		       "policy.yaml:7:7: timestamp.ca: ", "expected a string, got a sequence");

	parse_ok(&p, BASE "timestamp:\n  ca: ~\n");
	ck_assert_ptr_null(p.tsa_ca);
	policy_release(&p);
	parse_ok(&p, BASE "timestamp:\n  ca: ./.box//tsa.pem\n");
	ck_assert_str_eq(p.tsa_ca, ".box/tsa.pem");
	policy_release(&p);
}
END_TEST

/* ---- rules --------------------------------------------------------------- */

START_TEST(rules_fields_are_checked)
{
	assert_refused(BASE "rules:\n  max_file_size: 1.5GiB\n",
		       "policy.yaml:7:18: rules.max_file_size: ", "'1.5GiB' is not a whole number");
	assert_refused(BASE "rules:\n  max_file_size: -1\n",
		       "policy.yaml:7:18: rules.max_file_size: ", "'-1' is negative");
	assert_refused(BASE "rules:\n  max_file_size: 10XB\n",
		       "policy.yaml:7:18: rules.max_file_size: ", "unknown unit 'XB'");
	assert_refused(BASE "rules:\n  max_file_size: {MiB: 1}\n",
		       "policy.yaml:7:18: rules.max_file_size: ",
		       "expected a size like 100MiB or an integer count of bytes, got a mapping");
	assert_refused(BASE "rules:\n  forbid_paths: ['']\n",
		       "policy.yaml:7:18: rules.forbid_paths[0]: ", "must not be empty");
	assert_refused(BASE "rules:\n  forbid_content:\n    - {name: a}\n",
		       "policy.yaml:8:7: rules.forbid_content[0].regex: ",
		       "required key is missing");
	assert_refused(BASE "rules:\n  forbid_content:\n    - {regex: x}\n",
		       "policy.yaml:8:7: rules.forbid_content[0].name: ",
		       "required key is missing");
	assert_refused(BASE "rules:\n  forbid_content:\n"
		       "    - {name: a, regex: x}\n"
		       "    - {name: b, regex: '[0-9'}\n",
		       "policy.yaml:9:24: rules.forbid_content[1].regex: ",
		       "invalid regular expression '[0-9': Unmatched [");
	assert_refused(BASE "rules:\n  forbid_content:\n    - {name: a, regex: ''}\n",
		       "policy.yaml:8:24: rules.forbid_content[0].regex: ", "must not be empty");
	/* Matching a backreference takes time exponential in the line. */
	assert_refused(BASE "rules:\n  forbid_content:\n    - {name: a, regex: '(a*)(a*)\\2\\1c'}\n",
		       "policy.yaml:8:24: rules.forbid_content[0].regex: ",
		       "'(a*)(a*)\\2\\1c' uses a backreference (\\1 to \\9)");
	assert_refused(BASE "rules:\n  forbid_content:\n    - {name: a, regex: '[[:digit:]](x)\\1'}\n",
		       "policy.yaml:8:24: rules.forbid_content[0].regex: ", "uses a backreference");
	assert_refused(BASE "rules:\n  forbid_content:\n"
		       "    - {name: a, regex: x}\n    - {name: a, regex: y}\n",
		       "policy.yaml:9:14: rules.forbid_content[1].name: ",
		       "rule name 'a' is used twice");
	assert_refused(BASE "rules:\n  require_trailers: [Signed off]\n",
		       "policy.yaml:7:22: rules.require_trailers[0]: ",
		       "'Signed off' is not a trailer token");
	assert_refused(BASE "rules:\n  require_trailers: ['Ticket:']\n",
		       "policy.yaml:7:22: rules.require_trailers[0]: ", "is not a trailer token");
}
END_TEST

START_TEST(sizes_in_the_policy)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} ok[] = {
		{ "0", 0 },
		{ "4096", 4096 },
		{ "'4096'", 4096 },
		{ "100 MiB", 100ULL << 20 },
		{ "2GB", 2000000000ULL },
	};
	struct policy p = POLICY_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char *yaml = xstrfmt(BASE "rules: {max_file_size: %s}\n", ok[i].text);

		parse_ok(&p, yaml);
		ck_assert_uint_eq(p.max_file_size, ok[i].bytes);
		policy_release(&p);
		free(yaml);
	}
}
END_TEST

START_TEST(size_strings)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} ok[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "100B", 100 },
		{ "100 B", 100 },
		{ "1KiB", 1024 },
		{ "100MiB", 100ULL * 1024 * 1024 },
		{ "3GiB", 3ULL << 30 },
		{ "2TiB", 2ULL << 40 },
		{ "1KB", 1000 },
		{ "5 MB", 5000000 },
		{ "7GB", 7000000000ULL },
		{ "1TB", 1000000000000ULL },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215TiB", 16777215ULL << 40 },
	};
	static const char *const bad[][2] = {
		{ "", "is not a size" },
		{ "MiB", "is not a size" },
		{ " 1MiB", "is not a size" },
		{ "+1", "is not a size" },
		{ "-1", "is negative" },
		{ "-1MiB", "is negative" },
		{ "1.5GiB", "is not a whole number" },
		{ "1,5MB", "is not a whole number" },
		{ "010", "leading zeros" },
		{ "10XB", "unknown unit 'XB'" },
		{ "10mib", "unknown unit 'mib'" },
		{ "10  MiB", "unknown unit ' MiB'" },
		{ "10MiB ", "unknown unit 'MiB '" },
		{ "10 ", "unknown unit ''" },
		{ "18446744073709551616", "is too large" },
		{ "16777216TiB", "is too large" },
		{ "99999999999999999999999", "is too large" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t v = 42;

		ck_assert_msg(policy_parse_size(&v, ok[i].text) == 0, "'%s' refused: %s",
			      ok[i].text, box_error_last());
		ck_assert_msg(v == ok[i].bytes, "'%s' gave %llu", ok[i].text,
			      (unsigned long long)v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 42;

		box_error_clear();
		ck_assert_msg(policy_parse_size(&v, bad[i][0]) == -1, "'%s' accepted", bad[i][0]);
		ck_assert_msg(v == 42, "'%s' changed the output on failure", bad[i][0]);
		ck_assert_msg(strstr(box_error_last(), bad[i][1]), "'%s': '%s' lacks '%s'",
			      bad[i][0], box_error_last(), bad[i][1]);
	}
}
END_TEST

/* ---- environment --------------------------------------------------------- */

START_TEST(capture_commands_are_single_lines)
{
	assert_refused(BASE "environment:\n  capture: [\"pip freeze\\nrm -rf /\"]\n",
		       "policy.yaml:7:13: environment.capture[0]: ",
		       "contains a control character");
	assert_refused(BASE "environment:\n  capture: ['']\n",
		       "policy.yaml:7:13: environment.capture[0]: ", "must not be empty");
}
END_TEST

START_TEST(capture_names_built_in_probes)
{
	struct policy p = POLICY_INIT;

	parse_ok(&p, BASE "environment:\n  capture: [pip, conda, r, julia, python3 -m pip freeze,"
		 " conda list --export]\n");
	ck_assert_uint_eq(p.capture.nr, 6);
	ck_assert_str_eq(p.capture.items[4], "python3 -m pip freeze");
	ck_assert_int_eq(policy_check_capture(&p), 0);
	policy_release(&p);
	parse_ok(&p, BASE "environment:\n  capture: []\n");
	ck_assert_int_eq(policy_check_capture(&p), 0);
	policy_release(&p);
}
END_TEST

/* Parsed, kept as written, and refused by policy_check_capture() at its place. */
static void assert_not_a_probe(const char *entry, const char *where)
{
	struct policy p = POLICY_INIT;
	char *yaml = xstrfmt(BASE "environment:\n  capture:\n    - pip\n    - %s\n", entry);

	parse_ok(&p, yaml);
	ck_assert_uint_eq(p.capture.nr, 2);
	box_error_clear();
	ck_assert_int_eq(policy_check_capture(&p), -1);
	ck_assert_msg(starts_with(box_error_last(), where), "'%s' does not start with '%s'",
		      box_error_last(), where);
	ck_assert_msg(strstr(box_error_last(), "is not a built-in probe (pip, conda, r, julia); "
			     "git box runs no program that a repository names"), "%s", box_error_last());
	/* It says so again, as often as asked. */
	ck_assert_int_eq(policy_check_capture(&p), -1);
	policy_release(&p);
	ck_assert(is_released(&p));
	free(yaml);
}

START_TEST(capture_commands_parse_but_are_refused)
{
	const char *where = "policy.yaml:9:7: environment.capture[1]: ";

	assert_not_a_probe("\"sh -c 'touch /tmp/x'\"", where);
	assert_not_a_probe("/usr/bin/python3 -m pip freeze", where);
	assert_not_a_probe("./tools/freeze.sh", where);
	assert_not_a_probe("python3 -m pip freeze --path .", where);
	assert_not_a_probe("python3  -m pip freeze", where);
	assert_not_a_probe("PIP", where);
	assert_not_a_probe("pipx", where);
	/* Always recorded, so never a capture. */
	assert_not_a_probe("git", where);
	assert_not_a_probe("uname -a", where);
}
END_TEST

START_TEST(capture_of_a_policy_built_in_code_is_checked_too)
{
	struct policy p = POLICY_INIT;

	strlist_add(&p.capture, "r");
	ck_assert_int_eq(policy_check_capture(&p), 0);
	strlist_add(&p.capture, "make env");
	ck_assert_int_eq(policy_check_capture(&p), -1);
	ck_assert_msg(starts_with(box_error_last(), "environment.capture[1]: 'make env' is not a built-in probe"),
		      "%s", box_error_last());
	policy_release(&p);
}
END_TEST

/* ---- validate on its own ------------------------------------------------- */

START_TEST(validate_without_a_document_has_no_position)
{
	struct policy p = POLICY_INIT;

	p.version = 1;
	p.name = xstrdup("box");
	p.branch = xstrdup("main");
	strlist_add(&p.inputs, "input/");
	p.signing_when = SIGNING_SEAL;
	strlist_add(&p.signers, FPR1);
	strlist_add(&p.signers, FPR2);
	p.quorum = 3;
	ck_assert_int_eq(policy_validate(&p, "init"), -1);
	ck_assert_str_eq(box_error_last(),
			 "init: signing.quorum: 3 is more than the 2 signers listed");

	p.quorum = 2;
	ck_assert_int_eq(policy_validate(&p, "init"), 0);

	strlist_add(&p.outputs, "input/sub/");
	ck_assert_int_eq(policy_validate(&p, "init"), -1);
	ck_assert_str_eq(box_error_last(),
			 "init: outputs[0]: 'input/sub/' overlaps inputs[0] 'input/'");
	strlist_release(&p.outputs);

	p.timestamp_when = TIMESTAMP_SEAL;
	ck_assert_int_eq(policy_validate(&p, "init"), -1);
	ck_assert_msg(starts_with(box_error_last(), "init: timestamp.tsa: no TSA is listed"),
		      "%s", box_error_last());
	strlist_add(&p.tsa, "https://tsa.example/");
	ck_assert_int_eq(policy_validate(&p, "init"), 0);

	p.signing_when = SIGNING_NONE;
	ck_assert_int_eq(policy_validate(&p, "init"), -1);
	ck_assert_msg(strstr(box_error_last(), "must be 0 or absent"), "%s", box_error_last());
	policy_release(&p);
}
END_TEST

/* ---- path helpers -------------------------------------------------------- */

START_TEST(normalise_path)
{
	static const struct {
		const char *in;
		int folder;
		const char *out;
	} ok[] = {
		{ "a", 0, "a" },
		{ "./a//b/", 1, "a/b/" },
		{ "a/./b", 0, "a/b" },
		{ "a/b", 1, "a/b/" },
		{ "a/b/", 0, "a/b" },
		{ "input///", 1, "input/" },
		{ ".gitignore", 0, ".gitignore" },
		{ "a/.github/x", 0, "a/.github/x" },
		{ "...", 0, "..." },
		{ "..a", 0, "..a" },
		{ ".box/policy.yaml", 0, ".box/policy.yaml" },
	};
	static const char *const bad[][2] = {
		{ "", "empty path" },
		{ "../x", "contains '..'" },
		{ "a/../b", "contains '..'" },
		{ "a/..", "contains '..'" },
		{ "/abs", "is an absolute path" },
		{ ".git", "is inside .git" },
		{ ".git/x", "is inside .git" },
		{ "a/.git/config", "is inside .git" },
		{ ".GIT/x", "is inside .git" },
		{ ".", "names the top of the repository" },
		{ "./", "names the top of the repository" },
		{ "a\\b", "contains a backslash" },
		{ "a\tb", "'a\\tb' contains a control character" },
		{ "a\x7f", "contains a control character" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char *got = policy_normalise_path(ok[i].in, ok[i].folder);

		ck_assert_msg(got, "'%s' refused: %s", ok[i].in, box_error_last());
		ck_assert_str_eq(got, ok[i].out);
		free(got);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *got = policy_normalise_path(bad[i][0], 0);

		ck_assert_msg(!got, "'%s' accepted as '%s'", bad[i][0], got);
		ck_assert_msg(strstr(box_error_last(), bad[i][1]), "'%s': '%s' lacks '%s'",
			      bad[i][0], box_error_last(), bad[i][1]);
	}
}
END_TEST

START_TEST(paths_overlap_rules)
{
	ck_assert(paths_overlap("input/", "input/a.csv"));
	ck_assert(paths_overlap("input/a.csv", "input/"));
	ck_assert(paths_overlap("input/", "input/"));
	ck_assert(paths_overlap("a.csv", "a.csv"));
	ck_assert(paths_overlap("a/", "a/b/c/"));
	ck_assert(paths_overlap("results", "results/"));
	ck_assert(paths_overlap("data", "data/x"));
	ck_assert(!paths_overlap("in/", "input/"));
	ck_assert(!paths_overlap("input/", "inputs/x"));
	ck_assert(!paths_overlap("a.csv", "a.csv.bak"));
	ck_assert(!paths_overlap("a/b", "a/c"));
	ck_assert(!paths_overlap("in-2/", "in/"));
}
END_TEST

START_TEST(classify_paths)
{
	struct policy p = POLICY_INIT;

	parse_ok(&p, "version: 1\nname: box\nbranch: main\n"
		 "inputs: [input/, ref/genome.fa]\noutputs: [output/]\n"
		 "signing: {when: none}\n");
	ck_assert(policy_is_input(&p, "input/a.csv"));
	ck_assert(policy_is_input(&p, "input/a/b.csv"));
	ck_assert(policy_is_input(&p, "input"));
	ck_assert(policy_is_input(&p, "input/"));
	ck_assert(policy_is_input(&p, "ref/genome.fa"));
	ck_assert(!policy_is_input(&p, "inputs/x"));
	ck_assert(!policy_is_input(&p, "inputx"));
	ck_assert(!policy_is_input(&p, "ref/genome.fa.fai"));
	ck_assert(!policy_is_input(&p, "ref/other.fa"));
	ck_assert(!policy_is_input(&p, "output/r.csv"));

	ck_assert(policy_is_output(&p, "output/r.csv"));
	ck_assert(!policy_is_output(&p, "input/a.csv"));
	ck_assert(!policy_is_output(&p, "outputs/r.csv"));

	ck_assert(policy_is_protected(&p, "input/a.csv"));
	ck_assert(policy_is_protected(&p, "ref/genome.fa"));
	ck_assert(policy_is_protected(&p, POLICY_PATH));
	ck_assert(policy_is_protected(&p, ".box/policy.yaml"));
	ck_assert(!policy_is_protected(&p, ".box/other"));
	ck_assert(!policy_is_protected(&p, "output/r.csv"));
	ck_assert(!policy_is_protected(&p, "src/analysis.py"));
	policy_release(&p);
}
END_TEST

START_TEST(when_names)
{
	ck_assert_str_eq(signing_when_name(SIGNING_NONE), "none");
	ck_assert_str_eq(signing_when_name(SIGNING_SEAL), "seal");
	ck_assert_str_eq(signing_when_name(SIGNING_EVERY_COMMIT), "every-commit");
	ck_assert_str_eq(timestamp_when_name(TIMESTAMP_NONE), "none");
	ck_assert_str_eq(timestamp_when_name(TIMESTAMP_SEAL), "seal");
	ck_assert_str_eq(timestamp_when_name(TIMESTAMP_EVERY_EVENT), "every-event");
}
END_TEST

/* ---- lifetime and files -------------------------------------------------- */

START_TEST(release_is_idempotent)
{
	struct policy p = POLICY_INIT;

	policy_release(&p);
	ck_assert(is_released(&p));
	parse_ok(&p, design_example);
	policy_release(&p);
	ck_assert(is_released(&p));
	policy_release(&p);
	ck_assert(is_released(&p));
}
END_TEST

START_TEST(a_refused_policy_leaves_nothing_behind)
{
	/* Fails after every section has allocated: the last check of all. */
	struct policy p = POLICY_INIT;
	const char *yaml =
		"version: 1\nname: box\nbranch: main\ninputs: [input/]\noutputs: [out/]\n"
		"signing: {signers: [" FPR1 "]}\n"
		"rules: {forbid_paths: ['*.pem'], require_trailers: [Ticket],\n"
		"        forbid_content: [{name: a, regex: 'x+'}]}\n"
		"environment: {capture: [uname -a]}\n"
		"timestamp: {when: seal, ca: ca.pem}\n";

	ck_assert_int_eq(policy_parse(&p, "policy.yaml", yaml, strlen(yaml)), -1);
	ck_assert(is_released(&p));
	ck_assert_msg(strstr(box_error_last(), "timestamp.tsa"), "%s", box_error_last());
}
END_TEST

START_TEST(load_file_names_the_file)
{
	char dir[] = "/tmp/test-policy-XXXXXX";
	char *good, *bad, *big;
	struct policy p = POLICY_INIT;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	good = xstrfmt("%s/policy.yaml", dir);
	bad = xstrfmt("%s/bad.yaml", dir);
	big = xstrfmt("%s/big.yaml", dir);

	f = fopen(good, "w");
	fputs(design_example, f);
	fclose(f);
	ck_assert_int_eq(policy_load_file(&p, good), 0);
	ck_assert_str_eq(p.name, "sepsis-2026");
	policy_release(&p);

	f = fopen(bad, "w");
	fputs("version: 1\nname: box\nbranch: main\ninputs: [input/]\nmystery: 1\n", f);
	fclose(f);
	ck_assert_int_eq(policy_load_file(&p, bad), -1);
	ck_assert(is_released(&p));
	ck_assert_msg(strstr(box_error_last(), ":5:1: mystery: unknown key 'mystery'") &&
		      starts_with(box_error_last(), bad), "%s", box_error_last());

	f = fopen(big, "w");
	fputs(BASE, f);
	for (int i = 0; i < 1024 * 1024 / 16; i++)
		fputs("# padding......\n", f);
	fclose(f);
	ck_assert_int_eq(policy_load_file(&p, big), -1);
	ck_assert_msg(strstr(box_error_last(), "is larger than 1048576 bytes"), "%s",
		      box_error_last());

	ck_assert_int_eq(policy_load_file(&p, "/nonexistent/policy.yaml"), -1);
	ck_assert_msg(strstr(box_error_last(), "cannot open '/nonexistent/policy.yaml'"),
		      "%s", box_error_last());

	unlink(good);
	unlink(bad);
	unlink(big);
	rmdir(dir);
	free(good);
	free(bad);
	free(big);
}
END_TEST

/* Nested `depth` levels below the top mapping, under outputs. */
static char *nested(size_t depth, const char *open, const char *inner, const char *close)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "version: 1\nname: box\nbranch: main\ninputs: [input/]\noutputs: ");
	for (size_t i = 0; i < depth; i++)
		buf_adds(&b, open);
	buf_adds(&b, inner);
	for (size_t i = 0; i < depth; i++)
		buf_adds(&b, close);
	buf_addch(&b, '\n');
	return buf_detach(&b);
}

START_TEST(nesting_is_capped_before_loading)
{
	char *yaml;

	/* The top mapping is the first level: 31 more is the cap. */
	yaml = nested(POLICY_MAX_DEPTH - 1, "[", "", "]");
	assert_refused(yaml, "policy.yaml:5:11: outputs[0]: ", "expected a string, got a sequence");
	free(yaml);
	yaml = nested(POLICY_MAX_DEPTH, "[", "", "]");
	assert_refused(yaml, "policy.yaml:5:41: ", "the policy nests deeper than 32 levels");
	free(yaml);
	yaml = nested(POLICY_MAX_DEPTH, "{a: ", "b", "}");
	assert_refused(yaml, "policy.yaml:5:134: ", "the policy nests deeper than 32 levels");
	free(yaml);
	/* Far past it, the answer is the same and comes as fast. */
	yaml = nested(100000, "[", "", "]");
	assert_refused(yaml, "policy.yaml:5:41: ", "the policy nests deeper than 32 levels");
	free(yaml);
	/* A syntax error found on the way is reported as the loader would. */
	assert_refused(BASE "outputs: [a, b\n", "policy.yaml:7:1: ",
		       "did not find expected ',' or ']' (while parsing a flow sequence at line 6, column 10)");
}
END_TEST

START_TEST(values_are_capped_before_loading)
{
	struct buf b = BUF_INIT;
	struct policy p = POLICY_INIT;
	/* BASE and "rules: {forbid_paths: [...]}" hold 18 values. */
	size_t n = POLICY_MAX_NODES - 18;

	buf_adds(&b, BASE "rules: {forbid_paths: [");
	for (size_t i = 0; i < n; i++)
		buf_adds(&b, i ? ",a" : "a");
	buf_adds(&b, "]}\n");
	parse_ok(&p, b.ptr);
	ck_assert_uint_eq(p.forbid_paths.nr, n);
	policy_release(&p);
	b.len -= 3;
	buf_adds(&b, ",a]}\n");
	assert_refused(b.ptr, "policy.yaml:6:", "the policy has more than 100000 values");
	buf_release(&b);
}
END_TEST

START_TEST(oversized_data_is_refused_before_parsing)
{
	size_t len = 1024 * 1024 + 1;
	char *data = xmalloc(len);

	memset(data, '#', len);
	assert_refused_len(data, len, "policy.yaml: ", "is larger than 1048576 bytes");
	free(data);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, design_example_parses_with_every_field);
	tcase_add_test(tc, content_regex_is_compiled_with_gnu_word_boundaries);
	tcase_add_test(tc, content_regex_may_hold_backslashes_that_are_no_backreference);
	tcase_add_test(tc, template_shaped_policy_parses);
	tcase_add_test(tc, absent_sections_take_their_defaults);
	tcase_add_test(tc, no_signing_means_no_quorum);
	tcase_add_test(tc, default_signing_needs_signers);
	tcase_add_test(tc, values_are_read_as_written);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, syntax_errors_have_line_and_column);
	tcase_add_test(tc, top_level_must_be_one_nonempty_mapping);
	tcase_add_test(tc, anchors_and_aliases_are_refused);
	tcase_add_test(tc, tags_are_refused);
	tcase_add_test(tc, unknown_keys_are_refused_with_their_path);
	tcase_add_test(tc, duplicate_keys_are_refused);
	tcase_add_test(tc, wrong_types_name_expected_and_found);
	tcase_add_test(tc, integers_are_plain_unsigned_decimal);
	tcase_add_test(tc, required_keys_are_named);
	tcase_add_test(tc, branch_names_follow_git);
	tcase_add_test(tc, listed_paths_are_normalised_or_refused);
	tcase_add_test(tc, the_box_folder_is_neither_input_nor_output);
	tcase_add_test(tc, overlapping_paths_are_refused);
	tcase_add_test(tc, neighbouring_paths_do_not_overlap);
	tcase_add_test(tc, signing_fields_are_checked);
	tcase_add_test(tc, timestamp_fields_are_checked);
	tcase_add_test(tc, rules_fields_are_checked);
	tcase_add_test(tc, capture_commands_are_single_lines);
	tcase_add_test(tc, capture_names_built_in_probes);
	tcase_add_test(tc, capture_commands_parse_but_are_refused);
	tcase_add_test(tc, capture_of_a_policy_built_in_code_is_checked_too);
	tcase_add_test(tc, validate_without_a_document_has_no_position);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, sizes_in_the_policy);
	tcase_add_test(tc, size_strings);
	tcase_add_test(tc, normalise_path);
	tcase_add_test(tc, paths_overlap_rules);
	tcase_add_test(tc, classify_paths);
	tcase_add_test(tc, when_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifetime");
	tcase_add_test(tc, release_is_idempotent);
	tcase_add_test(tc, a_refused_policy_leaves_nothing_behind);
	tcase_add_test(tc, load_file_names_the_file);
	tcase_add_test(tc, oversized_data_is_refused_before_parsing);
	tcase_add_test(tc, nesting_is_capped_before_loading);
	tcase_add_test(tc, values_are_capped_before_loading);
	suite_add_tcase(s, tc);

	return s;
}

UNIT_MAIN(make_suite)
