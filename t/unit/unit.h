#ifndef UNIT_H
#define UNIT_H

/*
 * C unit tests use Debian's libcheck. Each test-*.c defines
 * `Suite *make_suite(void)`; UNIT_MAIN runs it and exits non-zero on any
 * failure, printing check's usual "N%: Checks: ..." summary.
 */
#include <check.h>
#include <stdlib.h>

#define UNIT_MAIN(make_suite)                                        \
	int main(void)                                               \
	{                                                            \
		SRunner *runner = srunner_create(make_suite());      \
		int failed;                                          \
		srunner_run_all(runner, CK_NORMAL);                  \
		failed = srunner_ntests_failed(runner);              \
		srunner_free(runner);                                \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;         \
	}

#endif
